"""A crawl end to end against hostile and broken servers: every URL ends as exactly one record.

Servers run on 127.0.0.1 (``tests/support/hostile.py``, ``tests/support/routes.py``); the
private-address redirect is mocked with respx, so nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import respx

from crawler.fetcher import Fetcher
from crawler.settings import FetchSettings
from tests.support.crawling import run_crawl
from tests.support.hostile import (
    BOMB_DECODED_BYTES,
    ENCODED_PAGES,
    FRENCH_TEXT,
    JAPANESE_TEXT,
    KOREAN_TEXT,
    HostileServer,
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
    command = [sys.executable, "cli.py", *args]
    kernel_peak = Path(args[args.index("-o") + 1]).with_suffix(".maxrss")
    if TIME_BIN.exists():
        command = [str(TIME_BIN), "-f", "%M", "-o", str(kernel_peak), *command]
    process = psutil.Popen(command, cwd=REPO_ROOT)
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
        [sys.executable, "cli.py", "crawl", *urls, "-o", str(out), "-w", "2", "-q"],
        cwd=REPO_ROOT,
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
