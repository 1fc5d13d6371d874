"""Markdown outputs of a crawl: the folder of each page's Markdown file (its path, its front
matter), and ``llms.txt`` / ``llms-full.txt`` made from it.

Main-process side. ``MarkdownSink`` writes (in a thread); the rest computes names and texts.
"""

from __future__ import annotations

from pipelines.sinks.markdown.folder import GONE_FILE, MarkdownFolder
from pipelines.sinks.markdown.front_matter import front_matter, read_front_matter, yaml_scalar
from pipelines.sinks.markdown.llms import (
    PageSummary,
    llms_files,
    llms_full_txt,
    llms_txt,
)
from pipelines.sinks.markdown.llms_output import write_llms_files
from pipelines.sinks.markdown.paths import markdown_path
from pipelines.sinks.markdown.sink import MarkdownSink

__all__ = [
    "GONE_FILE",
    "MarkdownFolder",
    "MarkdownSink",
    "PageSummary",
    "front_matter",
    "llms_files",
    "llms_full_txt",
    "llms_txt",
    "markdown_path",
    "read_front_matter",
    "write_llms_files",
    "yaml_scalar",
]
