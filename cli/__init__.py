"""The ``parcrawl`` command line (console entry point ``cli:main``, or ``python -m cli``):
the only composition root for it; nothing in ``crawler`` or ``pipelines`` imports it.

Its modules: :mod:`cli.dispatch` (main), :mod:`cli.parser`, :mod:`cli.commands` (one module
per command), :mod:`cli.options` (the flags that are settings), :mod:`cli.session` (one
crawl), :mod:`cli.fetchers` (``--fetchers N``), :mod:`cli.view` (the terminal),
:mod:`cli.backends` (what the CLI learns of the frontier and executor).
"""

from __future__ import annotations

# First, before the rest imports: the parse workers' server starts beside it (a crawl that
# wants one), and the HTTP stack comes in without the parts parcrawl never runs.
import crawler.runtime.prestart  # noqa: F401  (crawler.runtime first, by being its package)
from cli.dispatch import main
from cli.options import OPTIONS
from cli.parser import build_parser

__all__ = ["OPTIONS", "build_parser", "main"]
