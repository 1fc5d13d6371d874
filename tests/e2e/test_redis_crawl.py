"""Several ``parcrawl`` processes on one crawl through a real Redis, as a site sees them:
the union of their outputs, requests per URL and per-host concurrency measured at the
server, Crawl-delay gaps, a process killed with SIGKILL, Redis stopped mid-crawl, bad input."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crawler.demo import SyntheticSite
from tests.support.cli import PARCRAWL, checkout_env, parcrawl, started_parcrawl
from tests.support.redis_server import RedisServer, redis_server, running_redis
from tests.support.routes import Reply, Route, RouteServer, page

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

DEADLINE_S = 100.0
"""Upper bound for a crawl or a condition a test waits for (generous for a busy machine)."""

SLACK_S = 0.05
"""What a start may seem early by at the server (see test_politeness_live)."""


class Site:
    """A loopback site of ``pages`` linked pages, each answered after ``delay_s``, that
    counts the requests in flight at once (the peak is what ``--per-host`` must bound)."""

    def __init__(self, pages: int, *, delay_s: float, robots: str = "") -> None:
        self.paths = ["/", *(f"/p{n}" for n in range(pages))]
        self._delay_s = delay_s
        self._lock = threading.Lock()
        self._active = 0
        self.peak = 0
        routes = {path: self._route(index) for index, path in enumerate(self.paths)}
        routes["/robots.txt"] = page(robots, content_type="text/plain")
        self.server = RouteServer(routes)

    def _route(self, index: int) -> Route:
        # Each page links to the next three: the crawl fans out, every page reachable.
        targets = self.paths[index + 1 : index + 4]
        body = "".join(f'<a href="{path}">{path}</a>' for path in targets)
        reply = Reply(body=f"<title>{index}</title>{body}".encode())

        def route(_path: str) -> Reply:
            with self._lock:
                self._active += 1
                self.peak = max(self.peak, self._active)
            time.sleep(self._delay_s)
            with self._lock:
                self._active -= 1
            return reply

        return route

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    def urls(self) -> set[str]:
        return {self.url(path) for path in self.paths}

    def fetch_counts(self) -> Counter[str]:
        return Counter(self.url(path) for path in self.server.requests)


@contextmanager
def serving(site: Site) -> Iterator[Site]:
    with site.server:
        yield site


def start(*args: str, output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PARCRAWL, *args, "-o", str(output), "-w", "0", "-q"],
        env=checkout_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for ``process``; returns its stderr, asserting it ended well."""
    _, stderr = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, stderr
    return stderr


