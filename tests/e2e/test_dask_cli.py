"""``parcrawl --executor tcp://...`` against real ``dask scheduler`` and ``dask worker`` processes.

All on 127.0.0.1; the scheduler is killed mid-crawl to check the clean stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from crawler.demo import SiteServer, SyntheticSite
from tests.support.cli import PARCRAWL, REPO, checkout_env
from tests.support.redis_server import RedisServer, redis_server
from tests.support.routes import RouteServer, page

__all__ = ["redis_server"]  # the fixture, imported for this module's tests

START_TIMEOUT_S = 60.0


def _wait_for(condition, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(0.05)


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the workers import this checkout
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdout=out, stderr=out, env=env
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def _start_scheduler(folder: Path, port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    address_file = folder / "scheduler.json"
    address_file.unlink(missing_ok=True)
    process = _dask(
        "scheduler",
        *("--host", "127.0.0.1", "--port", str(port), "--no-dashboard"),
        *("--scheduler-file", str(address_file)),
        log=folder / "scheduler.log",
    )
    try:
        _wait_for(lambda: "address" in _text(address_file), "the scheduler's start")
    except BaseException:
        _stop(process)
        raise
    return process, json.loads(address_file.read_text())["address"]


def _start_worker(folder: Path, address: str) -> subprocess.Popen[bytes]:
    """A ``dask worker`` with one thread, as the README advises."""
    return _dask(
        "worker",
        address,
        *("--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"),
        log=folder / "worker.log",
    )


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Dask processes a test started, all stopped at its end."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            _stop(process)


@pytest.fixture
def scheduler(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], str]:
    """A ``dask scheduler`` and one ``dask worker`` (one thread) on loopback."""
    process, address = _start_scheduler(tmp_path)
    processes.append(process)
    processes.append(_start_worker(tmp_path, address))
    return process, address


@contextlib.contextmanager
def _crawling(
    folder: Path,
    seeds: list[str],
    output: Path,
    address: str,
    *options: str,
    reconnect_s: float,
) -> Iterator[subprocess.Popen[str]]:
    """``parcrawl run`` of a job file crawling ``seeds`` with its stage on ``address`` (and
    more command-line ``options``); killed at the end of the block if it is still running
    (a test that failed early)."""
    (folder / "urls.txt").write_text("\n".join(seeds) + "\n")
    job = folder / "job.toml"
    job.write_text(
        'seeds_file = "urls.txt"\nbatch_size = 4\n\n'
        f"[fetch]\nconcurrency = 4\n\n[cluster]\nreconnect_s = {reconnect_s}\n"
    )
    command = [*PARCRAWL, "run", str(job), "-o", str(output)]
    crawl = subprocess.Popen(
        [*command, "--executor", address, *options],
        env=checkout_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield crawl
    finally:
        if crawl.poll() is None:
            crawl.kill()
            crawl.wait()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_crawl_on_a_dask_scheduler_stops_cleanly_when_the_scheduler_dies(
    scheduler: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    process, address = scheduler
    site = SyntheticSite(pages=400)
    with SiteServer(site, delay_s=0.05) as server:
        seeds = site.urls(server.base_url)
        output = tmp_path / "out.jsonl"
        with _crawling(tmp_path, seeds, output, address, reconnect_s=2.0) as crawl:
            _wait_for(lambda: len(_lines(output)) >= 20, "20 records written")
            process.send_signal(signal.SIGKILL)
            _, stderr = crawl.communicate(timeout=60)
    assert crawl.returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("parcrawl: error:")]
    assert errors == [
        f"parcrawl: error: lost the Dask scheduler at {address} and it did not come back "
        "within 2 s (cluster.reconnect_s): the crawl stopped"
    ]
    records = [json.loads(line) for line in _lines(output)]  # every line whole
    assert 20 <= len(records) < len(seeds)
    assert f"{len(records)} records written" in stderr
    assert "stopped early: the Dask scheduler was lost" in stderr
    assert f"executor: dask {address}, 1 worker" in stderr


def test_a_lost_scheduler_pauses_fetching_and_the_stopped_crawl_resumes_with_state(
    scheduler: tuple[subprocess.Popen[bytes], str],
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    process, address = scheduler
    paths = [f"/p{n}" for n in range(600)]
    # Fetching (4 at a time, 10 ms a page) outruns the one worker: the queues are full
    # when the scheduler dies, and without a pause they would take hundreds more.
    site = RouteServer({p: page(f"<title>{p}</title>", delay_s=0.01) for p in paths})
    state, output = tmp_path / "crawl.state", tmp_path / "out.jsonl"
    with site:
        seeds = [site.url(p) for p in paths]
        with _crawling(
            tmp_path, seeds, output, address, "--state", str(state), reconnect_s=3.0
        ) as crawl:
            _wait_for(lambda: len(_lines(output)) >= 20, "20 records written")
            process.send_signal(signal.SIGKILL)
            before_loss = len(site.page_requests)
            _, stderr = crawl.communicate(timeout=60)
        after_loss = len(site.page_requests) - before_loss
        assert crawl.returncode == 1, stderr
        assert "Traceback" not in stderr, stderr
        # The fetches in flight at the loss finish; no new one starts while it is waited for.
        assert after_loss <= 8, f"{after_loss} pages fetched after the scheduler was lost"
        summary = next(line for line in stderr.splitlines() if " written (" in line)
        assert summary.startswith("parcrawl: stopped in "), stderr  # not "done in"
        assert "stopped early: the Dask scheduler was lost" in stderr
        assert len(_lines(output)) < len(seeds)
        # What was fetched and not written is not done: the state fetches it again.
        again, address = _start_scheduler(tmp_path)
        processes.extend([again, _start_worker(tmp_path, address)])
        with _crawling(
            tmp_path, seeds, output, address, "--state", str(state), reconnect_s=3.0
        ) as crawl:
            _, stderr = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, stderr
    records = [json.loads(line) for line in _lines(output)]
    assert sorted(record["url"] for record in records) == sorted(seeds)  # none lost, none twice


def test_a_crawl_goes_on_when_its_scheduler_comes_back_within_reconnect_s(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    scheduler, address = _start_scheduler(tmp_path)
    worker = _start_worker(tmp_path, address)
    processes.extend([scheduler, worker])
    port = int(address.rsplit(":", 1)[1])
    site = SyntheticSite(pages=300)
    with SiteServer(site, delay_s=0.05) as server:
        seeds = site.urls(server.base_url)
        output = tmp_path / "out.jsonl"
        with _crawling(tmp_path, seeds, output, address, reconnect_s=60.0) as crawl:
            _wait_for(lambda: len(_lines(output)) >= 20, "20 records written")
            for process in (scheduler, worker):  # the whole cluster goes, then comes back
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
            scheduler, address = _start_scheduler(tmp_path, port)
            processes.extend([scheduler, _start_worker(tmp_path, address)])
            _, stderr = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    # With a batch out when the cluster went, parcrawl notices, waits and says both; with
    # none out, Dask's client rides out the outage itself and there is nothing to say.
    if "lost the Dask scheduler" in stderr:
        assert f"reconnected to the Dask scheduler at {address}" in stderr
    records = [json.loads(line) for line in _lines(output)]
    assert sorted(record["url"] for record in records) == sorted(seeds)  # none lost, none twice


def test_ctrl_c_on_a_local_dask_cluster_finishes_the_pages_in_flight(tmp_path: Path) -> None:
    site = SyntheticSite(pages=400)
    with SiteServer(site, delay_s=0.05) as server:
        urls = tmp_path / "urls.txt"
        seeds = site.urls(server.base_url)
        urls.write_text("\n".join(seeds) + "\n")
        output = tmp_path / "out.jsonl"
        crawl = subprocess.Popen(
            [
                *PARCRAWL,
                "crawl",
                "-i",
                str(urls),
                "-o",
                str(output),
                "--executor",
                "dask",
                "--workers",
                "2",
                "--concurrency",
                "4",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
        )
        try:
            _wait_for(lambda: len(_lines(output)) >= 20, "20 records written")
            os.killpg(crawl.pid, signal.SIGINT)  # the crawler and its local Dask workers
            _, stderr = crawl.communicate(timeout=60)
        finally:
            if crawl.poll() is None:
                os.killpg(crawl.pid, signal.SIGKILL)
                crawl.wait()
    assert crawl.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    records = [json.loads(line) for line in _lines(output)]
    assert 20 <= len(records) < len(seeds)
    assert "interrupted in" in stderr
    assert f"{len(records)} records written (" in stderr
    assert "executor: dask (local), 2 workers" in stderr


def test_fetchers_sharing_a_redis_frontier_parse_on_one_dask_cluster(
    scheduler: tuple[subprocess.Popen[bytes], str], redis_server: RedisServer, tmp_path: Path
) -> None:
    _, address = scheduler
    site = SyntheticSite(pages=60)
    urls = tmp_path / "urls.txt"
    with SiteServer(site) as server:
        expected = sorted(site.urls(server.base_url))
        urls.write_text("\n".join(expected) + "\n")
        result = subprocess.run(
            [
                *PARCRAWL, "crawl", "-i", str(urls),
                "--frontier", redis_server.url, "--crawl-id", "both", "--fetchers", "2",
                "--executor", address, "-o", str(tmp_path / "site.jsonl"),
            ],
            check=False, capture_output=True, text=True, timeout=300, env=checkout_env(),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [
        json.loads(line)
        for name in ("site-1.jsonl", "site-2.jsonl")
        for line in _lines(tmp_path / name)
    ]
    assert sorted(record["url"] for record in records) == expected  # each URL once
    assert all(record["error"] is None for record in records if record["status"] == 200)
    assert "fetcher 1: exit 0" in result.stderr
    assert "fetcher 2: exit 0" in result.stderr
    # The pages were parsed on the cluster's worker, not in local pools.
    with Client(address, timeout=30, set_as_default=False) as client:
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert sum(executed.values()) >= 2, executed  # at least a batch from each fetcher
    pages = [r for r in records if r["status"] == 200 and r["content_type"].startswith("text/html")]
    assert len(pages) == len(site.html_paths())
    assert all(record["title"] for record in pages)
