"""Crawls through a real forward proxy (Debian's tinyproxy on 127.0.0.1): the ``proxy``
setting, the environment's ``HTTP_PROXY`` and ``NO_PROXY``, an authenticating proxy whose
password shows nowhere, and the address guard holding through the proxy."""

from __future__ import annotations

import gzip
import json
import os
import socket

import pytest

from crawler.fetch import Fetcher
from crawler.models import FetchRequest
from crawler.settings import FetchSettings
from tests.support.cli import parcrawl
from tests.support.crawling import run_crawl
from tests.support.daemons import free_port
from tests.support.proxy import TinyProxy
from tests.support.routes import RouteServer, page

pytestmark = pytest.mark.slow

SITE = {
    "/": page('<title>home</title><a href="/a">a</a> <a href="/b">b</a>'),
    "/a": page("<title>A</title>"),
    "/b": page("<title>B</title>"),
}
SECRET = "s3cr3t-Pr0xy-pw"


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _through(proxy: TinyProxy, site: RouteServer, *paths: str) -> set[str]:
    return {f"GET {site.url(path)}" for path in paths}


async def test_a_crawl_through_the_proxy_setting_sends_every_request_through_it(
    tmp_path, monkeypatch
):
    _clean_env(monkeypatch)
    with RouteServer(SITE) as site, TinyProxy(tmp_path) as proxy:
        records, _ = await run_crawl(
            [site.url("/")], workers=0, follow=True, fetch={"proxy": proxy.url}
        )
        seen = proxy.requests()
    assert sorted(record["title"] for record in records) == ["A", "B", "home"]
    assert {record["status"] for record in records} == {200}
    # robots.txt too: it is fetched per target host, through the same proxy
    assert set(seen) == _through(proxy, site, "/", "/a", "/b", "/robots.txt")
    assert len(seen) == 4


async def test_http_proxy_from_the_environment_is_honoured_unless_env_proxy_is_off(
    tmp_path, monkeypatch
):
    _clean_env(monkeypatch)
    with RouteServer(SITE) as site, TinyProxy(tmp_path) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{proxy.port}")  # no scheme: http, as curl
        records, _ = await run_crawl([site.url("/")], workers=0, follow=True)
        through_env = proxy.requests()
        ignored, _ = await run_crawl([site.url("/a")], workers=0, fetch={"env_proxy": False})
        after = proxy.requests()
    assert len(records) == 3
    assert set(through_env) == _through(proxy, site, "/", "/a", "/b", "/robots.txt")
    assert ignored[0]["title"] == "A"
    assert after == through_env  # env_proxy = false: straight to the site


async def test_no_proxy_hosts_bypass_the_proxy(tmp_path, monkeypatch):
    _clean_env(monkeypatch)
    with (
        RouteServer(SITE) as one,
        RouteServer(SITE, host="127.0.0.2") as two,
        TinyProxy(tmp_path) as proxy,
    ):
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost, 127.0.0.2")
        records, _ = await run_crawl([one.url("/a"), two.url("/b")], workers=0)
        seen = proxy.requests()
    assert sorted(record["title"] for record in records) == ["A", "B"]
    assert set(seen) == _through(proxy, one, "/a", "/robots.txt")
    assert two.page_requests == ["/b"]


def test_an_authenticating_proxy_gets_its_credentials_and_no_output_shows_them(tmp_path):
    with RouteServer(SITE) as site, TinyProxy(tmp_path, auth=("crawler", SECRET)) as proxy:
        job = tmp_path / "job.toml"
        job.write_text(
            f"seeds = ['{site.url('/')}']\nfollow = true\nstate = 'crawl.state'\n"
            f"[fetch]\nproxy = '{proxy.url}'\n"
            "[output]\njsonl = 'pages.jsonl'\nwarc = 'crawl.warc.gz'\n"
        )
        run = parcrawl("run", str(job), "-v", "-w", "0", env=_no_proxy_env())
        check = parcrawl("check", str(job), env=_no_proxy_env())
        seen = proxy.requests()
        bare = job.read_text().replace(f"crawler:{SECRET}@", "")
        (tmp_path / "bare.toml").write_text(bare.replace("crawl.state", "bare.state"))
        refused = parcrawl("run", str(tmp_path / "bare.toml"), "-o", "-", env=_no_proxy_env())
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in (tmp_path / "pages.jsonl").read_text().splitlines()]
    assert sorted(record["title"] for record in records) == ["A", "B", "home"]
    assert set(seen) >= _through(proxy, site, "/", "/a", "/b", "/robots.txt")
    assert f"proxy = 'http://crawler:***@127.0.0.1:{proxy.port}'" in check.stdout.replace('"', "'")
    shown = [run.stdout, run.stderr, check.stdout, check.stderr, refused.stdout, refused.stderr]
    mine = {"job.toml", "tinyproxy.conf"}  # the test's own files: they hold the password
    files = [path.read_bytes() for path in tmp_path.iterdir() if path.name not in mine]
    files.append(gzip.decompress((tmp_path / "crawl.warc.gz").read_bytes()))
    assert all(SECRET not in text for text in shown)
    assert all(SECRET.encode() not in data for data in files)
    # without its credentials the proxy answers 407, and the record says so
    record = json.loads(refused.stdout.splitlines()[0])
    assert record["status"] == 407
    assert record["error"]["code"] == "http_4xx"


async def test_the_guard_refuses_a_private_target_through_the_proxy_when_seeds_are_public(
    tmp_path, monkeypatch
):
    _clean_env(monkeypatch)
    name = socket.gethostname()  # a name, not an IP literal, resolving to this machine
    resolved = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    assert resolved, f"{name} must resolve for this test"
    with RouteServer(SITE) as site, TinyProxy(tmp_path) as proxy:
        target = site.url("/a").replace("127.0.0.1", name)
        async with Fetcher(FetchSettings(proxy=proxy.url)) as fetcher:
            fetcher.address_guard.note_seed("https://example.org/")  # a public crawl
            result = await fetcher.fetch(FetchRequest(target))
        seen = proxy.requests()
    assert result.failure is not None
    assert result.failure.code == "private_address"
    assert name in result.failure.message
    assert seen == []  # never handed to the proxy
    assert site.page_requests == []


async def test_a_proxy_that_is_down_is_named_in_the_error(monkeypatch):
    _clean_env(monkeypatch)
    port = free_port()
    settings = FetchSettings(proxy=f"http://user:{SECRET}@127.0.0.1:{port}", retries=0)
    async with Fetcher(settings) as fetcher:
        fetcher.address_guard.note_seed("http://127.0.0.1:9/")
        result = await fetcher.fetch(FetchRequest("http://127.0.0.1:9/"))
    assert result.failure is not None
    assert result.failure.code == "connect"
    assert result.failure.message.startswith(f"proxy http://127.0.0.1:{port}: ")
    assert SECRET not in result.failure.message


def _no_proxy_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