def read_urls(path: Path) -> list[str]:
    """The URLs of a JSON Lines output; a partial last line fails the test."""
    text = path.read_text() if path.exists() else ""
    assert text == "" or text.endswith("\n"), f"{path.name}: the last line is partial"
    return [json.loads(line)["url"] for line in text.splitlines()]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` is still running."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def crawl_exists(redis: RedisServer, crawl_id: str) -> bool:
    return parcrawl("status", "--frontier", redis.url, "--crawl-id", crawl_id).returncode == 0


def three_processes(site: Site, redis: RedisServer, tmp_path: Path, *extra: str) -> list[Path]:
    """A crawl started by one process and joined (without seeds) by two more; their outputs."""
    common = ["--follow", "--frontier", redis.url, "--crawl-id", "site", *extra]
    outputs = [tmp_path / f"out-{n}.jsonl" for n in range(3)]
    first = start("crawl", site.url(), *common, output=outputs[0])
    wait_for(lambda: crawl_exists(redis, "site"), "the first process starts the crawl")
    others = [start("crawl", *common, output=path) for path in outputs[1:]]
    for process in (first, *others):
        finish(process)
    return outputs


def test_three_processes_crawl_the_site_once_within_the_per_host_limit(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    # One fetch task each: three processes could make three requests at once, the limit
    # allows two; a peak of two shows both that the processes shared the work and the limit.
    with serving(Site(40, delay_s=0.1)) as site:
        outputs = three_processes(site, redis_server, tmp_path, "--per-host", "2", "-c", "1")
    per_output = [read_urls(path) for path in outputs]
    union = [url for urls in per_output for url in urls]
    assert sorted(union) == sorted(site.urls())  # the site exactly, one record per URL
    assert set(site.fetch_counts().values()) == {1}  # each URL fetched once, robots.txt too
    assert site.peak <= 2  # --per-host, for the whole crawl, measured at the server
    assert site.peak == 2  # and the limit was reached: the processes did share the work
    assert sum(1 for urls in per_output if urls) >= 2


def test_crawl_delay_gaps_hold_across_processes(redis_server: RedisServer, tmp_path: Path) -> None:
    robots = "User-agent: *\nCrawl-delay: 0.3\n"
    with serving(Site(8, delay_s=0.0, robots=robots)) as site:
        outputs = three_processes(site, redis_server, tmp_path)
        # Pages only: robots.txt is the first request on a new connection, which the server
        # stamps late on a machine busy starting the other processes (90 ms was seen).
        pages = site.server.request_times
        times = sorted(moment for moment, path in pages if path != "/robots.txt")
    assert sorted(url for path in outputs for url in read_urls(path)) == sorted(site.urls())
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 8
    assert min(gaps) >= 0.3 - SLACK_S


def test_a_killed_process_loses_nothing(tmp_path: Path) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    job = tmp_path / "job.toml"
    with running_redis(redis_dir) as redis, serving(Site(40, delay_s=0.15)) as site:
        job.write_text(
            f'seeds = ["{site.url()}"]\nfollow = true\nworkers = 0\n'
            "[fetch]\nper_host = 3\nconcurrency = 4\n"
            f'[cluster]\nfrontier = "{redis.url}"\ncrawl_id = "kill"\nlease_s = 2.0\n'
        )
        outputs = [tmp_path / f"out-{n}.jsonl" for n in range(3)]
        victim = subprocess.Popen(
            [*PARCRAWL, "run", str(job), "-q", "-o", str(outputs[0])],
            env=checkout_env(),
            stderr=subprocess.DEVNULL,
        )
        # Mid-crawl: it has written records and holds leases. The others then take over
        # (started after the kill, so the victim is sure to have had work on a busy machine).
        wait_for(lambda: len(read_urls(outputs[0])) >= 3, "the victim writes records")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=DEADLINE_S)
        # What the victim asked the server for, up to its death (counted after the kill: it
        # may still request URLs between a count and the signal).
        before_kill = set(site.fetch_counts())
        assert len(before_kill) < len(site.paths)  # it died mid-crawl
        survivors = [start("run", str(job), output=path) for path in outputs[1:]]
        for process in survivors:
            finish(process)
        status = parcrawl("status", "--frontier", redis.url, "--crawl-id", "kill")
        counts = site.fetch_counts()
    records = Counter(url for path in outputs for url in read_urls(path))
    assert set(records) == site.urls()  # every URL at least once
    refetched = {url for url, times in counts.items() if times > 1}
    # Only what the victim held when it died was fetched again: URLs it had asked for,
    # at most one per fetch slot (concurrency 4). A URL has two records only if the
    # victim wrote its record and died before marking it done.
    assert refetched <= before_kill
    assert len(refetched) <= 4
    assert {url for url, times in records.items() if times > 1} <= refetched
    requeued = int(status.stdout.split("requeued ")[1].split(",")[0])
    assert requeued >= len(refetched)


def test_redis_stopped_mid_crawl_loses_nothing(tmp_path: Path) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    with running_redis(redis_dir, appendonly=True) as redis, serving(Site(30, delay_s=0.1)) as site:
        outputs = [tmp_path / f"out-{n}.jsonl" for n in range(2)]
        common = ["--follow", "--frontier", redis.url, "--crawl-id", "outage", "--per-host", "2"]
        processes = [start("crawl", site.url(), *common, output=path) for path in outputs]
        wait_for(lambda: sum(len(read_urls(p)) for p in outputs) >= 5, "records are written")
        redis.stop()  # an operator restarts Redis: a few seconds without it
        time.sleep(2.0)
        redis.start()
        logs = [finish(process) for process in processes]
    union = [url for path in outputs for url in read_urls(path)]
    assert set(union) == site.urls()
    assert any("lost" in log and "is back" in log for log in logs)


def test_bad_redis_urls_and_passwords_are_one_line_errors(tmp_path: Path) -> None:
    with running_redis(tmp_path, password="s3cret-pw") as redis:
        seed = "http://127.0.0.1:9/"
        unreachable = f"redis://:s3cret-pw@127.0.0.1:{RedisServer(tmp_path).port}/0"
        wrong = f"redis://:wrong-pw@127.0.0.1:{redis.port}/0"
        runs = {
            "unreachable": parcrawl("crawl", seed, "--frontier", unreachable, "--crawl-id", "x"),
            "not redis": parcrawl("crawl", seed, "--frontier", "http://h/", "--crawl-id", "x"),
            "password": parcrawl("crawl", seed, "--frontier", wrong, "--crawl-id", "x"),
            "crawl id": parcrawl("crawl", seed, "--frontier", redis.url, "--crawl-id", "a/b"),
            "status": parcrawl("status", "--frontier", redis.url, "--crawl-id", "never"),
        }
    expected = {
        "unreachable": (1, "is unreachable"),
        "not redis": (2, "not a Redis URL"),
        "password": (1, "refused us"),
        "crawl id": (2, "crawl id"),
        "status": (2, "no crawl 'never'"),
    }
    for name, result in runs.items():
        code, words = expected[name]
        assert result.returncode == code, (name, result.stderr)
        assert words in result.stderr, (name, result.stderr)
        assert result.stderr.count("\n") == 1, (name, result.stderr)  # one line, no traceback
        assert "s3cret-pw" not in result.stderr
        assert "wrong-pw" not in result.stderr


def test_joining_with_another_scope_is_refused(redis_server: RedisServer, tmp_path: Path) -> None:
    with serving(Site(3, delay_s=0.0)) as site:
        common = ["--follow", "--frontier", redis_server.url, "--crawl-id", "scoped"]
        first = parcrawl("crawl", site.url(), *common, "-o", str(tmp_path / "a.jsonl"), "-q")
        other = parcrawl("crawl", *common, "--exclude", "/p1", "-o", str(tmp_path / "b.jsonl"))
    assert first.returncode == 0, first.stderr
    assert other.returncode == 2
    assert "other settings (scope.exclude)" in other.stderr


def test_fetchers_run_several_processes_on_one_crawl(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with serving(Site(30, delay_s=0.05)) as site:
        out, report = tmp_path / "site.jsonl", tmp_path / "site-report.html"
        result = parcrawl(
            "crawl", site.url(), "--follow", "--frontier", redis_server.url,
            "--crawl-id", "many", "--fetchers", "2", "-w", "0", "-c", "2", "-o", str(out),
            "--report", str(report),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outputs = [tmp_path / "site-1.jsonl", tmp_path / "site-2.jsonl"]
    records = [url for path in outputs for url in read_urls(path)]
    assert sorted(records) == sorted(site.urls())
    assert "fetcher 2: exit 0" in result.stderr
    assert "31 records written (31 ok, 0 errors)" in result.stderr  # all fetchers together
    # One report of both fetchers' records, written once by the parent.
    assert f"report written to {report}" in result.stderr
    html = report.read_text()
    assert f"31 records from {outputs[0]}, {outputs[1]};" in html
    # and what records do not say, from the fetchers' stats together: the autothrottle
    assert "Requests in flight the autothrottle allowed each host" in html


def test_demo_runs_as_many_fetchers_as_asked(redis_server: RedisServer, tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    result = parcrawl(
        "demo", "--pages", "30", "--fetchers", "2", "--frontier", redis_server.url,
        "--crawl-id", "demo", "-w", "0", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outputs = [tmp_path / "demo-1.jsonl", tmp_path / "demo-2.jsonl"]
    records = [url for path in outputs for url in read_urls(path)]
    site = SyntheticSite(pages=30)
    assert len(records) == len(set(records)) == len(site.all_paths())
    assert "fetcher 1: exit 0" in result.stderr
    assert "fetcher 2: exit 0" in result.stderr
    assert f"report written to {tmp_path / 'demo-report.html'}" in result.stderr


def test_ctrl_c_hands_leases_back_and_a_rerun_finishes_the_crawl(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    first_out, rest_out = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    with serving(Site(30, delay_s=0.1)) as site:
        common = ["--follow", "--frontier", redis_server.url, "--crawl-id", "again"]
        first = start("crawl", site.url(), *common, output=first_out)
        wait_for(lambda: len(read_urls(first_out)) >= 3, "the first run writes records")
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=DEADLINE_S)
        assert first.returncode == 130
        status = parcrawl("status", "--frontier", redis_server.url, "--crawl-id", "again")
        assert ", leased 0," in status.stdout  # nothing waits for a lease to expire
        rerun = start("crawl", site.url(), *common, output=rest_out)
        finish(rerun)
    records = read_urls(first_out) + read_urls(rest_out)
    assert sorted(records) == sorted(site.urls())
    assert set(site.fetch_counts().values()) == {1}


def test_sigint_to_the_parent_alone_stops_every_fetcher_cleanly(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    out = tmp_path / "site.jsonl"
    outputs = [tmp_path / "site-1.jsonl", tmp_path / "site-2.jsonl"]
    with serving(Site(60, delay_s=0.2)) as site:
        parent = started_parcrawl(
            "crawl", site.url(), "--follow", "--frontier", redis_server.url,
            "--crawl-id", "stopped", "--fetchers", "2", "-w", "0", "-q", "-o", str(out),
            stdout=subprocess.DEVNULL, start_new_session=True,  # to see every process end
        )  # fmt: skip
        wait_for(lambda: sum(len(read_urls(path)) for path in outputs) >= 4, "records written")
        # As `kill -INT PID` from another shell or a supervisor: the fetchers get nothing.
        os.kill(parent.pid, signal.SIGINT)
        _, stderr = parent.communicate(timeout=DEADLINE_S)
        wait_for(lambda: not group_alive(parent.pid), "every fetcher ends")
        fetched = set(site.fetch_counts())
    assert parent.returncode == 130, stderr
    records = [url for path in outputs for url in read_urls(path)]  # whole JSON lines only
    assert len(records) == len(set(records)) < len(site.paths)  # stopped mid-crawl
    assert set(records) == fetched - {site.url("/robots.txt")}  # pages in flight written


def test_status_counts_the_links_every_process_skipped(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    offsite = "".join(f'<a href="http://elsewhere.example/{n}">x</a>' for n in range(5))
    routes = {"/": page(f'<a href="/a">a</a>{offsite}'), "/a": page(offsite + '<a href="/">')}
    with RouteServer(routes) as server:
        crawl = parcrawl(
            "crawl", server.url("/"), "--follow", "--frontier", redis_server.url,
            "--crawl-id", "skips", "-w", "0", "-o", str(tmp_path / "out.jsonl"),
        )  # fmt: skip
    assert crawl.returncode == 0, crawl.stderr
    assert "parcrawl: skipped: offsite 10\n" in crawl.stderr
    status = parcrawl("status", "--frontier", redis_server.url, "--crawl-id", "skips")
    assert ", skipped 10, " in status.stdout
    assert "skipped: offsite 10\n" in status.stdout


def test_fetchers_log_every_failed_fetch_with_v(redis_server: RedisServer, tmp_path: Path) -> None:
    with RouteServer({"/a": page("<title>a</title>")}) as server:
        result = parcrawl(
            "crawl", server.url("/a"), server.url("/missing"), "--frontier", redis_server.url,
            "--crawl-id", "loud", "--fetchers", "2", "-w", "0", "-v",
            "-o", str(tmp_path / "out.jsonl"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    failed = re.findall(r"parcrawl\[[12]\]: INFO: fetch failed (\S+)", result.stderr)
    assert failed == [server.url("/missing") + ":"], result.stderr
