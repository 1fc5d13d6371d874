"""A crawl end to end against hostile and broken servers: every URL ends as exactly one record.

Servers run on 127.0.0.1 (``tests/support/hostile.py``, ``tests/support/routes.py``); the
private-address redirect is mocked with respx, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import socket
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import psutil
import pytest
import respx

from crawler.api import acrawl
from crawler.assembly import build_engine
from crawler.fetch import Fetcher
from crawler.models import PageFields
from crawler.settings import FetchSettings, build_settings
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage
from pipelines.worker import parse_page
from tests.support.cli import PARCRAWL, checkout_env, parcrawl
from tests.support.crawling import run_crawl
from tests.support.hostile import (
    BOMB_DECODED_BYTES,
    ENCODED_PAGES,
    FRENCH_TEXT,
    JAPANESE_TEXT,
    KOREAN_TEXT,
    HostileServer,
    RawReply,
    gzip_bomb,
)
from tests.support.routes import Reply, RouteServer, page

REPO_ROOT = Path(__file__).resolve().parents[2]
NETWORK_CODES = frozenset({"timeout", "connect", "read", "protocol", "network"})
MIB = 1024 * 1024
PEAK_RSS_LIMIT_BYTES = 200 * MIB
RSS_POLL_S = 0.02
TIME_BIN = Path("/usr/bin/time")

# Quick retries and holds, so a test waits for what it checks and nothing else.
QUICK_RETRIES = {"retry_backoff_s": 0.05, "max_hold_s": 0.2}

PUBLIC_SEED = "http://93.184.216.34/start"
PRIVATE_TARGET = "http://127.0.0.1:8080/admin"


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def by_url(records: list[dict]) -> dict[str, dict]:
    counts = Counter(record["url"] for record in records)
    assert all(count == 1 for count in counts.values()), counts
    return {record["url"]: record for record in records}


def error_code(record: dict) -> str | None:
    return record["error"]["code"] if record["error"] else None


def normalized(text: str) -> str:
    return " ".join(text.split())


# --- retries and holds -------------------------------------------------------------------


async def test_a_flaky_page_is_retried_until_it_answers(hostile):
    url = hostile.url("/flaky/retried")
    records, stats = await run_crawl([url], workers=0, fetch=QUICK_RETRIES)

    [record] = records
    assert record["status"] == 200
    assert record["error"] is None
    assert record["attempts"] == 3
    assert record["title"] == "flaky retried"
    assert hostile.count("/flaky/retried") == 3
    assert stats.retries == 2


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_retry_after_holds_its_host_while_another_host_is_served():
    slow_pages = {f"/slow/{n}": page(f"<title>slow {n}</title>", delay_s=0.4) for n in range(12)}
    with HostileServer() as held, RouteServer(slow_pages) as other:
        urls = [held.url("/retry-after/held")] + [other.url(path) for path in slow_pages]
        records, _ = await run_crawl(urls, workers=0, fetch={"per_host": 2})
        held_hits = [hit for hit in held.log if hit.path != "/robots.txt"]
        other_times = [at for at, path in other.request_times if path != "/robots.txt"]

    record = by_url(records)[urls[0]]
    assert (record["status"], record["attempts"], record["error"]) == (200, 2, None)
    assert len(records) == len(urls)
    refused, retried = held_hits
    assert retried.at_s - refused.at_s >= 2.0  # Retry-After: 2
    meanwhile = [at for at in other_times if refused.at_s < at < retried.at_s]
    assert len(meanwhile) >= 3  # the other host was never held


# --- compression bombs, in a real `parcrawl crawl` process ---------------------------------


def _run_cli_measuring_peak_rss(args: list[str], timeout_s: float) -> tuple[int, int]:
    """Run the CLI; returns (exit code, peak RSS in bytes), sampled every 20 ms with psutil.

    Under ``/usr/bin/time`` (when there is one) the kernel's own peak counts too, so a spike
    between two samples is not missed.
    """
    command = [*PARCRAWL, *args]
    kernel_peak = Path(args[args.index("-o") + 1]).with_suffix(".maxrss")
    if TIME_BIN.exists():
        command = [str(TIME_BIN), "-f", "%M", "-o", str(kernel_peak), *command]
    process = psutil.Popen(command, cwd=REPO_ROOT, env=checkout_env())
    peak = 0
    deadline = time.monotonic() + timeout_s
    try:
        while process.poll() is None:
            assert time.monotonic() < deadline, "the crawl did not finish"
            with contextlib.suppress(psutil.Error):  # it may end between two calls
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(_rss(member) for member in tree))
            time.sleep(RSS_POLL_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if kernel_peak.exists():
        peak = max(peak, int(kernel_peak.read_text().split()[-1]) * 1024)
    return process.returncode, peak


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


@pytest.mark.slow  # 3.5 s: a crawl of bombs in a child process, its memory sampled
def test_gzip_bombs_end_as_too_large_and_memory_stays_flat(hostile, tmp_path):
    # Built here, before the clock starts: the server would build them on first request.
    gzip_bomb(BOMB_DECODED_BYTES, 1)
    gzip_bomb(BOMB_DECODED_BYTES, 2)
    urls = [hostile.url("/gzip-bomb"), hostile.url("/gzip-gzip-bomb")]
    out = tmp_path / "bombs.jsonl"

    code, peak_rss = _run_cli_measuring_peak_rss(
        ["crawl", *urls, "-o", str(out), "-w", "0", "-q"], timeout_s=60
    )

    assert code == 0
    records = by_url([json.loads(line) for line in out.read_text().splitlines()])
    assert set(records) == set(urls)
    for record in records.values():
        assert error_code(record) == "too_large"
        assert record["status"] == 200
        assert record["text"] is None
    print(f"peak RSS of `parcrawl crawl` on two 1 GiB gzip bombs: {peak_rss / MIB:.0f} MB")
    assert peak_rss < PEAK_RSS_LIMIT_BYTES


# --- slow servers --------------------------------------------------------------------------


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_trickling_bodies_and_headers_time_out():
    with HostileServer() as server:
        urls = [server.url("/trickle"), server.url("/slow-headers")]
        started = time.monotonic()
        records, stats = await run_crawl(urls, workers=0, fetch={"timeout_s": 2, "retries": 0})
        elapsed_s = time.monotonic() - started

    records_by_url = by_url(records)
    for url in urls:
        record = records_by_url[url]
        assert error_code(record) == "timeout"
        assert record["attempts"] == 1
        assert 1.9 <= record["elapsed_ms"] / 1000 < 4.0
    assert records_by_url[urls[1]]["status"] is None  # the headers never ended
    assert elapsed_s < 8.0  # both at once, each cut at 2 s (and not hanging forever)
    assert stats.errors["timeout"] == 2


# --- redirects -----------------------------------------------------------------------------


async def test_redirect_loops_chains_and_too_long_chains(hostile):
    loop, chain, too_long = (hostile.url(p) for p in ("/redirect-loop", "/chain/5", "/chain/25"))
    records, _ = await run_crawl([loop, chain, too_long], workers=0)
    records_by_url = by_url(records)

    assert error_code(records_by_url[loop]) == "redirect_loop"
    followed = records_by_url[chain]
    assert followed["error"] is None
    assert followed["status"] == 200
    assert followed["final_url"].endswith("/chain/0")
    assert followed["title"] == "end of the chain"
    assert error_code(records_by_url[too_long]) == "too_many_redirects"


async def test_a_short_chain_over_max_redirects_is_refused(hostile):
    url = hostile.url("/chain/3")
    [record] = (await run_crawl([url], workers=0, fetch={"max_redirects": 2}))[0]
    assert error_code(record) == "too_many_redirects"


def _mock_public_site(router: respx.MockRouter) -> respx.Route:
    router.get(url__regex=r"/robots\.txt$").respond(404)
    router.get(PUBLIC_SEED).respond(302, headers={"Location": PRIVATE_TARGET})
    return router.get(PRIVATE_TARGET).respond(200, html="<title>admin</title>")


async def test_a_public_seed_may_not_redirect_to_a_private_address():
    with respx.mock(assert_all_called=False) as router:
        admin = _mock_public_site(router)
        [record], stats = await run_crawl([PUBLIC_SEED], workers=0)

    assert error_code(record) == "private_address"
    assert "127.0.0.1" in record["error"]["message"]
    assert record["title"] is None
    assert not admin.called
    assert stats.errors["private_address"] == 1


async def test_allow_private_follows_a_redirect_to_a_private_address():
    with respx.mock(assert_all_called=False) as router:
        admin = _mock_public_site(router)
        [record], _ = await run_crawl([PUBLIC_SEED], workers=0, fetch={"allow_private": True})

    assert record["error"] is None
    assert record["final_url"] == PRIVATE_TARGET
    assert record["title"] == "admin"
    assert admin.called


async def test_a_loopback_seed_may_redirect_to_another_loopback_host():
    with RouteServer({"/inside": page("<title>inside</title>")}) as target:
        jump = Reply(status=302, headers={"Location": target.url("/inside")})
        with RouteServer({"/jump": lambda _path: jump}) as seed_host:
            [record], _ = await run_crawl([seed_host.url("/jump")], workers=0)
    assert record["error"] is None
    assert record["final_url"] == target.url("/inside")
    assert record["title"] == "inside"


# --- bodies --------------------------------------------------------------------------------

ENCODED_TEXTS = {
    "windows-1252": FRENCH_TEXT,
    "euc-kr": KOREAN_TEXT,
    "shift_jis": JAPANESE_TEXT,
    "utf-16": JAPANESE_TEXT,
}


@pytest.mark.parametrize("name", sorted(ENCODED_PAGES))
async def test_pages_with_a_wrong_or_missing_charset_come_out_as_written(hostile, name):
    served = ENCODED_PAGES[name]
    title = re.search(r"<title>(.*)</title>", served.text)
    assert title is not None
    [record], _ = await run_crawl([hostile.url(f"/enc/{name}")], workers=0)

    assert record["error"] is None
    assert record["title"] == title.group(1)
    assert normalized(ENCODED_TEXTS[name]) in record["text"]
    assert "\ufffd" not in record["text"]


async def test_a_connection_reset_mid_body_is_a_network_error_and_the_crawl_goes_on(hostile):
    reset, fine = hostile.url("/reset"), hostile.url("/chain/0")
    records, _ = await run_crawl([reset, fine], workers=0, fetch={"retries": 1, **QUICK_RETRIES})
    records_by_url = by_url(records)

    assert error_code(records_by_url[reset]) in NETWORK_CODES
    assert records_by_url[reset]["text"] is None
    assert records_by_url[fine]["error"] is None
    assert records_by_url[fine]["title"] == "end of the chain"


async def test_a_connection_reset_mid_body_is_retried(hostile):
    retries = 2
    fetch = {"retries": retries, **QUICK_RETRIES}
    [record], _ = await run_crawl([hostile.url("/reset")], workers=0, fetch=fetch)
    assert error_code(record) in NETWORK_CODES
    assert record["attempts"] == retries + 1


async def test_an_empty_page_is_a_page_without_words(hostile):
    [record], _ = await run_crawl([hostile.url("/empty")], workers=0)
    assert record["status"] == 200
    assert record["error"] is None
    assert record["text"] == ""
    assert record["word_count"] == 0


async def test_a_big_page_is_too_large_by_default(hostile):
    [record], _ = await run_crawl([hostile.url("/big")], workers=0)
    assert error_code(record) == "too_large"
    assert record["status"] == 200
    assert record["text"] is None


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_a_big_page_under_a_raised_max_bytes_is_fetched_and_parsed(hostile):
    # One worker process: the parse of 50 MB costs its memory there, not in the test's.
    fetch = {"max_bytes": 60 * MIB}
    [record], _ = await run_crawl([hostile.url("/big")], workers=1, fetch=fetch)
    assert record["error"] is None
    assert record["bytes"] > 50_000_000
    assert record["title"] == "big"
    assert record["word_count"] > 10_000_000


async def test_huge_headers_give_a_record_and_the_crawl_goes_on(hostile):
    huge, fine = hostile.url("/huge-headers"), hostile.url("/chain/0")
    records, _ = await run_crawl([huge, fine], workers=0, fetch=QUICK_RETRIES)
    records_by_url = by_url(records)

    record = records_by_url[huge]
    if record["error"] is None:
        assert record["title"] == "huge headers"
    else:
        assert error_code(record) in {"protocol", "too_large"}
    assert records_by_url[fine]["title"] == "end of the chain"


# --- cookies -------------------------------------------------------------------------------


def _cookie_setter(location: str) -> Reply:
    return Reply(status=302, headers={"Set-Cookie": "session=secret; Path=/", "Location": location})


def _cookies_sent(server: RouteServer) -> list[str]:
    return [headers["cookie"] for _, headers in server.request_headers if "cookie" in headers]


async def test_a_cookie_is_not_sent_to_another_host_name():
    with RouteServer({"/landing": page("<title>landing</title>")}) as other:
        # The same loopback address under another name: another host to a cookie.
        landing = other.url("/landing").replace("127.0.0.1", "localhost")
        with RouteServer({"/set": lambda _path: _cookie_setter(landing)}) as setter:
            [record], _ = await run_crawl([setter.url("/set")], workers=0)
    assert record["final_url"] == landing
    assert record["title"] == "landing"
    assert _cookies_sent(other) == []


async def test_a_cookie_is_not_sent_to_another_port_of_the_same_address():
    with RouteServer({"/landing": page("<title>landing</title>")}) as other:
        landing = other.url("/landing")
        with RouteServer({"/set": lambda _path: _cookie_setter(landing)}) as setter:
            [record], _ = await run_crawl([setter.url("/set")], workers=0)
    assert record["title"] == "landing"
    assert _cookies_sent(other) == []


# --- all of it at once ---------------------------------------------------------------------


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
def test_one_crawl_of_every_hostile_url_gives_one_valid_line_per_url(hostile, tmp_path):
    gzip_bomb(BOMB_DECODED_BYTES, 1)
    gzip_bomb(BOMB_DECODED_BYTES, 2)
    expected = {
        "/flaky/combined": None,
        "/retry-after/combined": None,
        "/gzip-bomb": "too_large",
        "/gzip-gzip-bomb": "too_large",
        "/redirect-loop": "redirect_loop",
        "/chain/5": None,
        "/chain/25": "too_many_redirects",  # gives up at /chain/15, never reaching /chain/5
        "/reset": "read",
        "/empty": None,
        "/big": "too_large",
        "/huge-headers": None,
        **{f"/enc/{name}": None for name in ENCODED_PAGES},
    }
    urls = [hostile.url(path) for path in expected]
    out = tmp_path / "all.jsonl"
    started = time.monotonic()

    finished = subprocess.run(
        [*PARCRAWL, "crawl", *urls, "-o", str(out), "-w", "2", "-q"],
        cwd=REPO_ROOT,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert time.monotonic() - started < 30
    lines = out.read_text().splitlines()
    records = by_url([json.loads(line) for line in lines])  # every line is valid JSON
    assert len(lines) == len(urls)
    assert set(records) == set(urls)
    for path, code in expected.items():
        assert error_code(records[hostile.url(path)]) == code, path
    assert records[hostile.url("/flaky/combined")]["attempts"] == 3
    assert records[hostile.url("/retry-after/combined")]["attempts"] == 2


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_a_compressed_bomb_as_robots_txt_is_cut_at_its_limit(hostile):
    gzip_bomb()  # built before measuring: the server sends the cached bytes
    tracemalloc.start()
    try:
        async with Fetcher(FetchSettings(allow_private=True)) as fetcher:
            status, body, failure = await fetcher.fetch_resource(
                hostile.url("/gzip-bomb"), max_bytes=512 * 1024
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert failure is None
    assert status == 200
    assert len(body) == 512 * 1024
    assert peak < 64 * 1024 * 1024  # decoding stopped at the limit, not at 1 GiB


# --- round two: no bad value in one URL's handling ends the crawl --------------------------

BAD_PORTS = ["99999", "abc", "-1", "+80", "18850:80"]


def _html(title: str, body: str = "") -> bytes:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


def _redirect_to(location: bytes) -> RawReply:
    return RawReply(302, ((b"Location", location),))


def _path_for(prefix: str, value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return f"/{prefix}/{zlib.crc32(raw):08x}"


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:abc/",
        "http://127.0.0.1:0/",
        "http://[::1/",
        "data:text/html,<p>hi</p>",
        "javascript:alert(1)",
        "ftp://127.0.0.1/file",
        "/" + "a" * 99_000,
    ],
    ids=lambda location: location[:40],
)
async def test_an_unusable_location_is_a_bad_redirect_and_is_not_retried(hostile, location):
    path = _path_for("bad-location", location)
    bad, fine = hostile.script(path, _redirect_to(location.encode())), hostile.url("/chain/0")
    records, _ = await run_crawl([bad, fine], workers=0, fetch=QUICK_RETRIES)
    records_by_url = by_url(records)

    record = records_by_url[bad]
    assert error_code(record) == "bad_redirect", record["error"]
    assert len(record["error"]["message"]) < 500
    assert record["attempts"] == 1
    assert hostile.count(path) == 1
    assert records_by_url[fine]["title"] == "end of the chain"


async def test_links_with_invalid_ports_are_dropped_and_counted_and_the_crawl_goes_on(hostile):
    hrefs = [f"http://127.0.0.1:{port}/x" for port in BAD_PORTS]
    hrefs.append(f"//127.0.0.1:{BAD_PORTS[0]}/relative")
    hrefs.append("/chain/0")
    anchors = "".join(f'<a href="{href}">link</a>' for href in hrefs)
    seed = hostile.script("/bad-port-links", RawReply(200, body=_html("ports", anchors)))
    records, _ = await run_crawl([seed], workers=0, follow=True)
    records_by_url = by_url(records)

    assert set(records_by_url) == {seed, hostile.url("/chain/0")}
    assert records_by_url[seed]["links"] == [hostile.url("/chain/0")]
    assert records_by_url[seed]["links_dropped"] == len(BAD_PORTS) + 1


def _parse_with_bad_links(url: str, body: bytes, headers: Mapping[str, str]) -> PageFields:
    fields = parse_page(url, body, headers)
    links: list = ["http://127.0.0.1:99999/", "http://[::1/", 42, *(fields["links"] or [])]
    return {**fields, "links": links}


async def test_invalid_links_from_a_custom_parse_are_skipped_and_counted(hostile):
    seed = hostile.script(
        "/custom-parse", RawReply(200, body=_html("custom", '<a href="/chain/0">'))
    )
    records, stats = await run_crawl([seed], workers=0, follow=True, parse=_parse_with_bad_links)

    assert set(by_url(records)) == {seed, hostile.url("/chain/0")}
    assert stats.skipped["invalid_url"] == 3 * len(records)  # each page has the three


async def test_a_redirect_to_an_invalid_port_ends_as_that_urls_error_in_a_real_cli_run(
    hostile, tmp_path
):
    bad = hostile.script("/to-port-99999", _redirect_to(b"http://127.0.0.1:99999/"))
    fine = hostile.url("/chain/0")
    output = tmp_path / "out.jsonl"
    result = parcrawl("crawl", bad, fine, "-o", str(output), "--workers", "0")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    records = by_url([json.loads(line) for line in output.read_text().split("\n") if line])
    assert error_code(records[bad]) == "bad_redirect"
    assert records[fine]["title"] == "end of the chain"


@pytest.mark.parametrize("retries", [0, 1])
@pytest.mark.parametrize("value", [b"\xb2", b"\xd9\xa3", b"1.5", b"-3", b"soon", b""])
async def test_an_unreadable_retry_after_is_ignored_with_back_off(hostile, retries, value):
    path = _path_for(f"retry-after-{retries}", value)
    url = hostile.script(
        path, RawReply(503, ((b"Retry-After", value),)), RawReply(200, body=_html("back"))
    )
    fine = hostile.url("/chain/0")
    fetch = {"retries": retries, **QUICK_RETRIES}
    records, _ = await run_crawl([url, fine], workers=0, fetch=fetch)
    records_by_url = by_url(records)

    record = records_by_url[url]
    if retries:
        assert (record["status"], record["attempts"], record["title"]) == (200, 2, "back")
    else:
        assert (record["status"], error_code(record), record["attempts"]) == (503, "http_5xx", 1)
    assert records_by_url[fine]["title"] == "end of the chain"


async def test_a_url_behind_a_redirect_is_retried_through_its_redirect(hostile):
    hop = hostile.script("/hop/to-behind", _redirect_to(b"/behind/flaky"))
    hostile.script("/behind/flaky", RawReply(503), RawReply(200, body=_html("behind")))
    [record], _ = await run_crawl([hop], workers=0, fetch=QUICK_RETRIES)

    assert record["error"] is None
    assert (record["status"], record["attempts"], record["title"]) == (200, 2, "behind")
    assert record["final_url"] == hostile.url("/behind/flaky")
    assert hostile.count("/hop/to-behind") == 2
    assert hostile.count("/behind/flaky") == 2


async def test_a_redirect_to_a_page_crawled_already_is_still_a_duplicate(hostile):
    page_url = hostile.script("/dup/page", RawReply(200, body=_html("page")))
    hop = hostile.script("/dup/hop", _redirect_to(b"/dup/page"))
    records, _ = await run_crawl([page_url, hop], workers=0, fetch={"concurrency": 1})
    assert error_code(by_url(records)[hop]) == "duplicate"


async def test_the_final_url_is_the_url_requested_percent_encoded(hostile):
    location = "/landing/a b/ü?q=ä x".encode()
    hop = hostile.script("/to-landing", _redirect_to(location))
    [record], _ = await run_crawl([hop], workers=0, fetch={"retries": 0})

    assert record["final_url"] == hostile.url("/landing/a%20b/%C3%BC?q=%C3%A4%20x")
    assert hostile.requests[-1] == "/landing/a%20b/%C3%BC?q=%C3%A4%20x"


async def test_links_are_kept_as_they_would_be_requested(hostile):
    anchors = '<a href="/a b/ü?q=ä x#frag">one</a><a href="http://user:pw@127.0.0.1:1/x">two</a>'
    seed = hostile.script("/links-encoded", RawReply(200, body=_html("links", anchors)))
    [record], _ = await run_crawl([seed], workers=0)
    assert record["links"] == [hostile.url("/a%20b/%C3%BC?q=%C3%A4%20x"), "http://127.0.0.1:1/x"]


async def test_links_per_page_are_capped_and_the_record_says_how_many_were_dropped(hostile):
    anchors = "".join(f'<a href="/many/{number}">{number}</a>' for number in range(30))
    seed = hostile.script("/many-links", RawReply(200, body=_html("many", anchors)))
    records = [
        record async for record in acrawl([seed], workers=0, scope={"max_links_per_page": 10})
    ]
    [record] = records
    assert record["links"] == [hostile.url(f"/many/{number}") for number in range(10)]
    assert record["links_dropped"] == 20


async def test_the_links_cap_defaults_to_a_few_thousand(hostile):
    anchors = "".join(f'<a href="/lots/{number}">x</a>' for number in range(6000))
    seed = hostile.script("/lots-of-links", RawReply(200, body=_html("lots", anchors)))
    [record] = [record async for record in acrawl([seed], workers=0)]
    assert len(record["links"]) == 5000
    assert record["links_dropped"] == 1000


# --- credentials ---------------------------------------------------------------------------


def _authorizations(server: RouteServer) -> list[str | None]:
    return [headers.get("authorization") for _, headers in server.request_headers]


@pytest.mark.slow
def test_credentials_go_to_their_origin_only_and_the_password_is_never_shown(tmp_path):
    with RouteServer() as site, RouteServer() as other:
        site.routes["/private"] = page("<title>private</title>")
        site.routes["/away"] = lambda _: Reply(302, headers={"Location": other.url("/landing")})
        other.routes["/landing"] = page("<title>landing</title>")
        netloc = site.base_url.removeprefix("http://")
        private = f"http://alice:s3cr3t@{netloc}/private"
        away = f"http://alice:s3cr3t@{netloc}/away"
        output, state = tmp_path / "out.jsonl", tmp_path / "crawl.state"
        result = parcrawl(
            "crawl", private, away, "-o", str(output), "--state", str(state), "-v", "-w", "0"
        )
        status = parcrawl("status", str(state))
        expected = "Basic " + base64.b64encode(b"alice:s3cr3t").decode()
        assert _authorizations(site)
        assert set(_authorizations(site)) == {expected}
        assert _authorizations(other)
        assert set(_authorizations(other)) == {None}

    assert result.returncode == 0, result.stderr
    records = by_url([json.loads(line) for line in output.read_text().split("\n") if line])
    assert set(records) == {site.url("/private"), site.url("/away")}
    assert records[site.url("/private")]["title"] == "private"
    assert records[site.url("/away")]["final_url"] == other.url("/landing")
    for shown in (output.read_bytes(), result.stderr.encode(), status.stdout.encode()):
        assert b"s3cr3t" not in shown
    for path in tmp_path.iterdir():
        assert b"s3cr3t" not in path.read_bytes(), path


# --- Retry-After longer than the cap -------------------------------------------------------


@pytest.mark.parametrize("value", [b"999999999", b"Fri, 01 Jan 2100 00:00:00 GMT"])
async def test_a_retry_after_over_the_cap_ends_the_url_at_once_with_a_warning(
    hostile, value, caplog
):
    path = _path_for("retry-after-huge", value)
    url = hostile.script(path, RawReply(429, ((b"Retry-After", value),)))
    fetch = {"retries": 3, "max_hold_s": 60.0}
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        [record], stats = await run_crawl([url], workers=0, fetch=fetch)

    assert time.monotonic() - started < 30  # not 3 x 60 s of holds
    assert record["status"] == 429
    assert record["attempts"] == 1
    assert error_code(record) == "retry_after_too_long"
    assert "max_hold_s" in record["error"]["message"]
    assert stats.retries == 0
    assert any(url in message and "Retry-After" in message for message in caplog.messages)


@pytest.mark.slow
async def test_a_retry_after_over_the_cap_still_holds_the_host_for_its_other_urls(hostile):
    held = hostile.script("/held-host/first", RawReply(429, ((b"Retry-After", b"999999"),)))
    later = hostile.script("/held-host/second", RawReply(200, body=_html("second")))
    fetch = {"per_host": 1, "concurrency": 1, "max_hold_s": 1.5}
    records, _ = await run_crawl([held, later], workers=0, fetch=fetch)

    assert error_code(by_url(records)[held]) == "retry_after_too_long"
    assert by_url(records)[later]["title"] == "second"
    first, second = (hit for hit in hostile.log if hit.path.startswith("/held-host/"))
    assert second.at_s - first.at_s >= 1.5


async def test_a_url_waiting_out_a_retry_after_gets_its_record_on_a_stop(hostile):
    waiting = hostile.script("/stop-while-waiting", RawReply(429, ((b"Retry-After", b"300"),)))
    config = build_settings({"workers": 0})
    sink = MemorySink()
    async with Fetcher(config.fetch) as fetcher, ProcessStage(0) as stage:
        engine = build_engine(config, fetcher=fetcher, stage=stage, sinks=[sink])

        async def stop_once_refused() -> None:
            deadline = time.monotonic() + 60
            while engine.stats.retries == 0:
                assert time.monotonic() < deadline, "the 429 was never retried"
                await asyncio.sleep(0.02)
            engine.stop()

        async def seeds():
            yield waiting

        stopper = asyncio.create_task(stop_once_refused())
        started = time.monotonic()
        stats = await asyncio.wait_for(engine.run(seeds()), timeout=60)
        await stopper

    assert time.monotonic() - started < 60
    assert stats.interrupted
    [record] = sink.records
    assert (record["url"], record["status"], record["attempts"]) == (waiting, 429, 1)
    assert error_code(record) == "http_4xx"


# --- timeouts say which phase --------------------------------------------------------------


@contextlib.contextmanager
def _silent_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a stuck TLS peer)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in accepted:
            connection.close()
        listener.close()


@pytest.mark.slow
async def test_a_tls_handshake_timeout_says_it_was_the_handshake():
    with _silent_listener() as port:
        fetch = {"connect_timeout_s": 0.5, "retries": 0}
        url = f"https://127.0.0.1:{port}/"
        [record], _ = await run_crawl([url], workers=0, fetch=fetch, robots={"obey": False})
        [robots_record], _ = await run_crawl([url], workers=0, fetch=fetch)

    assert error_code(record) == "timeout"
    assert "TLS handshake" in record["error"]["message"]
    assert "TLS handshake" in robots_record["error"]["message"]


# --- the boundary: an unexpected error is one URL's record ---------------------------------


async def test_an_unexpected_error_for_one_url_is_its_record_and_the_crawl_goes_on():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/explodes":
            raise RuntimeError("a bug nobody foresaw\nsecond line")
        return httpx.Response(200, html="<title>fine</title>")

    config = build_settings({"workers": 0, "robots": {"obey": False}})
    sink = MemorySink()
    transport = httpx.MockTransport(handler)
    async with (
        Fetcher(config.fetch, transport=transport) as fetcher,
        ProcessStage(0) as stage,
    ):
        engine = build_engine(config, fetcher=fetcher, stage=stage, sinks=[sink])

        async def seeds():
            for path in ("/explodes", "/fine"):
                yield f"http://127.0.0.1:1{path}"

        stats = await engine.run(seeds())

    records = by_url(sink.records)
    broken = records["http://127.0.0.1:1/explodes"]
    assert broken["error"] == {"code": "internal", "message": "RuntimeError: a bug nobody foresaw"}
    assert records["http://127.0.0.1:1/fine"]["title"] == "fine"
    assert stats.errors["internal"] == 1


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


async def test_a_redirect_to_an_unreachable_host_is_not_called_a_robots_refusal(hostile):
    location = f"http://127.0.0.1:{_closed_port()}/gone".encode()
    hop = hostile.script("/to-unreachable", _redirect_to(location))
    [record], _ = await run_crawl([hop], workers=0, fetch={"retries": 0})

    assert error_code(record) == "connect"
    assert "robots.txt" in record["error"]["message"]


async def test_a_cookie_that_could_never_be_sent_back_does_not_break_its_host(hostile):
    cookie = (b"Set-Cookie", b"session=\xbc\xbd; Path=/")
    setter = hostile.script("/cookie/bad", RawReply(302, (cookie, (b"Location", b"/cookie/next"))))
    hostile.script("/cookie/next", RawReply(200, body=_html("next")))
    later = hostile.script("/cookie/later", RawReply(200, body=_html("later")))
    records, _ = await run_crawl([setter, later], workers=0, fetch={"concurrency": 1})
    records_by_url = by_url(records)

    assert records_by_url[setter]["title"] == "next"
    assert records_by_url[later]["title"] == "later"
