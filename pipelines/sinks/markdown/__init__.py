"""Markdown outputs of a crawl: each page's file path and front matter, ``llms.txt``.

Main-process side and pure: they compute names and texts; the sink that writes the files
comes with the content engines' wiring into the crawl.
"""

from __future__ import annotations

from pipelines.sinks.markdown.front_matter import front_matter, yaml_scalar
from pipelines.sinks.markdown.llms import (
    PageSummary,
    llms_files,
    llms_full_txt,
    llms_txt,
)
from pipelines.sinks.markdown.paths import markdown_path

__all__ = [
    "PageSummary",
    "front_matter",
    "llms_files",
    "llms_full_txt",
    "llms_txt",
    "markdown_path",
    "yaml_scalar",
]
