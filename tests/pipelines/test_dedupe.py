"""Tests for pipelines.dedupe: which pages of a crawl are dropped or marked as duplicates."""

from __future__ import annotations

from crawler.models import FetchFailure, FetchRequest, FetchResult, Record, record_from
from crawler.settings import StepSettings
from pipelines.dedupe import CrawlDedupe, NearDuplicateIndex
from pipelines.worker import build_steps, parse_page, run_steps, simhash

WORDS = (
    "the quick brown fox jumps over the lazy dog while the farmer watches from the porch "
    "and drinks his morning coffee slowly before heading out to the fields to check on "
    "the young corn that was planted last week after the long spring rains finally ended"
)


def settings(*uses: str) -> list[StepSettings]:
    return [StepSettings.model_validate({"use": use}) for use in uses]


def page(url: str, text: str, *uses: str) -> Record:
    """A page's record as a worker hands it back: parsed, then through the job's steps."""
    html = f"<html lang='en'><head><title>T</title></head><body><p>{text}</p></body></html>"
    headers = (("content-type", "text/html; charset=utf-8"),)
    result = FetchResult(
        FetchRequest(url), url, 200, headers, "text/html", html.encode(), len(html), 12.5, "now"
    )
    record = record_from(result, parse_page(url, result.body, dict(headers)))
    kept = run_steps(build_steps(settings(*uses)), record)
    assert kept is not None
    return kept


def failed(url: str) -> Record:
    return record_from(
        FetchResult.unfetched(FetchRequest(url), FetchFailure("dns", "no such host"))
    )


def urls(records: list[Record]) -> list[str]:
    return [record["url"] for record in records]


def bits_apart(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_near_duplicate_index_names_the_first_page_within_the_distance() -> None:
    index = NearDuplicateIndex(max_distance=3)
    assert index.add("http://a.test/1", "ff00ff00ff00ff00") is None
    assert index.add("http://a.test/2", "0000000000000000") is None
    assert index.add("http://a.test/3", "ff00ff00ff00ff07") == "http://a.test/1"  # 3 bits
    assert index.add("http://a.test/4", "0f00ff00ff00ff00") is None  # 4 bits from /1
    assert index.add("http://a.test/5", "0000000000000000") == "http://a.test/2"


def test_near_duplicate_index_agrees_with_comparing_every_pair() -> None:
    texts = [WORDS, WORDS.replace("fox", "cat"), WORDS.replace("corn", "wheat"), WORDS[::-1]]
    texts += [f"{WORDS} {i}" for i in range(5)]
    hashes = [simhash(t) for t in texts]
    for distance in (0, 3, 8, 20):
        index = NearDuplicateIndex(max_distance=distance)
        for n, value in enumerate(hashes):
            match = index.add(f"u{n}", value)
            earlier = [f"u{i}" for i in range(n) if bits_apart(hashes[i], value) <= distance]
            assert (match is None) == (not earlier)
            assert match is None or match in earlier


# -- CrawlDedupe: the whole crawl's view, batch after batch ------------------------------


def test_without_duplicate_steps_every_page_is_kept_unmarked() -> None:
    dedupe = CrawlDedupe(settings("min_words"))
    batch = [page("http://a.test/1", WORDS), page("http://a.test/2", WORDS)]
    assert not dedupe.active
    kept, dropped = dedupe.apply(batch)
    assert (urls(kept), dropped) == (["http://a.test/1", "http://a.test/2"], [])
    assert all("near_duplicate_of" not in record for record in kept)


def test_drop_duplicates_keeps_the_first_copy_across_batches() -> None:
    dedupe = CrawlDedupe(settings("drop_duplicates"))
    assert dedupe.active
    first = [page("http://a.test/", WORDS), page("http://a.test/other", "something else")]
    later = [page("http://a.test/copy", WORDS), page("http://a.test/index.html", WORDS)]
    assert urls(dedupe.apply(first)[0]) == ["http://a.test/", "http://a.test/other"]
    kept, dropped = dedupe.apply(later)
    assert (kept, urls(dropped)) == ([], ["http://a.test/copy", "http://a.test/index.html"])


def test_failed_fetches_are_never_dropped_as_duplicates() -> None:
    dedupe = CrawlDedupe(settings("drop_duplicates"))
    kept, dropped = dedupe.apply([failed("http://gone.test/"), failed("http://gone.test/2")])
    assert (urls(kept), dropped) == (["http://gone.test/", "http://gone.test/2"], [])


def test_near_duplicates_name_the_first_similar_page_and_are_kept() -> None:
    dedupe = CrawlDedupe(settings("simhash"))
    original = page("http://a.test/story", WORDS, "simhash")
    other = page("http://a.test/other", "an entirely different page " * 10, "simhash")
    copies = [page(f"http://a.test/story?session={n}", WORDS, "simhash") for n in range(3)]
    assert dedupe.apply([original, other])[0] == [original, other]
    kept, dropped = dedupe.apply(copies)
    assert (urls(kept), dropped) == (urls(copies), [])
    assert {record.get("near_duplicate_of") for record in kept} == {"http://a.test/story"}
    assert "near_duplicate_of" not in original
    assert "near_duplicate_of" not in other
