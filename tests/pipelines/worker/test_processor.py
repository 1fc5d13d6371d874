"""Tests for pipelines.worker.processor: one fetched page in, the record a user reads out."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.models import FetchRequest, FetchResult, PageFields
from crawler.settings import ExtractSettings, StepSettings
from crawler.testing import MockPage, MockSite, crawl_site
from pipelines.stage import ProcessStage
from pipelines.worker import Extractor, PageProcessor, parse_document, parse_page
from tests.support.parsers import CRASH_MARKER, RAISE_MARKER, parse_or_die, parse_or_raise

LINKS = "".join(f"<a href='/p{n}'>page {n}</a>" for n in range(5))
ARTICLE = (
    "<html lang='en'><head><title>Kettles</title></head><body>"
    "<h1>Blue kettle</h1><p class='price'>19.99</p>"
    f"<p>{'plenty of words about kettles ' * 10}</p>{LINKS}</body></html>"
)
THIN = f"<html><head><title>Index</title></head><body>{LINKS}</body></html>"


def fetched(url: str, html: str) -> FetchResult:
    headers = (("content-type", "text/html; charset=utf-8"),)
    body = html.encode()
    return FetchResult(
        FetchRequest(url), url, 200, headers, "text/html", body, len(body), 3.0, "now", None, True
    )


def processor(
    fields: dict[str, Any] | None = None, steps: list[dict[str, Any]] | None = None, **kw: Any
) -> PageProcessor:
    extract = ExtractSettings.model_validate({"fields": fields or {}})
    settings = [StepSettings.model_validate(step) for step in steps or []]
    return PageProcessor.from_settings(extract, settings, **kw)


def test_a_page_becomes_its_record_with_the_fields_the_job_asks_for() -> None:
    process = processor({"name": {"css": "h1"}, "price": {"css": ".price", "regex": r"[\d.]+"}})
    processed = process(fetched("http://shop.test/kettle", ARTICLE))
    record = processed.record
    assert record is not None
    assert (record["title"], record["lang"], record["error"]) == ("Kettles", "en", None)
    assert record["fields"] == {"name": "Blue kettle", "price": "19.99"}
    assert record["links"] == [f"http://shop.test/p{n}" for n in range(5)]
    assert processed.links_from is record


def test_without_extract_fields_the_record_has_none() -> None:
    record = processor()(fetched("http://shop.test/kettle", ARTICLE)).record
    assert record is not None
    assert "fields" not in record


def test_a_page_a_step_drops_still_gives_its_links() -> None:
    process = processor(steps=[{"use": "min_words", "min": 20}])
    thin = process(fetched("http://shop.test/", THIN))
    assert thin.record is None
    assert thin.links_from["links"] == [f"http://shop.test/p{n}" for n in range(5)]
    assert process(fetched("http://shop.test/kettle", ARTICLE)).record is not None


def test_drop_duplicates_is_left_to_the_main_process() -> None:
    process = processor(steps=[{"use": "drop_duplicates"}])
    assert process.steps == ()
    first = process(fetched("http://shop.test/a", ARTICLE)).record
    copy = process(fetched("http://shop.test/b", ARTICLE)).record
    assert first is not None
    assert copy is not None
    assert first["sha256"] == copy["sha256"]


def test_a_parse_function_that_raises_costs_that_page_only() -> None:
    process = processor(parse=parse_or_raise)
    broken = process(fetched(f"http://shop.test/{RAISE_MARKER}", ARTICLE))
    assert broken.record is not None
    assert broken.record["error"] == {
        "code": "parse_error",
        "message": "ValueError: boom on purpose",
    }
    fine = process(fetched("http://shop.test/kettle", ARTICLE)).record
    assert fine is not None
    assert fine["title"] == "Kettles"


def own_parse(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    """A user's parse function: the default one, links and all."""
    return parse_page(url, body, headers)


