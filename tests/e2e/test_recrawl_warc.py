"""Recrawls and WARC archives from the command line: --recrawl --changed-only, job files,
and kill -9 in the middle of WARC writes, then resume."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

from crawler.demo import SiteServer, SyntheticSite
from tests.support.changing import CLI_RECRAWL_SITE, ChangingSite
from tests.support.cli import PARCRAWL, checkout_env, parcrawl
from tests.support.warcs import of_type, read_warc

POLL_S = 0.01
DEADLINE_S = 120.0


def records_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_recrawl_changed_only_from_the_command_line(tmp_path):
    state, day1, day2 = tmp_path / "site.crawl", tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    with ChangingSite(CLI_RECRAWL_SITE) as site:
        first = parcrawl("crawl", site.url("/"), "--follow", "--state", str(state), "-o", str(day1))
        assert first.returncode == 0, first.stderr
        site.pages["/b"] = "<title>B</title><p>two</p>"
        del site.pages["/c"]
        second = parcrawl(
            "crawl", site.url("/"), "--follow", "--state", str(state), "-o", str(day2),
            "--recrawl", "--changed-only", "-w", "1",
        )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert {(r["url"], r["change"]) for r in records_of(day2)} == {
        (site.url("/b"), "changed"),
        (site.url("/c"), "gone"),
    }
    assert "changes: new 0, changed 1, unchanged 3, gone 1 (3 unchanged not written)" in (
        second.stderr
    )
    assert "Traceback" not in second.stderr


def test_recrawl_and_warc_from_a_job_file(tmp_path):
    with ChangingSite(CLI_RECRAWL_SITE) as site:
        job = tmp_path / "job.toml"
        job.write_text(
            f'seeds = ["{site.url("/")}"]\nfollow = true\nstate = "site.crawl"\n'
            "recrawl = true\nworkers = 0\n"
            '[output]\njsonl = "out/pages.jsonl"\nwarc = "out/crawl.warc.gz"\n'
        )
        for _ in range(2):
            done = parcrawl("run", str(job), "-q")
            assert done.returncode == 0, done.stderr
    records = records_of(tmp_path / "out" / "pages.jsonl")
    assert Counter(r["change"] for r in records) == {"new": 5, "unchanged": 5}
    warc = read_warc(tmp_path / "out" / "crawl.warc.gz")  # the second run appended
    assert len(of_type(warc, "response")) == 5
    assert len(of_type(warc, "revisit")) == 5
    assert len(of_type(warc, "warcinfo")) == 2  # each run names its settings
    assert '"recrawl":true' in of_type(warc, "warcinfo")[1].payload.decode()


def test_bad_warc_options_are_one_line_errors(tmp_path):
    for args, message in (
        (["--warc", str(tmp_path / "x.warc")], "output.warc: must end in .warc.gz"),
        (["--warc", str(tmp_path / "x.warc.gz"), "--warc-max-size", "lots"], "not a size"),
        (["--recrawl"], "recrawl: needs a state file"),
    ):
        done = parcrawl("crawl", "http://127.0.0.1:9/", *args)
        assert done.returncode == 2
        assert message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def size_of(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_kill_9_during_warc_writes_then_resume_reads_back_cleanly(tmp_path):
    out, state, warc = tmp_path / "out.jsonl", tmp_path / "site.crawl", tmp_path / "crawl.warc.gz"
    args = [
        *PARCRAWL, "crawl", "--follow", "-o", str(out), "-q",
        "-w", "1", "-c", "4", "--state", str(state), "--warc", str(warc),
        "--warc-max-size", "200KB",
    ]  # fmt: skip
    rng = random.Random(7)
    with SiteServer(SyntheticSite(pages=150, seed=11), delay_s=0.02) as server:
        args.insert(len(PARCRAWL) + 1, server.url("/"))
        for _ in range(2):
            watched = sorted(tmp_path.glob("crawl-*.warc.gz"))
            before = sum(map(size_of, watched))
            process = subprocess.Popen(
                args, env=checkout_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                deadline = time.monotonic() + DEADLINE_S
                while sum(map(size_of, tmp_path.glob("crawl-*.warc.gz"))) < before + 60_000:
                    assert process.poll() is None, "the crawl ended before it was killed"
                    assert time.monotonic() < deadline, "the WARC never grew"
                    time.sleep(POLL_S)
                time.sleep(rng.uniform(0, 0.05))
                process.kill()  # SIGKILL, most likely in the middle of a write
            finally:
                process.kill()
                process.wait(timeout=30)
        done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    urls = Counter(r["url"] for r in records_of(out))
    assert max(urls.values()) == 1
    files = sorted(tmp_path.glob("crawl-*.warc.gz"))
    assert len(files) >= 2
    archived = set()
    for file in files:
        records = read_warc(file)  # every record whole, every digest right
        assert records[0].type == "warcinfo"
        archived |= {r.headers["WARC-Target-URI"] for r in of_type(records, "response")}
    assert set(urls) <= archived


def test_a_full_disk_under_the_warc_is_one_error_line_and_exit_1(tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    warc.symlink_to("/dev/full")  # every write: ENOSPC, as on a full disk
    with ChangingSite(CLI_RECRAWL_SITE) as site:
        done = parcrawl(
            "crawl", site.url("/"), "--follow", "-o", str(tmp_path / "out.jsonl"),
            "--warc", str(warc), "-w", "0",
        )  # fmt: skip
    assert done.returncode == 1
    assert f"parcrawl: error: cannot write {warc}: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr
