"""Crash-safe state: kill -9 at random moments, Ctrl-C, resume; bad, locked, foreign files."""

from __future__ import annotations

import csv
import json
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.demo import SiteServer, SyntheticSite
from tests.support.cli import PARCRAWL, checkout_env

pytestmark = pytest.mark.slow  # end-to-end: real subprocesses and servers, seconds each

PAGES = 300
CSV_COLUMNS = ["url", "status", "title", "depth"]
POLL_S = 0.01
DEADLINE_S = 120.0


@pytest.fixture(scope="module")
def slow_site():
    # A little latency per page, so that a crawl takes long enough to be killed mid-way.
    with SiteServer(SyntheticSite(pages=PAGES, seed=11), delay_s=0.03) as server:
        yield server


def command(*args: str) -> list[str]:
    return [*PARCRAWL, *args]


def crawl_args(base: str, out: Path, state: Path | None) -> list[str]:
    args = ["crawl", base + "/", "--follow", "-o", str(out), "-q", "-w", "2", "-c", "4"]
    if state is not None:
        args += ["--state", str(state)]
    return command(*args)


def job_args(
    base: str, job: Path, *, jsonl: Path | None, csv_path: Path | None, state: Path | None
) -> list[str]:
    """``parcrawl run`` of a site crawl to JSON Lines and/or CSV; titles span lines in CSV."""
    lines = [f'seeds = ["{base}/"]', "follow = true"]
    lines += ["[[steps]]", 'use = "tests.support.user_steps:multiline_title"']
    if csv_path is not None:
        lines += ["[output.csv]", f"path = '{csv_path}'", f"columns = {json.dumps(CSV_COLUMNS)}"]
    job.write_text("\n".join(lines) + "\n")
    args = ["run", str(job), "-q", "-w", "2", "-c", "4"]
    if jsonl is not None:
        args += ["-o", str(jsonl)]
    if state is not None:
        args += ["--state", str(state)]
    return command(*args)


def urls_in(path: Path) -> Counter[str]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a partial last line"
    return Counter(json.loads(line)["url"] for line in text.splitlines())


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=checkout_env(), capture_output=True, text=True, timeout=180, check=False
    )


