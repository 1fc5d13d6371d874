"""The page processor: everything a worker does to one fetched page, as one picklable object.

Parse, extract the job's fields, run its steps. It is sent to the workers with each batch,
so it holds only settings and compiled rules, never state that grows.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crawler.models import FetchFailure, FetchResult, Record, record_from
from pipelines.worker.extract import Extractor
from pipelines.worker.lxml_extract import lxml_extractor
from pipelines.worker.lxml_parse import parse_page_lxml
from pipelines.worker.parse import DEFAULT_MAX_LINKS, parse_page
from pipelines.worker.parsers import ParseFn, Parser, parser_for, reads_lxml
from pipelines.worker.steps import NamedStep, build_steps, run_steps

if TYPE_CHECKING:
    # Only annotations: the schema (and pydantic) stays out of workers that never see it.
    from crawler.settings import ContentSettings, ExtractSettings, StepSettings
    from crawler.settings import Parser as ParserName

TOO_LARGE = "parsing this page needed more memory than a worker may use (worker_memory_mb)"


@dataclass(frozen=True)
class Processed:
    """One page's outcome: the record to write, or None when a step dropped it.

    ``links_from`` is the record as parsed, kept for its links even when dropped: a thin
    index page dropped by ``min_words`` still leads to the pages worth keeping.
    """

    record: Record | None
    links_from: Record


@dataclass(frozen=True)
class PageProcessor:
    """Parse a page, extract fields, run steps; a parse that raises becomes ``parse_error``.

    ``parse`` is a built-in (``parse_page_lxml``, the fast path, or ``parse_page``, bs4) or
    a custom function. ``extractor`` runs on a bs4 tree, ``lxml_extractor`` on the fast
    path's lxml tree; on the fast path a soup is built only for the pages an ``extractor``
    (selectors cssselect cannot run) needs one for.
    """

    parse: ParseFn = parse_page_lxml
    extractor: Extractor | None = None
    steps: tuple[NamedStep, ...] = field(default=())
    max_links: int = DEFAULT_MAX_LINKS
    lxml_extractor: Extractor | None = None
    parser: Parser | None = field(default=None, compare=False)
    """How a page is read (``pipelines.worker.parsers``): another page processor plugs in
    here; None: the parser ``parse`` and the rules call for."""
    _reader: Parser = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Chosen once per processor, never per page (a frozen dataclass: set through object).
        reader = self.parser
        if reader is None:
            reader = parser_for(
                self.parse,
                lxml_rules=self.lxml_extractor is not None,
                soup_rules=self.extractor is not None,
            )
        object.__setattr__(self, "_reader", reader)

    @classmethod
    def from_settings(
        cls,
        extract: ExtractSettings,
        steps: Sequence[StepSettings],
        parse: ParseFn | None = None,
        max_links: int = DEFAULT_MAX_LINKS,
        parser: ParserName = "lxml",
        *,
        content: ContentSettings | None = None,
    ) -> PageProcessor:
        """The processor a job's ``extract``, ``steps``, ``parser`` and ``content`` ask for.

        ``parse`` (a custom parse function) overrides ``parser``'s built-in one; a content
        engine reads each page after it (``ContentParser``).
        """
        extractor = Extractor(extract)  # checks every selector, whichever path runs them
        worker_steps = tuple(step for step in build_steps(steps) if not step.main_process)
        if parse is None:
            parse = parse_page_lxml if parser == "lxml" else parse_page
        fast = None
        if not extractor.empty and reads_lxml(parse):
            fast = lxml_extractor(extract)
        soup = None if extractor.empty or fast is not None else extractor
        reader = None
        if content is not None and content.engine != "off":
            from pipelines.worker.content.reader import content_parser  # noqa: PLC0415

            reader = content_parser(
                content, parser_for(parse, lxml_rules=fast is not None, soup_rules=soup is not None)
            )
        return cls(parse, soup, worker_steps, max_links, lxml_extractor=fast, parser=reader)

    def unparsed(self, result: FetchResult, failure: FetchFailure | None = None) -> Record:
        """The record of a page not parsed: a failed fetch, a body that is no HTML, a parse
        that failed (``failure``).

        A job with extraction rules gives it an empty ``fields``, as a page the rules found
        nothing on: every record of such a job has the key (user code reads
        ``record["fields"]`` without a guard).
        """
        record = record_from(result, failure=failure)
        if self.extractor is not None or self.lxml_extractor is not None:
            record["fields"] = {}
        return record

    def __call__(self, result: FetchResult) -> Processed:
        try:
            return self._process(result)
        except MemoryError:
            # The worker's memory limit (worker_memory_mb) stopped a runaway tree. A bs4
            # tree is all reference cycles: collect it now, or the next page finds the
            # worker still full.
            gc.collect()
            failed = self.unparsed(result, FetchFailure("parse_too_large", TOO_LARGE))
            return Processed(failed, failed)

    def _process(self, result: FetchResult) -> Processed:
        headers = dict(result.headers)
        url = result.final_url
        try:
            page, tree = self._reader.read(url, result.body, headers, self.max_links)
        except MemoryError:
            raise  # not a parse bug: the worker's memory limit, recorded as such by __call__
        except Exception as exc:  # the boundary: a parse bug costs one record, not the batch
            failed = self.unparsed(result, FetchFailure("parse_error", _describe(exc)))
            return Processed(failed, failed)
        record = record_from(result, page)
        rules = self.lxml_extractor or self.extractor
        if rules is not None:
            if tree is None:  # rules that read another tree than the parse made
                tree = self._reader.tree(url, result.body, headers)
            record["fields"] = rules.fields_for(url, tree)
        if not self.steps:
            return Processed(record, record)
        return Processed(run_steps(self.steps, record.copy()), record)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