def test_a_user_parse_function_is_held_to_max_links() -> None:
    record = processor(parse=own_parse, max_links=2)(fetched("http://shop.test/", THIN)).record
    assert record is not None
    assert record["links"] == ["http://shop.test/p0", "http://shop.test/p1"]


def test_a_page_that_exhausts_the_worker_memory_is_parse_too_large() -> None:
    def parse_into_a_wall(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
        raise MemoryError

    record = PageProcessor(parse_into_a_wall)(fetched("http://shop.test/huge", THIN)).record
    assert record is not None
    assert record["error"] is not None
    assert record["error"]["code"] == "parse_too_large"
    assert "worker_memory_mb" in record["error"]["message"]


def test_the_processor_pickles_and_gives_the_same_record_after() -> None:
    process = processor({"name": {"css": "h1"}}, [{"use": "min_words", "min": 5}], max_links=3)
    copy = pickle.loads(pickle.dumps(process))
    page = fetched("http://shop.test/kettle", ARTICLE)
    assert copy(page).record == process(page).record


def test_every_record_of_a_job_with_extraction_rules_has_fields() -> None:
    # user code reads record["fields"] without a guard: a failed or non-HTML URL has them too
    site = MockSite(
        {
            "/": "<h1>Home</h1><a href='/gone'>x</a><a href='/logo'>y</a>",
            "/logo": MockPage(b"\x89PNG\r\n", content_type="image/png"),
        }
    )
    extract = {"fields": {"heading": {"css": "h1"}}}
    for parser in ("lxml", "bs4"):
        records = crawl_site(site, "/", follow=True, workers=0, parser=parser, extract=extract)
        assert {url: record["fields"] for url, record in records.items()} == {
            site.url("/"): {"heading": "Home"},
            site.url("/gone"): {},
            site.url("/logo"): {},
        }
        assert records[site.url("/gone")]["error"]["code"] == "http_4xx"


def test_a_page_whose_parse_failed_still_has_fields() -> None:
    process = processor({"name": {"css": "h1"}}, parse=parse_or_raise)
    broken = process(fetched(f"http://shop.test/{RAISE_MARKER}", ARTICLE)).record
    assert broken is not None
    assert broken["error"] is not None
    assert broken["fields"] == {}


async def test_a_page_that_killed_its_worker_still_has_fields() -> None:
    process = processor({"name": {"css": "h1"}}, parse=parse_or_die)
    batch = [
        fetched("http://shop.test/kettle", ARTICLE),
        fetched(f"http://shop.test/{CRASH_MARKER}", ARTICLE),
    ]
    async with ProcessStage(1, processor=process) as stage:
        outcome = await stage.process(batch)
    fields = {record["url"]: record["fields"] for record in outcome.records}
    assert fields == {
        "http://shop.test/kettle": {"name": "Blue kettle"},
        f"http://shop.test/{CRASH_MARKER}": {},
    }


@dataclass(frozen=True)
class HeadlineParser:
    """A page processor plugged in as a parser: the bs4 path's fields, the first <h1> as
    title, and the soup for the rules (as a main-content engine would give its own)."""

    def read(
        self, url: str, body: bytes, headers: Mapping[str, str], max_links: int
    ) -> tuple[PageFields, object | None]:
        page, soup = parse_document(url, body, headers, max_links=max_links)
        return {**page, "title": soup.h1.get_text() if soup.h1 else None}, soup

    def tree(self, url: str, body: bytes, headers: Mapping[str, str]) -> object:
        return parse_document(url, body, headers, max_links=0)[1]


def test_a_parser_plugged_in_reads_every_page_and_gives_the_rules_its_tree() -> None:
    extractor = Extractor(ExtractSettings.model_validate({"fields": {"price": {"css": ".price"}}}))
    plugged = PageProcessor(extractor=extractor, parser=HeadlineParser())
    record = pickle.loads(pickle.dumps(plugged))(fetched("http://shop.test/", ARTICLE)).record
    assert record is not None
    assert record["title"] == "Blue kettle"
    assert record["fields"] == {"price": "19.99"}
