"""WARC archives read back with warcio: records, pairs, digests, bodies as sent, rotation,
revisits on a recrawl, and a full disk (in-process, loopback servers)."""

from __future__ import annotations

import asyncio
import errno
import functools
import gzip
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from crawler import __version__
from crawler.api import crawl
from crawler.archive import Archive, repair
from crawler.errors import OutputError
from crawler.models import FetchRequest, FetchResult, WireExchange
from crawler.settings import build_settings
from crawler.testing import LoopbackServer, MockPage
from tests.support.changing import ChangingSite
from tests.support.warcs import of_type, read_warc

HOME = (
    "<title>Home</title><a href='/gz'>gz</a> <a href='/latin'>latin</a> "
    "<a href='/old'>old</a> <a href='/missing'>missing</a> <a href='/file'>file</a>"
)
GZIPPED_HTML = "<title>Gzipped</title><p>compressed on the wire</p>"
LATIN_HTML = "<title>Café</title><p>déjà vu, naïve façade</p>".encode("windows-1252")


def pages(path: str, _headers: Any) -> MockPage:
    if path == "/":
        return MockPage(HOME)
    if path == "/gz":
        body = gzip.compress(GZIPPED_HTML.encode(), mtime=0)
        return MockPage(body, headers={"Content-Encoding": "gzip"})
    if path == "/latin":
        return MockPage(LATIN_HTML, content_type="text/html; charset=windows-1252")
    if path == "/old":
        return MockPage(b"", status=301, headers={"Location": "/latin"})
    if path == "/file":
        return MockPage(b"\x00" * 5000, content_type="application/octet-stream")
    return MockPage("<h1>Not found</h1>", status=404)


@pytest.fixture
def server():
    with LoopbackServer(pages) as served:
        yield served


