"""The ``parcrawl`` command as a user runs it: in a subprocess, reading its exit code and output."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli import OPTIONS
from crawler import __version__
from crawler.demo_site import SyntheticSite
from crawler.settings import Settings
from tests.support.cli import parcrawl
from tests.support.routes import RouteServer, page

REPO = Path(__file__).resolve().parent.parent


def start_parcrawl(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_jsonl(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the last line is partial"
    return [json.loads(line) for line in text.splitlines()]


def slow_site(count: int, delay_s: float) -> RouteServer:
    routes = {f"/p{n}": page(f"<title>p{n}</title><p>x</p>", delay_s=delay_s) for n in range(count)}
    return RouteServer(routes)


def test_demo_crawls_the_bundled_site(tmp_path):
    out = tmp_path / "demo.jsonl"
    result = parcrawl("demo", "--pages", "60", "-o", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    records = read_jsonl(out)
    assert len(records) == len(SyntheticSite(pages=60).all_paths())
    assert sum(r["error"] is None for r in records) == 60 + len(SyntheticSite(60).file_paths())
    assert "records written to" in result.stderr
    assert "pages/s" in result.stderr


def test_url_list_with_comments_blanks_duplicates_and_a_bad_line(tmp_path):
    with RouteServer({"/a": page("<title>A</title>"), "/b": page("<title>B</title>")}) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text(
            f"# my list\n\n{server.url('/a')}\nftp://nope/\n{server.url('/b')}\n{server.url('/a')}\n"
        )
        out = tmp_path / "out.jsonl"
        result = parcrawl("crawl", "-i", str(urls), "-o", str(out), "-w", "0")
        assert sorted(server.page_requests) == ["/a", "/b"]
    assert result.returncode == 0, result.stderr
    assert sorted(r["title"] for r in read_jsonl(out)) == ["A", "B"]
    assert f"{urls}:4: not an http(s) URL: 'ftp://nope/' (skipped)" in result.stderr


def test_output_to_stdout_is_pure_jsonl():
    with RouteServer({"/a": page("<title>A</title>")}) as server:
        result = parcrawl("crawl", server.url("/a"), "-o", "-", "-w", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["A"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "-i", "/no/such/urls.txt"], "input file not found: /no/such/urls.txt"),
        (["crawl", "http://127.0.0.1:9/", "-o", "a-file/out.jsonl"], "cannot write a-file/out"),
        (["crawl", "http://127.0.0.1:9/", "--concurrency", "0"], "--concurrency"),
        (["crawl", "http://127.0.0.1:9/", "--workers", "-1"], "--workers"),
        (["crawl", "http://127.0.0.1:9/", "--timeout", "soon"], "--timeout"),
        (["crawl"], "give URLs to crawl"),
        (["crawl", "http://127.0.0.1:9/", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    (tmp_path / "a-file").write_text("a file where a folder should be")
    result = parcrawl(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("parcrawl: error:")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_ctrl_c_keeps_every_completed_record_and_exits_130(tmp_path):
    out = tmp_path / "out.jsonl"
    with slow_site(200, delay_s=0.1) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(server.url(f"/p{n}") for n in range(200)))
        process = start_parcrawl("crawl", "-i", str(urls), "-o", str(out), "-c", "4", "-w", "2")
        _wait_for_lines(out, 10)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    records = read_jsonl(out)
    assert 10 <= len(records) < 200
    assert len({r["url"] for r in records}) == len(records)
    assert all(r["error"] is None and r["title"] for r in records)
    assert "interrupted" in stderr
    assert "Traceback" not in stderr


def test_second_ctrl_c_stops_at_once_without_a_partial_line(tmp_path):
    out = tmp_path / "out.jsonl"
    with slow_site(100, delay_s=2.0) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(server.url(f"/p{n}") for n in range(100)))
        process = start_parcrawl("crawl", "-i", str(urls), "-o", str(out), "-c", "50", "-w", "0")
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        stopped_after = time.monotonic() - started
    assert process.returncode == 130, stderr
    assert stopped_after < 1.5  # the in-flight 2 s responses were not waited for
    read_jsonl(out)
    assert "Traceback" not in stderr


def _wait_for_lines(path: Path, count: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {count} lines")


def test_version_names_the_package_version():
    assert parcrawl("--version").stdout.strip() == f"parcrawl {__version__}"


def test_every_command_line_option_is_a_job_file_key():
    defaults = Settings().model_dump()
    for path in OPTIONS:
        section, _, key = path.rpartition(".")
        table = defaults[section] if section else defaults
        assert key in table, f"--{path} has no job-file key"
