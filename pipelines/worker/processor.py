"""The page processor: everything a worker does to one fetched page, as one picklable object.

Parse, extract the job's fields, run its steps. It is sent to the workers with each batch,
so it holds only settings and compiled rules, never state that grows.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bs4 import BeautifulSoup

from crawler.models import FetchFailure, FetchResult, PageFields, Record, record_from
from crawler.settings import ExtractSettings, StepSettings
from pipelines.worker.charset import decode_html
from pipelines.worker.extract import Extractor
from pipelines.worker.parse import DEFAULT_MAX_LINKS, cap_links, parse_document, parse_page
from pipelines.worker.steps import NamedStep, build_steps, run_steps

TOO_LARGE = "parsing this page needed more memory than a worker may use (worker_memory_mb)"


class ParseFn(Protocol):
    """A page parse function: (url, body, headers) -> page fields; importable by name."""

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], /) -> PageFields: ...


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
    """Parse a page, extract fields, run steps; a parse that raises becomes ``parse_error``."""

    parse: ParseFn = parse_page
    extractor: Extractor | None = None
    steps: tuple[NamedStep, ...] = field(default=())
    max_links: int = DEFAULT_MAX_LINKS

    @classmethod
    def from_settings(
        cls,
        extract: ExtractSettings,
        steps: Sequence[StepSettings],
        parse: ParseFn = parse_page,
        max_links: int = DEFAULT_MAX_LINKS,
    ) -> PageProcessor:
        """The processor a job's ``extract`` and ``steps`` ask for."""
        extractor = Extractor(extract)
        worker_steps = tuple(step for step in build_steps(steps) if not step.main_process)
        return cls(parse, None if extractor.empty else extractor, worker_steps, max_links)

    def __call__(self, result: FetchResult) -> Processed:
        try:
            return self._process(result)
        except MemoryError:
            # The worker's memory limit (worker_memory_mb) stopped a runaway tree. A bs4
            # tree is all reference cycles: collect it now, or the next page finds the
            # worker still full.
            gc.collect()
            failed = record_from(result, failure=FetchFailure("parse_too_large", TOO_LARGE))
            return Processed(failed, failed)

    def _process(self, result: FetchResult) -> Processed:
        headers = dict(result.headers)
        soup: BeautifulSoup | None = None
        try:
            if self.extractor is not None and self.parse is parse_page:
                page, soup = parse_document(
                    result.final_url, result.body, headers, max_links=self.max_links
                )
            elif self.parse is parse_page:
                page = parse_page(result.final_url, result.body, headers, max_links=self.max_links)
            else:
                page = cap_links(self.parse(result.final_url, result.body, headers), self.max_links)
        except MemoryError:
            raise  # not a parse bug: the worker's memory limit, recorded as such by __call__
        except Exception as exc:  # the boundary: a parse bug costs one record, not the batch
            failed = record_from(result, failure=FetchFailure("parse_error", _describe(exc)))
            return Processed(failed, failed)
        record = record_from(result, page)
        if self.extractor is not None:
            if soup is None:
                markup, _ = decode_html(result.body, headers.get("content-type"))
                soup = BeautifulSoup(markup, "lxml")
            record["fields"] = self.extractor.fields_for(result.final_url, soup)
        if not self.steps:
            return Processed(record, record)
        return Processed(run_steps(self.steps, record.copy()), record)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