def test_every_fetch_is_a_response_and_a_request_tied_together(server, tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    result = crawl(server.url("/"), follow=True, workers=0, output={"warc": str(warc)})
    records = read_warc(warc)

    info = records[0]
    assert info.type == "warcinfo"
    assert f"software: parcrawl/{__version__}" in info.payload.decode()
    assert "parcrawl-settings:" in info.payload.decode()
    assert all(r.headers["WARC-Type"] != "warcinfo" for r in records[1:])
    assert {r.headers["WARC-Target-URI"] for r in records[1:]} >= {
        record["url"] for record in result.records
    }
    responses = of_type(records, "response")
    requests = of_type(records, "request")
    assert len(responses) == len(requests)
    # One response per fetch; the redirect's hop is a response of its own.
    hops = [r.headers["WARC-Target-URI"] for r in responses]
    assert sorted(hops) == sorted(
        server.url(p) for p in ("/", "/gz", "/latin", "/old", "/missing", "/file")
    )
    by_id = {r.headers["WARC-Record-ID"]: r for r in responses}
    for request in requests:
        response = by_id[request.headers["WARC-Concurrent-To"]]
        assert response.headers["WARC-Target-URI"] == request.headers["WARC-Target-URI"]
        assert request.payload == b""
        assert response.headers["WARC-Payload-Digest"].startswith("sha1:")
        assert response.headers["WARC-Block-Digest"].startswith("sha1:")
    assert records[0].headers["WARC-Filename"] == "crawl.warc.gz"
    assert all(r.headers.get("WARC-Type") and "WARC/1.1" for r in records)


def test_bodies_are_stored_exactly_as_the_server_sent_them(server, tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    crawl(server.url("/"), follow=True, workers=0, output={"warc": str(warc)})
    responses = {r.headers["WARC-Target-URI"]: r for r in of_type(read_warc(warc), "response")}

    gz = responses[server.url("/gz")]
    assert gz.http_headers["Content-Encoding"] == "gzip"
    assert gz.payload == gzip.compress(GZIPPED_HTML.encode(), mtime=0)  # not decoded
    latin = responses[server.url("/latin")]
    assert latin.payload == LATIN_HTML
    assert latin.http_headers["Content-Type"] == "text/html; charset=windows-1252"
    assert responses[server.url("/old")].status == 301
    assert responses[server.url("/missing")].status == 404
    # A body the crawl does not read (a non-HTML type) is marked as cut short.
    assert responses[server.url("/file")].headers["WARC-Truncated"] == "unspecified"
    assert "WARC-Truncated" not in gz.headers


def test_past_the_size_limit_records_go_to_the_next_numbered_file(server, tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    crawl(
        server.url("/"),
        follow=True,
        workers=0,
        output={"warc": str(warc), "warc_max_size": 1500},
    )
    files = sorted(tmp_path.glob("crawl-*.warc.gz"))
    assert len(files) >= 3
    assert not warc.exists()
    assert files[0].name == "crawl-00000.warc.gz"
    responses = 0
    for file in files:
        records = read_warc(file)
        assert records[0].type == "warcinfo"
        assert records[0].headers["WARC-Filename"] == file.name
        responses += len(of_type(records, "response"))
    assert responses == 6


def test_a_recrawl_writes_revisits_pointing_at_the_first_capture(tmp_path):
    site_pages = {"/": "<a href='/a'>a</a> <a href='/b'>b</a>", "/a": "<p>A</p>", "/b": "<p>B</p>"}
    with ChangingSite(site_pages, bare=frozenset({"/b"})) as site:
        state = str(tmp_path / "site.crawl")
        first, second = tmp_path / "day1.warc.gz", tmp_path / "day2.warc.gz"
        crawl(site.url("/"), follow=True, workers=0, state=state, output={"warc": str(first)})
        site.pages["/"] = site_pages["/"] + "<p>edited</p>"
        crawl(
            site.url("/"),
            follow=True,
            workers=0,
            state=state,
            recrawl=True,
            output={"warc": str(second)},
        )
    captured = {r.headers["WARC-Target-URI"]: r for r in of_type(read_warc(first), "response")}
    records = read_warc(second)
    revisits = {r.headers["WARC-Target-URI"]: r for r in of_type(records, "revisit")}
    assert set(revisits) == {site.url("/a"), site.url("/b")}
    assert {r.headers["WARC-Target-URI"] for r in of_type(records, "response")} == {site.url("/")}

    not_modified = revisits[site.url("/a")]
    assert not_modified.status == 304
    assert not_modified.headers["WARC-Profile"].endswith("/revisit/server-not-modified")
    same_payload = revisits[site.url("/b")]  # no validators: a 200 with the same payload
    assert same_payload.status == 200
    assert same_payload.headers["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    for url, revisit in revisits.items():
        original = captured[url]
        assert revisit.headers["WARC-Refers-To"] == original.headers["WARC-Record-ID"]
        assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
        assert revisit.headers["WARC-Refers-To-Target-URI"] == url
        assert revisit.headers["WARC-Payload-Digest"] == original.headers["WARC-Payload-Digest"]


class QuietFiles(SimpleHTTPRequestHandler):
    """The standard library's file server: it answers ``If-Modified-Since`` with a 304 that
    has neither ``Content-Length`` nor ``Content-Type``, as many servers do."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("<title>Home</title><a href='/a.html'>a</a>")
    (root / "a.html").write_text("<title>A</title><p>a page</p>")
    handler = functools.partial(QuietFiles, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            thread.join(5)


def test_a_304_without_a_length_is_a_revisit_not_a_truncated_response(file_server, tmp_path):
    state = str(tmp_path / "site.crawl")
    first, second = tmp_path / "day1.warc.gz", tmp_path / "day2.warc.gz"
    seed = file_server + "/"
    crawl(seed, follow=True, workers=0, state=state, output={"warc": str(first)})
    again = crawl(
        seed, follow=True, workers=0, state=state, recrawl=True, output={"warc": str(second)}
    )

    assert {(r["status"], r["change"]) for r in again.records} == {(304, "unchanged")}
    captured = {r.headers["WARC-Target-URI"]: r for r in of_type(read_warc(first), "response")}
    records = read_warc(second)
    assert of_type(records, "response") == []
    revisits = {r.headers["WARC-Target-URI"]: r for r in of_type(records, "revisit")}
    assert set(revisits) == {seed, file_server + "/a.html"}
    for url, revisit in revisits.items():
        assert revisit.status == 304
        assert "Content-Length" not in revisit.http_headers  # as the server sent it
        assert revisit.headers["WARC-Profile"].endswith("/revisit/server-not-modified")
        assert "WARC-Truncated" not in revisit.headers
        assert revisit.headers["WARC-Refers-To"] == captured[url].headers["WARC-Record-ID"]


class FullDisk:
    """A file that takes ``room`` bytes, writes part of the next write, then fails."""

    def __init__(self, path: Path, room: int) -> None:
        self._file = path.open("wb")
        self._room = room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            self._file.write(data[: self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._file.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def exchange(n: int) -> FetchResult:
    url = f"http://127.0.0.1:9/page{n}"
    body = f"<p>page {n}</p>".encode() * 20
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
    request = b"GET /page%d HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n" % n
    wire = WireExchange(url, "2026-11-30T12:00:00.000Z", request, head, body)
    result = FetchResult.unfetched(FetchRequest(url), failure=None)  # type: ignore[arg-type]
    return FetchResult(
        result.request, url, 200, (), "text/html", body, len(body), 1.0, wire.date,
        exchanges=(wire,),
    )  # fmt: skip


async def test_a_full_disk_ends_the_archive_on_a_whole_record(tmp_path):
    warc = tmp_path / "full.warc.gz"

    def opener(path: Path, mode: str) -> BinaryIO:
        return FullDisk(path, room=4000)  # type: ignore[return-value]

    archive = Archive(warc, build_settings({}), opener=opener)
    await archive.open()
    with pytest.raises(OutputError, match="No space left on device"):  # noqa: PT012
        for n in range(200):
            await archive.add(exchange(n), None)
            await asyncio.sleep(0)
        await archive.close()
    await archive.close()
    records = read_warc(warc)
    assert records[0].type == "warcinfo"
    assert len(of_type(records, "response")) == len(of_type(records, "request")) > 0


def test_a_full_disk_ends_the_crawl_with_one_error_and_whole_outputs(server, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "crawler.archive.warc.open_file", lambda path, mode: FullDisk(path, room=3000)
    )
    warc, jsonl = tmp_path / "crawl.warc.gz", tmp_path / "out.jsonl"
    with pytest.raises(OutputError, match=r"cannot write .*crawl.warc.gz: No space left"):
        crawl(
            server.url("/"),
            follow=True,
            workers=0,
            output={"warc": str(warc), "jsonl": str(jsonl)},
        )
    assert of_type(read_warc(warc), "response")
    assert jsonl.read_text().endswith("\n") or jsonl.read_text() == ""


def test_a_torn_last_record_is_cut_and_the_rest_reads_cleanly(tmp_path):
    warc = tmp_path / "torn.warc.gz"
    crawl_records = read_warc  # the reader under test below
    whole = b""

    async def write() -> None:
        archive = Archive(warc, build_settings({}))
        await archive.open()
        for n in range(3):
            await archive.add(exchange(n), None)
        await archive.close()

    asyncio.run(write())
    whole = warc.read_bytes()
    warc.write_bytes(whole + whole[100:700])  # half a gzip member, as a kill leaves it
    assert repair(warc) == len(whole)
    assert len(of_type(crawl_records(warc), "response")) == 3


def test_a_file_that_is_no_warc_is_never_cut(tmp_path):
    other = tmp_path / "notes.warc.gz"
    other.write_text("my notes, not a WARC\n")
    with pytest.raises(OSError, match="not a WARC file"):
        repair(other)
    assert other.read_text() == "my notes, not a WARC\n"


@pytest.mark.parametrize(
    ("text", "size"),
    [("1GB", 10**9), ("500MB", 500 * 10**6), ("64MiB", 64 * 2**20), ("1.5kb", 1500), ("99", 99)],
)
def test_warc_max_size_is_read_as_people_write_sizes(text, size):
    settings = build_settings({"output": {"warc": "a.warc.gz", "warc_max_size": text}})
    assert settings.output.warc_max_size == size


async def test_a_rendered_dom_is_a_conversion_record_referring_to_its_response(tmp_path):
    warc = tmp_path / "render.warc.gz"
    archive = Archive(warc, build_settings({}))
    await archive.open()
    html = "<html><body><p>built by script, café</p></body></html>".encode()
    await archive.add_conversion("http://a.test/p", "<urn:uuid:1234>", html)
    await archive.add_conversion("http://a.test/q", None, html)
    await archive.close()
    first, second = of_type(read_warc(warc), "conversion")
    assert first.headers["WARC-Target-URI"] == "http://a.test/p"
    assert first.headers["WARC-Refers-To"] == "<urn:uuid:1234>"
    assert first.headers["Content-Type"] == "text/html; charset=utf-8"
    assert first.payload == html
    assert "WARC-Refers-To" not in second.headers
