"""HTTP/2 against a real server (Debian's nginx, TLS with the test's CA): every record says
which protocol answered, and the per-host limit still holds when one connection carries
several requests at once."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tests.support.cli import parcrawl
from tests.support.crawling import run_crawl
from tests.support.nginx import Nginx
from tests.support.routes import Reply, RouteServer
from tests.support.tls import TestCA

pytestmark = pytest.mark.slow

PAGES = 12


class Counting:
    """A backend route that takes a while and counts how many requests it serves at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, path: str) -> Reply:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.15)
        with self._lock:
            self.active -= 1
        links = "".join(f'<a href="/p{i}">{i}</a>' for i in range(PAGES)) if path == "/" else ""
        return Reply(body=f"<title>{path}</title>{links}".encode())


@pytest.fixture
def site(tmp_path, monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    ca = TestCA(tmp_path)
    counting = Counting()
    backend = RouteServer({"/": counting, **{f"/p{i}": counting for i in range(PAGES)}})
    with backend, Nginx(tmp_path, ca.issue("h2"), backend.base_url) as front:
        yield front, counting, str(ca.pem)


@pytest.mark.parametrize("per_host", [2, 4])
async def test_http2_records_say_so_and_the_per_host_limit_holds(site, per_host):
    front, counting, ca_pem = site
    records, _ = await run_crawl(
        [front.url("/")],
        workers=0,
        follow=True,
        robots={"obey": False},
        fetch={"http2": True, "ca_bundle": ca_pem, "per_host": per_host, "concurrency": 16},
    )
    assert len(records) == PAGES + 1
    assert {record["http_version"] for record in records} == {"HTTP/2"}
    served = front.log()
    assert {protocol for protocol, *_ in served} == {"HTTP/2.0"}
    assert len({connection for _, _, connection, _ in served}) == 1  # one connection for all
    assert counting.peak == per_host  # never more at once, and the limit is what binds


async def test_without_http2_the_same_server_answers_http_1_1(site):
    front, _, ca_pem = site
    records, _ = await run_crawl(
        [front.url("/p1")], workers=0, robots={"obey": False}, fetch={"ca_bundle": ca_pem}
    )
    assert records[0]["http_version"] == "HTTP/1.1"
    assert records[0]["status"] == 200


def test_http2_without_the_h2_package_is_one_line_and_exit_2(tmp_path):
    # A folder on the path with an `h2` that cannot be imported stands for a missing one.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nsys.modules['h2'] = None  # as if not installed\n"
    )
    job = tmp_path / "job.toml"
    job.write_text("seeds = ['https://127.0.0.1:9/']\n[fetch]\nhttp2 = true\n")
    pythonpath = os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")]))
    result = parcrawl("check", str(job), env={**os.environ, "PYTHONPATH": pythonpath})
    assert result.returncode == 2
    assert result.stderr == (
        f"parcrawl: error: {job}: fetch.http2: HTTP/2 needs the h2 package: "
        "pip install 'parcrawl[http2]'\n"
    )
