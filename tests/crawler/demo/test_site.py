"""Tests for the synthetic demo site and its subprocess HTTP server."""

from __future__ import annotations

import re
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import httpx
import psutil
import pytest
from bs4 import BeautifulSoup

from crawler.demo import HTML_CONTENT_TYPE, SiteServer, SyntheticSite

BASE = "http://site.test"


@pytest.fixture(scope="module")
def site() -> SyntheticSite:
    return SyntheticSite(pages=300, seed=0)


@pytest.fixture(scope="module")
def server(site: SyntheticSite) -> Iterator[SiteServer]:
    with SiteServer(site) as running:
        yield running


def _soup(site: SyntheticSite, path: str) -> BeautifulSoup:
    return BeautifulSoup(site.response(path)[2], "lxml")


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return False
    except OSError:
        return True


def test_same_seed_gives_identical_bytes_and_other_seed_differs() -> None:
    first, second = SyntheticSite(pages=60, seed=3), SyntheticSite(pages=60, seed=3)
    other = SyntheticSite(pages=60, seed=4)

    assert first.all_paths() == second.all_paths()
    assert all(first.response(p) == second.response(p) for p in first.all_paths())
    assert first.response("/page/7.html") != other.response("/page/7.html")


def test_rejects_a_site_without_pages() -> None:
    with pytest.raises(ValueError, match="pages"):
        SyntheticSite(pages=0)


def test_path_lists_and_urls() -> None:
    site = SyntheticSite(pages=10)

    assert site.html_paths() == ["/", *(f"/page/{i}.html" for i in range(1, 10))]
    assert len(site.file_paths()) >= 3
    assert len(site.missing_paths()) >= 2
    assert site.all_paths() == site.html_paths() + site.file_paths() + site.missing_paths()
    urls = site.urls("http://127.0.0.1:8123/")
    assert urls[0] == "http://127.0.0.1:8123/"
    assert urls[1] == "http://127.0.0.1:8123/page/1.html"
    assert len(urls) == len(site.all_paths())


def test_html_pages_are_10_to_60_kb_averaging_about_30(site: SyntheticSite) -> None:
    sizes = [len(site.response(path)[2]) for path in site.html_paths()]

    assert min(sizes) >= 10 * 1024
    assert max(sizes) <= 60_000
    assert 25_000 <= statistics.mean(sizes) <= 35_000


def test_every_page_and_file_is_reachable_from_home(site: SyntheticSite) -> None:
    seen, queue = {"/"}, ["/"]
    while queue:
        for target in site.links_of(queue.pop()):
            if target not in seen:
                seen.add(target)
                queue.append(target)

    assert seen == set(site.all_paths())


def test_markup_links_resolve_to_links_of(site: SyntheticSite) -> None:
    for path in site.html_paths()[:60]:
        hrefs = [str(a["href"]) for a in _soup(site, path).find_all("a")]
        resolved = [urldefrag(urljoin(BASE + path, href))[0] for href in hrefs]

        assert 10 <= len(hrefs) <= 30
        assert list(dict.fromkeys(resolved)) == [BASE + t for t in site.links_of(path)]


def test_links_use_mixed_spellings(site: SyntheticSite) -> None:
    hrefs = {str(a["href"]) for p in site.html_paths()[:40] for a in _soup(site, p).find_all("a")}

    assert any(h.startswith("/page/") for h in hrefs)
    assert any(h.startswith("../") for h in hrefs)
    assert any(h[0].isdigit() for h in hrefs)  # "7.html", relative to /page/
    assert any("#" in h for h in hrefs)


def test_pages_have_full_head_and_body(site: SyntheticSite) -> None:
    soup = _soup(site, "/page/3.html")

    assert site.response("/page/3.html")[2].startswith(b"<!doctype html>")
    assert soup.title is not None
    assert "Page 3" in soup.title.get_text()
    assert soup.find("meta", charset="utf-8") is not None
    assert soup.find("meta", attrs={"name": "description"}) is not None
    canonical = soup.find("link", rel="canonical")
    assert canonical is not None
    assert canonical["href"] == "/page/3.html"
    assert soup.find("nav") is not None
    assert len(soup.find_all("p")) >= 5
    assert soup.find("table") is not None or soup.find(["ul", "ol"], class_="points")