def size_of(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def lock_of(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail the test if it never does."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(POLL_S)


def start_then_kill(args: list[str], watched: Path, grow_by: int, rng: random.Random) -> None:
    """Start a crawl, let ``watched`` grow by ``grow_by`` bytes, then ``kill -9`` it.

    A seeded jitter after that moves the kill anywhere in the crawl's cycle (a fetch, a
    write, a checkpoint), not just after a write.
    """
    target = size_of(watched) + grow_by
    process = subprocess.Popen(
        args, env=checkout_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: size_of(watched) >= target or process.poll() is not None,
            f"{watched.name} to grow to {target} bytes",
        )
        time.sleep(rng.uniform(0, 0.1))
        assert process.poll() is None, "the crawl finished before it was killed: slow the site"
        process.kill()  # SIGKILL: no cleanup of any kind
    finally:
        process.kill()
        process.wait(timeout=30)


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_output(slow_site, tmp_path):
    reference = tmp_path / "reference.jsonl"
    result = run(crawl_args(slow_site.base_url, reference, None))
    assert result.returncode == 0, result.stderr
    expected = urls_in(reference)
    assert len(expected) > PAGES
    full_size = reference.stat().st_size

    out, state = tmp_path / "resumed.jsonl", tmp_path / "site.crawl"
    rng = random.Random(2026)
    for _ in range(3):
        grow_by = int(full_size * rng.uniform(0.08, 0.2))
        start_then_kill(crawl_args(slow_site.base_url, out, state), out, grow_by, rng)
        assert lock_of(state).exists(), "a kill -9 leaves its lock file behind"
    final = run(crawl_args(slow_site.base_url, out, state))
    assert final.returncode == 0, final.stderr  # the stale lock was taken over

    got = urls_in(out)
    assert max(got.values()) == 1, "a URL was written twice"
    assert set(got) == set(expected)
    assert not lock_of(state).exists()


@dataclass(frozen=True)
class Reference:
    """What an uninterrupted crawl writes: its URLs (JSON Lines), CSV rows and CSV size."""

    urls: Counter[str]
    rows: dict[str, dict[str, str]]
    size: int


@pytest.fixture(scope="module")
def reference(slow_site, tmp_path_factory) -> Reference:
    folder = tmp_path_factory.mktemp("reference")
    jsonl, table = folder / "reference.jsonl", folder / "reference.csv"
    args = job_args(
        slow_site.base_url, folder / "job.toml", jsonl=jsonl, csv_path=table, state=None
    )
    result = run(args)
    assert result.returncode == 0, result.stderr
    rows = csv_rows(table)
    assert any("\n" in row["title"] for row in rows), "no CSV cell spans lines"
    return Reference(urls_in(jsonl), {row["url"]: row for row in rows}, size_of(table))


@pytest.mark.parametrize("with_jsonl", [False, True], ids=["csv", "csv+jsonl"])
def test_csv_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_rows(
    slow_site, reference, tmp_path, with_jsonl
):
    jsonl = tmp_path / "out.jsonl" if with_jsonl else None
    table, state = tmp_path / "out.csv", tmp_path / "site.crawl"
    args = job_args(
        slow_site.base_url, tmp_path / "job.toml", jsonl=jsonl, csv_path=table, state=state
    )
    rng = random.Random(17 + with_jsonl)
    for _ in range(3):
        grow_by = int(reference.size * rng.uniform(0.08, 0.2))
        start_then_kill(args, table, grow_by, rng)
        assert lock_of(state).exists(), "a kill -9 leaves its lock file behind"
    final = run(args)
    assert final.returncode == 0, final.stderr

    rows = csv_rows(table)
    got = Counter(row["url"] for row in rows)
    assert max(got.values()) == 1, "a URL has two rows"
    assert {row["url"]: row for row in rows} == reference.rows
    assert table.read_bytes().count(b"url,status,title,depth") == 1, "a second header"
    if jsonl is not None:
        assert urls_in(jsonl) == Counter(reference.urls)
    assert not table.with_name("out.csv.partial").exists()


def test_csv_ctrl_c_then_resume_gives_the_uninterrupted_rows(slow_site, reference, tmp_path):
    table, state = tmp_path / "out.csv", tmp_path / "site.crawl"
    args = job_args(
        slow_site.base_url, tmp_path / "job.toml", jsonl=None, csv_path=table, state=state
    )
    target = reference.size // 4
    process = subprocess.Popen(
        args, env=checkout_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(
            lambda: size_of(table) >= target or process.poll() is not None, "a quarter of the rows"
        )
        assert process.poll() is None, "the crawl finished before Ctrl-C: slow the site"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    stopped = csv_rows(table)  # the rows so far are in the target itself, readable
    assert 0 < len(stopped) < len(reference.rows)
    assert not table.with_name("out.csv.partial").exists()

    final = run(args)
    assert final.returncode == 0, final.stderr
    rows = csv_rows(table)
    assert len(rows) == len(reference.rows), "a URL has two rows, or none"
    assert {row["url"]: row for row in rows} == reference.rows


def status_counts(state: Path) -> tuple[dict[str, int], dict[str, Counter[str]]]:
    """``parcrawl status`` as numbers: the totals, and the counts of each host."""
    result = run(command("status", str(state)))
    assert result.returncode == 0, result.stderr
    first, *hosts = result.stdout.splitlines()
    totals = {kind: int(count) for kind, count in re.findall(r"([a-z][a-z ]*?) (\d+)", first)}
    per_host = {}
    for line in hosts:
        host, counts = line.strip().split(": ", 1)
        per_host[host] = Counter(
            {kind: int(count) for kind, count in re.findall(r"([a-z][a-z ]*?) (\d+)", counts)}
        )
    return totals, per_host


def test_ctrl_c_then_resume_finishes_the_crawl(slow_site, reference, tmp_path):
    out, state = tmp_path / "out.jsonl", tmp_path / "site.crawl"
    process = subprocess.Popen(
        crawl_args(slow_site.base_url, out, state),
        env=checkout_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: (
                (out.exists() and out.read_text().count("\n") >= 30) or process.poll() is not None
            ),
            "30 records",
        )
        assert process.poll() is None, "the crawl finished before Ctrl-C: slow the site"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    partial = urls_in(out)
    assert len(partial) >= 30

    # Stopped cleanly: nothing is in flight, and the totals agree with the hosts' counts.
    totals, per_host = status_counts(state)
    assert totals["in flight"] == 0
    assert totals["queued"] > 0
    assert totals["queued"] == sum(counts["queued"] for counts in per_host.values())
    assert totals["done"] + totals["failed"] == len(partial)
    assert not lock_of(state).exists(), "the lock file outlived a clean stop"

    final = run(crawl_args(slow_site.base_url, out, state))
    assert final.returncode == 0, final.stderr
    got = urls_in(out)
    assert max(got.values()) == 1
    assert set(got) == set(reference.urls), "the links of pages done while stopping are lost"
    done = run(command("status", str(state))).stdout
    assert done.startswith("queued 0, in flight 0,")
    assert not lock_of(state).exists()


def test_max_pages_counts_the_pages_of_earlier_runs(slow_site, tmp_path):
    out, state = tmp_path / "out.jsonl", tmp_path / "site.crawl"
    first = run([*crawl_args(slow_site.base_url, out, state), "--max-pages", "30"])
    assert first.returncode == 0, first.stderr
    assert len(urls_in(out)) == 30

    resumed = run([*crawl_args(slow_site.base_url, out, state), "--max-pages", "50"])
    assert resumed.returncode == 0, resumed.stderr
    assert len(urls_in(out)) == 50, "max_pages is the total of all runs"
    again = run([*crawl_args(slow_site.base_url, out, state), "--max-pages", "50"])
    assert again.returncode == 0, again.stderr
    got = urls_in(out)
    assert len(got) == 50
    assert max(got.values()) == 1


def test_a_torn_last_line_is_repaired_on_resume(slow_site, tmp_path):
    out, state = tmp_path / "out.jsonl", tmp_path / "site.crawl"
    first = run([*crawl_args(slow_site.base_url, out, state), "--max-pages", "20"])
    assert first.returncode == 0, first.stderr
    with out.open("ab") as handle:
        handle.write(b'{"url": "http://half-writ')  # what a crash mid-write leaves
    final = run(crawl_args(slow_site.base_url, out, state))
    assert final.returncode == 0, final.stderr
    assert max(urls_in(out).values()) == 1


def test_csv_rows_after_the_checkpoint_are_kept_whole_and_a_torn_one_is_cut(slow_site, tmp_path):
    jsonl, table, state = tmp_path / "out.jsonl", tmp_path / "out.csv", tmp_path / "site.crawl"
    args = job_args(
        slow_site.base_url, tmp_path / "job.toml", jsonl=jsonl, csv_path=table, state=state
    )
    first = run([*args, "--max-pages", "20"])
    assert first.returncode == 0, first.stderr
    assert len(csv_rows(table)) == 20

    # What a crash leaves: one record written to both files after the last checkpoint (its
    # title spans lines), then half of the next one in each.
    record = json.loads(jsonl.read_text().splitlines()[0])
    record["url"] = f"{slow_site.base_url}/written-before-the-crash"
    record["title"] = 'Two\r\nlines, "quoted"'
    with jsonl.open("a") as handle:
        handle.write(json.dumps(record) + "\n" + '{"url": "http://half.test/", "ti')
    with table.open("a", newline="") as handle:
        csv.writer(handle).writerow([record[column] for column in CSV_COLUMNS])
        handle.write('http://half.test/,200,"Half a title\r\n')

    final = run([*args, "--max-pages", "40"])
    assert final.returncode == 0, final.stderr
    rows = csv_rows(table)
    assert len(rows) == 40, "the recovered record counts as a page done"
    assert Counter(row["url"] for row in rows) == urls_in(jsonl)
    assert len({row["url"] for row in rows}) == 40
    recovered = [row for row in rows if row["url"] == record["url"]]
    assert [row["title"] for row in recovered] == [record["title"]]
    assert all(row["depth"].isdigit() for row in rows)


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
    assert not lock_of(state).exists()


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
    lock = lock_of(state)
    first = subprocess.Popen(
        crawl_args(slow_site.base_url, tmp_path / "a.jsonl", state),
        env=checkout_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        holder = f"pid {first.pid}"
        wait_for(
            lambda: (lock.exists() and lock.read_text() == holder) or first.poll() is not None,
            "the first crawl to take the lock",
        )
        assert first.poll() is None, "the first crawl ended before the second one started"
        second = run(crawl_args(slow_site.base_url, tmp_path / "b.jsonl", state))
        assert first.poll() is None, "the first crawl ended while the second one ran"
        assert second.returncode == 2
        assert f"in use by another parcrawl ({holder})" in second.stderr
    finally:
        first.kill()
        first.wait(timeout=30)
    assert not (tmp_path / "b.jsonl").exists()

    # The lock of a killed crawl stays behind, stale: the next crawl takes it over.
    assert lock.exists()
    third = run([*crawl_args(slow_site.base_url, tmp_path / "c.jsonl", state), "--max-pages", "5"])
    assert third.returncode == 0, third.stderr
    assert not lock.exists()


def test_a_crawl_that_ends_in_an_error_removes_its_lock(tmp_path):
    state, output = tmp_path / "site.crawl", tmp_path / "out.jsonl"
    first = ["crawl", "http://127.0.0.1:9/", "--state", str(state), "-o", str(output), "-q"]
    assert run(command(*first, "--retries", "0")).returncode == 0
    # The resumed crawl fails once its state is open: the WARC it would continue is not one.
    archive = tmp_path / "notes.warc.gz"
    archive.write_text("not an archive")
    result = run(command(*first, "--warc", str(archive)))
    assert result.returncode == 2, result.stderr
    assert "notes.warc.gz" in result.stderr
    assert state.exists()
    assert not lock_of(state).exists()


def test_a_crawl_that_cannot_write_its_output_makes_no_state_file(tmp_path):
    state = tmp_path / "site.crawl"
    output = tmp_path / "a-folder.jsonl"  # a folder where the output file should go
    output.mkdir()
    result = run(command("crawl", "http://127.0.0.1:9/", "--state", str(state), "-o", str(output)))
    assert result.returncode == 2, result.stderr
    assert "a-folder.jsonl is a folder" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-folder.jsonl"]


def test_status_of_a_missing_file_is_one_line(tmp_path):
    result = run(command("status", str(tmp_path / "none.crawl")))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"parcrawl: error: state file not found: {tmp_path / 'none.crawl'}"
    )
