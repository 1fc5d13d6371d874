"""Records as the process stage builds them, for sink tests: real field shapes, awkward text."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crawler.models import FetchFailure, FetchRequest, FetchResult, PageFields, Record, record_from
from pipelines.sinks import Sink

FETCHED_AT = "2024-05-01T12:00:00.000Z"
COLUMNS = ["url", "status", "title", "word_count", "error.code"]


def page(
    url: str,
    title: str | None,
    *,
    status: int = 200,
    text: str | None = "some words here",
    links: list[str] | None = None,
    lang: str | None = "en",
    fields: dict[str, Any] | None = None,
    depth: int = 1,
) -> Record:
    """A parsed HTML page's record, as the process stage builds it."""
    request = FetchRequest(url, depth=depth, referrer="http://site.test/")
    result = FetchResult(
        request=request,
        final_url=url,
        status=status,
        headers=(("content-type", "text/html; charset=utf-8"),),
        content_type="text/html; charset=utf-8",
        body=b"<html></html>",
        size=1234,
        elapsed_ms=12.5,
        fetched_at=FETCHED_AT,
    )
    fields_of_page = PageFields(
        title=title,
        description=None,
        lang=lang,
        canonical=url,
        text=text,
        word_count=len(text.split()) if text is not None else None,
        links=links if links is not None else [],
        sha256="ab" * 32,
    )
    record = record_from(result, fields_of_page)
    if fields is not None:
        record["fields"] = fields
    return record


def failed(url: str, code: str, message: str) -> Record:
    """The record of a URL that could not be fetched."""
    request = FetchRequest(url, depth=2, referrer=None)
    return record_from(FetchResult.unfetched(request, FetchFailure(code, message)))


def sample_records() -> list[Record]:
    return [
        page(
            "http://site.test/caf%C3%A9",
            'Café «Zürich» — 東京, "quoted" and\nsplit',
            text="Grüße aus Köln, naïve café",
            links=["http://site.test/a", "http://site.test/ü"],
            lang="de",
            fields={"price": 9.5, "tags": ["new", "süß"], "in_stock": True, "meta": {"by": "Zoë"}},
        ),
        page("http://site.test/plain", "Plain, simple", fields={"price": None, "in_stock": False}),
        page("http://site.test/untitled", None, text=None, lang=None, status=404),
        failed("http://gone.test/", "dns", "name or service not known: gone.test"),
    ]


async def write_all(sink: Sink, *batches: Sequence[Record]) -> None:
    await sink.open()
    try:
        for batch in batches:
            await sink.write(batch)
    finally:
        await sink.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))