def test_script_and_style_never_leak_into_visible_text(site: SyntheticSite) -> None:
    soup = _soup(site, "/page/3.html")
    for tag in soup(["script", "style"]):
        tag.decompose()
    text = soup.get_text(" ")

    assert "pcInit" not in text
    assert "margin" not in text


def test_some_pages_are_german_or_french(site: SyntheticSite) -> None:
    langs = []
    for path in site.html_paths():
        match = re.search(rb'<html lang="([a-z]+)">', site.response(path)[2])
        assert match is not None
        langs.append(match[1].decode())

    assert langs[0] == "en"
    assert {"en", "de", "fr"} <= set(langs)
    assert langs.count("en") > len(langs) * 0.8


def test_files_have_their_content_types(site: SyntheticSite) -> None:
    types = {}
    for path in site.file_paths():
        status, content_type, body = site.response(path)
        assert status == 200
        types[content_type] = body

    assert set(types) == {"application/pdf", "text/csv", "image/png"}
    assert types["application/pdf"].startswith(b"%PDF-")
    assert types["image/png"].startswith(b"\x89PNG\r\n\x1a\n")
    assert types["text/csv"].startswith(b"id,name,value\n")


def test_missing_and_unknown_paths_are_404_html(site: SyntheticSite) -> None:
    for path in [*site.missing_paths(), "/nope", "/page/99999.html", "/<script>"]:
        status, content_type, body = site.response(path)

        assert status == 404
        assert content_type == HTML_CONTENT_TYPE
        assert b"Not Found" in body
        assert b"<script>" not in body


def test_write_to_writes_every_existing_path(tmp_path: Path) -> None:
    site = SyntheticSite(pages=20)
    site.write_to(tmp_path)

    assert (tmp_path / "index.html").read_bytes() == site.response("/")[2]
    assert (tmp_path / "page" / "19.html").read_bytes() == site.response("/page/19.html")[2]
    for path in site.file_paths():
        assert (tmp_path / path.lstrip("/")).read_bytes() == site.response(path)[2]
    assert not (tmp_path / "missing").exists()
    written = sum(1 for p in tmp_path.rglob("*") if p.is_file())
    assert written == len(site.html_paths()) + len(site.file_paths())


def test_server_get_returns_the_site_bytes(site: SyntheticSite, server: SiteServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        for path in ["/", "/page/42.html", site.file_paths()[0]]:
            response = client.get(path)
            status, content_type, body = site.response(path)

            assert response.status_code == status
            assert response.headers["content-type"] == content_type
            assert response.content == body


def test_server_answers_404_head_and_keeps_connections_alive(
    site: SyntheticSite, server: SiteServer
) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        missing = client.get(site.missing_paths()[0])
        head = client.head("/page/5.html")
        again = client.get("/page/6.html?utm=x")
        # The local address of each request's socket: equal when the connection was reused.
        addresses = {
            r.extensions["network_stream"].get_extra_info("client_addr") for r in (head, again)
        }

    assert missing.status_code == 404
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(site.response("/page/5.html")[2])
    assert again.content == site.response("/page/6.html")[2]
    assert len(addresses) == 1


def test_delay_slows_every_response() -> None:
    with SiteServer(SyntheticSite(pages=5), delay_s=0.3) as server:
        started = time.monotonic()
        response = httpx.get(server.url("/page/1.html"))

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_stop_closes_the_port_and_reaps_the_process() -> None:
    server = SiteServer(SyntheticSite(pages=5))
    server.start()
    port, pid = server.port, server.pid
    assert httpx.get(server.url("/")).status_code == 200

    server.stop()
    server.stop()  # idempotent

    assert _refuses_connections(port)
    assert pid not in {child.pid for child in psutil.Process().children(recursive=True)}
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


def _serve_then_fail(ports: list[int]) -> None:
    with SiteServer(SyntheticSite(pages=5)) as server:
        ports.append(server.port)
        raise KeyError("boom")


def test_error_in_with_body_still_stops_the_server() -> None:
    ports: list[int] = []
    with pytest.raises(KeyError):
        _serve_then_fail(ports)

    assert len(ports) == 1
    assert _refuses_connections(ports[0])


def test_a_child_that_fails_to_start_raises_a_clear_error() -> None:
    broken = SyntheticSite(pages=5)
    broken.pages = 0  # the child rebuilds the site from this and fails
    server = SiteServer(broken)

    with pytest.raises(RuntimeError, match="failed to start: ValueError"):
        server.start()
    assert server.pid is None
