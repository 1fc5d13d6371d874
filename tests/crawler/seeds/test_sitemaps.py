"""Tests for crawler.seeds.sitemaps: sitemap formats, hostile documents, and walking indexes."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import pytest

from crawler.errors import SitemapError
from crawler.seeds import (
    SitemapResponse,
    iter_sitemap_urls,
    parse_sitemap,
)

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MIB = 1024 * 1024


def urlset(*locs: str, namespace: str | None = NS) -> bytes:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    entries = "".join(f"<url><loc>{loc}</loc><lastmod>2024-01-01</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset{xmlns}>{entries}</urlset>'.encode()


def sitemap_index(*locs: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex xmlns="{NS}">{entries}</sitemapindex>'.encode()


def billion_laughs(padding: int = 0) -> bytes:
    """The entity bomb; ``padding`` bytes of whitespace put its reference further in."""
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY lol0 "lol">{levels}]>'
        f'<urlset xmlns="{NS}">{" " * padding}<url><loc>http://a.test/&lol9;</loc></url></urlset>'
    ).encode()


def gzip_bomb(zero_bytes: int) -> bytes:
    """``zero_bytes`` of zeros, gzipped a megabyte at a time so the test stays small."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    parts = [compressor.compress(zeros) for _ in range(zero_bytes // MIB)]
    parts.append(compressor.flush())
    return b"".join(parts)


class FakeFetch:
    """Serves sitemaps from a dict (404 for the rest) and records every URL asked for."""

    def __init__(self, responses: dict[str, SitemapResponse]) -> None:
        self.responses = responses
        self.calls: list[str] = []

    async def __call__(self, url: str) -> SitemapResponse:
        self.calls.append(url)
        return self.responses.get(url, SitemapResponse(404, b"not found"))


def ok(body: bytes) -> SitemapResponse:
    return SitemapResponse(200, body)


