"""WARC archives of what went over the wire: request, response and revisit records (warcio).

The archive runs beside the crawl: fetch results go in, a writer thread writes the files.
"""

from __future__ import annotations

from crawler.archive.files import WarcFiles, repair
from crawler.archive.warc import Archive

__all__ = ["Archive", "WarcFiles", "repair"]
