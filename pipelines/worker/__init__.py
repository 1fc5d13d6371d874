"""What runs in the worker processes: parse, decode, extract and the steps, as one processor.

Pure and picklable: no asyncio, httpx or aiofiles here (an import-linter contract checks it).
Batching, the pool and anything that needs every page of the crawl live in the main process.
"""

from __future__ import annotations

from pipelines.worker.batch import (
    BatchOutcome,
    collect_page_cycles,
    process_batch,
    process_batch_in_worker,
)
from pipelines.worker.charset import decode_html
from pipelines.worker.extract import Extractor
from pipelines.worker.lxml_parse import parse_page_lxml
from pipelines.worker.parse import DEFAULT_MAX_LINKS, cap_links, parse_document, parse_page
from pipelines.worker.parsers import FunctionParser, LxmlParser, ParseFn, Parser, SoupParser
from pipelines.worker.process import prepare_worker
from pipelines.worker.processor import PageProcessor, Processed
from pipelines.worker.steps import (
    DuplicateFilter,
    NamedStep,
    Step,
    UserStep,
    build_steps,
    run_steps,
    simhash,
    validate_steps,
)

__all__ = [
    "DEFAULT_MAX_LINKS",
    "BatchOutcome",
    "DuplicateFilter",
    "Extractor",
    "FunctionParser",
    "LxmlParser",
    "NamedStep",
    "PageProcessor",
    "ParseFn",
    "Parser",
    "Processed",
    "SoupParser",
    "Step",
    "UserStep",
    "build_steps",
    "cap_links",
    "collect_page_cycles",
    "decode_html",
    "parse_document",
    "parse_page",
    "parse_page_lxml",
    "prepare_worker",
    "process_batch",
    "process_batch_in_worker",
    "run_steps",
    "simhash",
    "validate_steps",
]
