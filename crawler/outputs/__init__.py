"""A crawl's output files: their paths checked before a crawl writes them, read back (JSON
Lines, SQLite; one file or several) and merged.

``parcrawl report`` and ``parcrawl merge`` read through here; nothing here fetches.
"""

from __future__ import annotations

from crawler.outputs.files import write_atomically
from crawler.outputs.merge import MergeResult, merge_outputs
from crawler.outputs.paths import check_crawl_files, check_file, check_report_file
from crawler.outputs.reader import OutputFile, is_record, open_outputs, read_records

__all__ = [
    "MergeResult",
    "OutputFile",
    "check_crawl_files",
    "check_file",
    "check_report_file",
    "is_record",
    "merge_outputs",
    "open_outputs",
    "read_records",
    "write_atomically",
]
