"""Fuzzing: random bytes in a served page's header values and link attributes never end a crawl.

Seeded and reproducible: each case's seed is in its test id (``test_...[seed-3]``) and is
printed; the server is a real one on 127.0.0.1. The crawl runs as a user runs it (the CLI,
a job file) and must end with exit 0 and exactly one valid record per requested URL.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from crawler.urls import request_url
from tests.support.cli import parcrawl
from tests.support.hostile import HostileServer, RawReply

pytestmark = pytest.mark.slow  # end-to-end: real subprocesses and servers, seconds each

SEEDS = range(4)
PAGES_PER_CASE = 30
LINKS_PER_PAGE = 12
CRAWL_TIMEOUT_S = 240

HEADER_NAMES = (
    b"Location",
    b"Retry-After",
    b"Content-Type",
    b"Content-Encoding",
    b"Content-Length",
    b"Set-Cookie",
    b"Link",
    b"Refresh",
    b"Transfer-Encoding",
    b"X-Anything",
)
STATUSES = (200, 200, 200, 200, 301, 302, 303, 307, 308, 404, 429, 500, 503)
NASTY_VALUES = (
    b"\xb2",
    b"\xd9\xa3",
    b"999999999999999999999999",
    b"-1",
    b"Fri, 01 Jan 2100 00:00:00 GMT",
    b"Mon, 99 Foo 99999 99:99:99 GMT",
    b"http://127.0.0.1:99999/",
    b"http://127.0.0.1:abc/",
    b"http://127.0.0.1:0/",
    b"http://[::1/",
    b"data:text/html,x",
    b"javascript:alert(1)",
    b"//127.0.0.1:-1/x",
    b"/landing/a b/\xc3\xbc?q=\xc3\xa4 x",
    b"gzip, br, zstd, deflate, gzip",
    b"text/html; charset=\xff\xfe",
    b"http://user:pw@127.0.0.1:1/",
    b"\x00\x01\x02",
    b"/" + b"a" * 20_000,
)
NASTY_HREFS = (
    "http://127.0.0.1:99999/",
    "http://127.0.0.1:abc/",
    "http://127.0.0.1:-1/",
    "http://127.0.0.1:+80/",
    "http://127.0.0.1:18850:80/",
    "http://[::1/",
    "http://[zz::1]/",
    "//127.0.0.1:0/",
    "http://\u00e9\u00e8.invalid/",
    "http://a b/",
    "http:///nohost",
    "http://127.0.0.1:{port}/%zz%",
    "http://127.0.0.1:{port}/\u2028/\ud800",
    "/a b/\u00fc?q=\u00e4 x#frag",
    "?only=query",
    "../../../../..",
    "http://xn--/",
    "http://127.0.0.1:{port}/" + "x" * 5000,
)


def _random_bytes(rng: random.Random, most: int) -> bytes:
    # No CR/LF: the response must stay one response; any other byte may appear.
    raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, most)))
    return raw.replace(b"\r", b"").replace(b"\n", b"")


def _header_value(rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.4:
        return rng.choice(NASTY_VALUES)
    if choice < 0.6:
        return str(rng.choice([0, 1, 2, 10**6, 10**30])).encode()
    return _random_bytes(rng, 80)


def _href(rng: random.Random, port: int, pages: int) -> str:
    choice = rng.random()
    if choice < 0.3:
        return f"/fuzz/{rng.randrange(pages)}"
    if choice < 0.6:
        return rng.choice(NASTY_HREFS).format(port=port)
    # Random bytes as the page (served as UTF-8 or worse) spells them.
    return _random_bytes(rng, 60).decode("latin-1")


def _attribute(text: str) -> str:
    return text.replace('"', "&quot;")


def _page(rng: random.Random, port: int, pages: int) -> bytes:
    anchors = "".join(
        f'<a href="{_attribute(_href(rng, port, pages))}">x</a>' for _ in range(LINKS_PER_PAGE)
    )
    head = (
        f'<base href="{_attribute(_href(rng, port, pages))}">'
        f'<link rel="canonical" href="{_attribute(_href(rng, port, pages))}">'
        f'<meta name="description" content="{_attribute(_href(rng, port, pages))}">'
    )
    lang = _attribute(_random_bytes(rng, 10).decode("latin-1"))
    html = f'<html lang="{lang}"><head>{head}<title>fuzz</title></head><body>{anchors}</body>'
    return html.encode("utf-8", "surrogatepass")


def _reply(rng: random.Random, port: int, pages: int) -> RawReply:
    headers = tuple(
        (rng.choice(HEADER_NAMES), _header_value(rng)) for _ in range(rng.randint(0, 4))
    )
    content_type = b"text/html; charset=utf-8" if rng.random() < 0.7 else _header_value(rng)
    return RawReply(rng.choice(STATUSES), headers, _page(rng, port, pages), content_type)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed-{seed}")
def test_random_header_values_and_links_never_end_the_crawl(seed: int, tmp_path: Path) -> None:
    print(f"fuzz seed {seed}")  # shown on failure: rerun with -k seed-N
    rng = random.Random(seed)
    with HostileServer() as server:
        seeds = []
        for number in range(PAGES_PER_CASE):
            replies = [_reply(rng, server.port, PAGES_PER_CASE) for _ in range(2)]
            seeds.append(server.script(f"/fuzz/{number}", *replies))
        seed_file, output, job = (
            tmp_path / "seeds.txt",
            tmp_path / "out.jsonl",
            tmp_path / "job.toml",
        )
        seed_file.write_text("\n".join(seeds) + "\n")
        job.write_text(
            f"seeds_file = ['{seed_file}']\nfollow = true\nworkers = 0\n"
            "[scope]\nmax_depth = 1\nmax_pages = 400\n"
            "[fetch]\nretries = 1\nretry_backoff_s = 0.05\nmax_hold_s = 0.3\n"
            "timeout_s = 5.0\nconnect_timeout_s = 2.0\nread_timeout_s = 2.0\n"
            f"[output]\njsonl = '{output}'\n"
        )
        result = parcrawl("run", str(job), "-q", timeout_s=CRAWL_TIMEOUT_S)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[:3000]
    records = [json.loads(line) for line in output.read_text().split("\n") if line]
    counts = Counter(record["url"] for record in records)
    assert not [url for url, count in counts.items() if count > 1]
    assert set(seeds) <= set(counts)
    for record in records:
        error = record["error"]
        assert error is None or error["code"] != "internal", record
        for url in (record["url"], record["final_url"] or record["url"], *(record["links"] or [])):
            assert request_url(url) == url, record
