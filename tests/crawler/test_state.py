"""Crash-safe state: kill -9 at random moments, Ctrl-C, resume; bad, locked, foreign files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.demo_server import SiteServer
from crawler.demo_site import SyntheticSite
from crawler.frontier import Frontier
from crawler.frontier_store import SqliteFrontierStore
from crawler.models import FetchRequest

REPO = Path(__file__).resolve().parents[2]
PAGES = 300


@pytest.fixture(scope="module")
def slow_site():
    # A little latency per page, so that a crawl takes long enough to be killed mid-way.
    with SiteServer(SyntheticSite(pages=PAGES, seed=11), delay_s=0.03) as server:
        yield server


def command(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "cli.py"), *args]


def crawl_args(base: str, out: Path, state: Path | None) -> list[str]:
    args = ["crawl", base + "/", "--follow", "-o", str(out), "-q", "-w", "2", "-c", "4"]
    if state is not None:
        args += ["--state", str(state)]
    return command(*args)


def urls_in(path: Path) -> Counter[str]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a partial last line"
    return Counter(json.loads(line)["url"] for line in text.splitlines())


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_output(slow_site, tmp_path):
    reference = tmp_path / "reference.jsonl"
    result = run(crawl_args(slow_site.base_url, reference, None))
    assert result.returncode == 0, result.stderr
    expected = urls_in(reference)
    assert len(expected) > PAGES

    out, state = tmp_path / "resumed.jsonl", tmp_path / "site.crawl"
    rng = random.Random(2026)
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(
            crawl_args(slow_site.base_url, out, state),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.8, 2.0))
        if process.poll() is None:
            process.kill()  # SIGKILL: no cleanup of any kind
            kills += 1
        process.wait(timeout=30)
    assert kills >= 2, "the crawl finished before it could be killed: make the site slower"
    final = run(crawl_args(slow_site.base_url, out, state))
    assert final.returncode == 0, final.stderr

    got = urls_in(out)
    assert max(got.values()) == 1, "a URL was written twice"
    assert set(got) == set(expected)


def test_ctrl_c_then_resume_finishes_the_crawl(slow_site, tmp_path):
    out, state = tmp_path / "out.jsonl", tmp_path / "site.crawl"
    process = subprocess.Popen(
        crawl_args(slow_site.base_url, out, state), stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    partial = urls_in(out)
    assert len(partial) > 0

    status = run(command("status", str(state)))
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("queued ")

    final = run(crawl_args(slow_site.base_url, out, state))
    assert final.returncode == 0, final.stderr
    got = urls_in(out)
    assert max(got.values()) == 1
    assert len(got) > len(partial)
    done = run(command("status", str(state))).stdout
    assert done.startswith("queued 0, in flight 0,")


def test_a_torn_last_line_is_repaired_on_resume(slow_site, tmp_path):
    out, state = tmp_path / "out.jsonl", tmp_path / "site.crawl"
    first = run([*crawl_args(slow_site.base_url, out, state), "--max-pages", "20"])
    assert first.returncode == 0, first.stderr
    with out.open("ab") as handle:
        handle.write(b'{"url": "http://half-writ')  # what a crash mid-write leaves
    final = run(crawl_args(slow_site.base_url, out, state))
    assert final.returncode == 0, final.stderr
    assert max(urls_in(out).values()) == 1


def test_a_corrupt_state_file_is_refused_and_left_untouched(tmp_path):
    state = tmp_path / "broken.crawl"
    state.write_bytes(b"this is not a database" * 100)
    before = state.read_bytes()
    result = run(command("crawl", "http://127.0.0.1:9/", "--state", str(state), "-q"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("parcrawl: error:")
    assert "not a parcrawl state file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert state.read_bytes() == before


def test_a_state_file_of_another_version_is_refused(tmp_path):
    state = tmp_path / "future.crawl"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('version', '99')")
    result = run(command("crawl", "http://127.0.0.1:9/", "--state", str(state), "-q"))
    assert result.returncode == 2
    assert "version 99" in result.stderr


def test_a_second_crawl_on_the_same_state_file_refuses(slow_site, tmp_path):
    state = tmp_path / "busy.crawl"
    first = subprocess.Popen(
        crawl_args(slow_site.base_url, tmp_path / "a.jsonl", state),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        second = run(crawl_args(slow_site.base_url, tmp_path / "b.jsonl", state))
        assert second.returncode == 2
        assert "in use by another parcrawl" in second.stderr
    finally:
        first.kill()
        first.wait(timeout=30)
    assert not (tmp_path / "b.jsonl").exists()


def test_status_of_a_missing_file_is_one_line(tmp_path):
    result = run(command("status", str(tmp_path / "none.crawl")))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"parcrawl: error: state file not found: {tmp_path / 'none.crawl'}"
    )


async def test_a_pending_retry_keeps_its_attempt_and_its_time_across_a_restart(tmp_path):
    path = tmp_path / "retry.crawl"
    store = SqliteFrontierStore(path, durable=True)
    frontier = Frontier(per_host=1, store=store)
    frontier.add(FetchRequest("http://a.test/busy"))
    request = await frontier.get()
    assert request is not None
    frontier.release(request)
    frontier.retry(request, delay_s=30)
    store.commit()
    store.close()  # the process dies here, the retry still waiting

    reopened = SqliteFrontierStore(path, durable=True)
    restarted = Frontier(per_host=1, store=reopened)
    restarted.close_input()
    with pytest.raises(TimeoutError):  # not before its time, even after the restart
        await asyncio.wait_for(restarted.get(), 0.3)
    reopened.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        attempt, not_before = db.execute("SELECT attempt, not_before FROM queue").fetchone()
    assert attempt == 2
    assert not_before > time.time() + 25
