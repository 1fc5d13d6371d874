"""A crawl's outputs read back (JSON Lines, SQLite; one file or several) and merged.

``parcrawl report`` and ``parcrawl merge`` read through here; nothing here fetches.
"""

from __future__ import annotations

from crawler.outputs.files import write_atomically
from crawler.outputs.merge import MergeResult, merge_outputs
from crawler.outputs.reader import OutputFile, is_record, open_outputs, read_records

__all__ = [
    "MergeResult",
    "OutputFile",
    "is_record",
    "merge_outputs",
    "open_outputs",
    "read_records",
    "write_atomically",
]