async def walk(
    start: list[str], fetch: FakeFetch, **options: int
) -> tuple[list[str], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    urls = [
        url
        async for url in iter_sitemap_urls(
            start, fetch, on_error=lambda url, reason: errors.append((url, reason)), **options
        )
    ]
    return urls, errors


# Formats


@pytest.mark.parametrize("namespace", [NS, None], ids=["sitemaps.org", "no-namespace"])
def test_urlset_lists_pages_in_document_order(namespace: str | None) -> None:
    body = urlset(
        "http://a.test/1", "  https://a.test/2\n ", "http://a.test/3", namespace=namespace
    )

    sitemap = parse_sitemap(body, url="http://a.test/sitemap.xml")

    assert sitemap.urls == ["http://a.test/1", "https://a.test/2", "http://a.test/3"]
    assert sitemap.sitemaps == []


def test_extension_locs_are_not_taken_for_pages() -> None:
    body = (
        f'<urlset xmlns="{NS}" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
        "<url><loc>http://a.test/page</loc>"
        "<image:image><image:loc>http://a.test/photo.jpg</image:loc></image:image></url>"
        "</urlset>"
    ).encode()

    assert parse_sitemap(body, url="http://a.test/s.xml").urls == ["http://a.test/page"]


def test_sitemap_index_lists_child_sitemaps() -> None:
    body = sitemap_index("http://a.test/s1.xml", "http://a.test/s2.xml.gz")

    sitemap = parse_sitemap(body, url="http://a.test/index.xml")

    assert sitemap.sitemaps == ["http://a.test/s1.xml", "http://a.test/s2.xml.gz"]
    assert sitemap.urls == []


def test_gzip_is_detected_by_content_not_name() -> None:
    pages = urlset("http://a.test/1")

    gzipped_plain_name = parse_sitemap(gzip.compress(pages), url="http://a.test/sitemap.xml")
    plain_gz_name = parse_sitemap(pages, url="http://a.test/sitemap.xml.gz")

    assert gzipped_plain_name.urls == plain_gz_name.urls == ["http://a.test/1"]


def test_text_sitemap_one_url_per_line() -> None:
    body = "\ufeffhttp://a.test/1\r\n\n   \nhttps://a.test/2  \nnot a url\nhttp://a.test/3".encode()

    sitemap = parse_sitemap(body, url="http://a.test/sitemap.txt")

    assert sitemap.urls == ["http://a.test/1", "https://a.test/2", "http://a.test/3"]


def test_gzipped_text_sitemap() -> None:
    body = gzip.compress(b"http://a.test/1\nhttp://a.test/2\n")

    assert parse_sitemap(body, url="http://a.test/s.txt.gz").urls == [
        "http://a.test/1",
        "http://a.test/2",
    ]


def test_relative_and_non_http_locs_are_dropped() -> None:
    body = urlset(
        "/relative/page",
        "mailto:webmaster@a.test",
        "ftp://a.test/file",
        "",
        "http://a.test/kept",
        "javascript:alert(1)",
    )

    assert parse_sitemap(body, url="http://a.test/s.xml").urls == ["http://a.test/kept"]


# Hostile and broken documents


@pytest.mark.parametrize("padding", [0, 200_000], ids=["near", "far"])
def test_billion_laughs_is_rejected_quickly(padding: int) -> None:
    bomb = billion_laughs(padding)
    began = time.perf_counter()
    with pytest.raises(SitemapError, match="entities are not allowed"):
        parse_sitemap(bomb, url="http://evil.test/s.xml")
    assert time.perf_counter() - began < 1.0


@pytest.mark.parametrize(
    ("doctype", "loc"),
    [
        ('<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "http://a.test/&xxe;"),
        ('<!DOCTYPE urlset [<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;]>', "http://a.test/"),
    ],
    ids=["general-entity", "parameter-entity"],
)
async def test_external_entity_is_rejected_and_file_never_read(doctype: str, loc: str) -> None:
    body = f'<?xml version="1.0"?>{doctype}{urlset(loc).decode().split("?>", 1)[1]}'.encode()

    with pytest.raises(SitemapError, match="entities are not allowed") as caught:
        parse_sitemap(body, url="http://evil.test/s.xml")

    fetch = FakeFetch({"http://evil.test/s.xml": ok(body)})
    urls, errors = await walk(["http://evil.test/s.xml"], fetch)
    assert urls == []
    assert [url for url, _ in errors] == ["http://evil.test/s.xml"]
    everything_seen = str(caught.value) + repr(urls) + repr(errors)
    assert "root:" not in everything_seen
    assert "/bin/" not in everything_seen


def test_gzip_bomb_is_stopped_at_max_bytes_in_small_memory() -> None:
    bomb = gzip_bomb(200 * MIB)
    assert len(bomb) < MIB  # the test itself stays small

    tracemalloc.start()
    began = time.perf_counter()
    try:
        with pytest.raises(SitemapError, match=f"sitemap larger than {MIB} bytes"):
            parse_sitemap(bomb, url="http://evil.test/s.xml.gz", max_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 4 * MIB
    assert time.perf_counter() - began < 2.0


def test_plain_body_over_max_bytes_is_rejected() -> None:
    with pytest.raises(SitemapError, match="sitemap larger than 1000 bytes"):
        parse_sitemap(urlset(*[f"http://a.test/{n}" for n in range(100)]), url="u", max_bytes=1000)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<urlset><url><loc>http://a.test/</url></urlset>", "malformed XML"),
        (b"<urlset><url><loc>http://a.test/</loc></url>", "malformed XML"),
        (b"<urlset><loc>&undeclared;</loc></urlset>", "malformed XML"),
        (b"<html><body>Not found</body></html>", "not a sitemap: the root element is <html>"),
        (gzip.compress(urlset("http://a.test/1"))[:-12], "gzip data is truncated"),
        (b"\x1f\x8b\x08\x00garbage that is not deflate", "not valid gzip data"),
    ],
    ids=["mismatched-tag", "unclosed", "undeclared-entity", "html", "cut-gzip", "bad-gzip"],
)
def test_broken_sitemap_gives_a_one_line_reason(body: bytes, reason: str) -> None:
    with pytest.raises(SitemapError) as caught:
        parse_sitemap(body, url="http://a.test/s.xml")

    message = str(caught.value)
    assert message.startswith(reason)
    assert "\n" not in message
    assert "Traceback" not in message


# Walking sitemaps


async def test_index_with_gzipped_child_seeds_the_child_pages() -> None:
    fetch = FakeFetch(
        {
            "http://a.test/index.xml": ok(
                sitemap_index("http://a.test/pages-1.xml.gz", "http://a.test/pages-2.xml")
            ),
            "http://a.test/pages-1.xml.gz": ok(gzip.compress(urlset("http://a.test/1"))),
            "http://a.test/pages-2.xml": ok(urlset("http://a.test/2", "http://a.test/3")),
        }
    )

    urls, errors = await walk(["http://a.test/index.xml"], fetch)

    assert urls == ["http://a.test/1", "http://a.test/2", "http://a.test/3"]
    assert errors == []


async def test_nested_indexes_yield_pages_in_document_order() -> None:
    fetch = FakeFetch(
        {
            "http://a.test/top.xml": ok(
                sitemap_index("http://a.test/nested.xml", "http://a.test/last.xml")
            ),
            "http://a.test/nested.xml": ok(sitemap_index("http://a.test/first.xml")),
            "http://a.test/first.xml": ok(urlset("http://a.test/1")),
            "http://a.test/last.xml": ok(urlset("http://a.test/2")),
        }
    )

    urls, _ = await walk(["http://a.test/top.xml"], fetch)

    assert urls == ["http://a.test/1", "http://a.test/2"]


async def test_index_loops_end_and_each_sitemap_is_fetched_once() -> None:
    index, child, pages = (
        "http://a.test/index.xml",
        "http://a.test/child.xml",
        "http://a.test/p.xml",
    )
    fetch = FakeFetch(
        {
            index: ok(sitemap_index(index, child)),
            child: ok(sitemap_index(index, "HTTP://A.TEST/index.xml", pages)),
            pages: ok(urlset("http://a.test/page")),
        }
    )

    urls, errors = await walk([index, index], fetch)

    assert urls == ["http://a.test/page"]
    assert fetch.calls == [index, child, pages]
    assert errors == []


async def test_failed_sitemaps_are_reported_and_the_rest_go_on() -> None:
    fetch = FakeFetch(
        {
            "http://a.test/index.xml": ok(
                sitemap_index(
                    "http://a.test/missing.xml",
                    "http://a.test/down.xml",
                    "http://a.test/bomb.xml",
                    "http://a.test/good.xml",
                )
            ),
            "http://a.test/down.xml": SitemapResponse(None, b""),
            "http://a.test/bomb.xml": ok(billion_laughs()),
            "http://a.test/good.xml": ok(urlset("http://a.test/1")),
        }
    )

    urls, errors = await walk(["http://a.test/index.xml", "not a url"], fetch)

    assert urls == ["http://a.test/1"]
    assert errors[0][0] == "not a url"
    reasons = dict(errors[1:])
    assert reasons["http://a.test/missing.xml"] == "HTTP 404"
    assert reasons["http://a.test/down.xml"] == "network error"
    assert "entities are not allowed" in reasons["http://a.test/bomb.xml"]


async def test_a_sitemap_not_fetched_is_reported_with_the_fetchs_own_reason() -> None:
    refused = "not on the site of http://a.test: not fetched"
    fetch = FakeFetch(
        {
            "http://a.test/index.xml": ok(sitemap_index("http://b.test/s.xml")),
            "http://b.test/s.xml": SitemapResponse(None, b"", refused),
        }
    )

    _, errors = await walk(["http://a.test/index.xml"], fetch)

    assert errors == [("http://b.test/s.xml", refused)]


async def test_a_text_start_sitemap_is_walked_like_any_other() -> None:
    fetch = FakeFetch({"http://a.test/s.txt": ok(b"http://a.test/1\nhttp://a.test/2\n")})

    urls, _ = await walk(["http://a.test/s.txt"], fetch)

    assert urls == ["http://a.test/1", "http://a.test/2"]


async def test_max_sitemaps_caps_fetches_and_says_so_once() -> None:
    children = [f"http://a.test/s{n}.xml" for n in range(5)]
    fetch = FakeFetch(
        {"http://a.test/index.xml": ok(sitemap_index(*children))}
        | {child: ok(urlset(f"{child}/page")) for child in children}
    )

    urls, errors = await walk(["http://a.test/index.xml"], fetch, max_sitemaps=3)

    assert fetch.calls == ["http://a.test/index.xml", *children[:2]]
    assert urls == [f"{child}/page" for child in children[:2]]
    assert len(errors) == 1
    assert errors[0][0] == children[2]
    assert "limit of 3 sitemaps" in errors[0][1]
