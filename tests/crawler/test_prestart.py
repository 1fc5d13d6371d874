"""Tests for crawler.runtime.prestart: a crawl's workers' server starts while the command
line imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.runtime.prestart import wants_local_workers

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys
import psutil
sys.argv = ["parcrawl", *json.loads(sys.argv[1])]
import cli
def servers():
    return [child.pid for child in psutil.Process().children()
            if "multiprocessing.forkserver" in " ".join(child.cmdline())]
early = servers()
if early:
    from pipelines.executors import default_executor
    with default_executor(1) as pool:
        worker_parent = pool.submit(os.getppid).result(timeout=60)
else:
    worker_parent = None
print(json.dumps({"early": early, "worker_parent": worker_parent, "after": servers()}))
"""


def probe(argv: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_a_crawl_command_line_starts_the_server_its_pool_then_forks_workers_from() -> None:
    report = probe(["crawl", "-i", "urls.txt", "--workers", "2"])
    early = report["early"]
    assert isinstance(early, list)
    assert len(early) == 1
    assert report["worker_parent"] == early[0]  # the pool used it: no second server
    assert report["after"] == early


def test_a_crawl_without_local_workers_starts_no_server() -> None:
    assert probe(["crawl", "-i", "urls.txt", "--workers", "0"])["early"] == []


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["crawl", "https://example.com/"], True),
        (["crawl", "-i", "urls.txt", "-w", "2", "--parser", "lxml"], True),
        (["crawl", "-i", "urls.txt", "--workers", "0"], False),
        (["crawl", "-i", "urls.txt", "--workers=0"], False),
        (["crawl", "-w", "0", "https://example.com/"], False),
        (["crawl", "-w0", "https://example.com/"], False),
        (["crawl", "--help"], False),
        (["crawl", "--executor", "tcp://127.0.0.1:8786", "https://example.com/"], False),
        (["crawl", "--frontier", "redis://127.0.0.1", "--crawl-id", "x"], True),
        (["crawl", "--frontier", "redis://127.0.0.1", "--crawl-id", "x", "--fetchers", "2"], False),
        (["report", "out.jsonl"], False),
        ([], False),
    ],
)
def test_only_a_crawl_that_parses_in_local_workers_wants_them_early(
    argv: list[str], wanted: bool
) -> None:
    assert wants_local_workers(argv) is wanted
