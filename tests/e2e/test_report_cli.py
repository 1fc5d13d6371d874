"""``parcrawl report``, ``parcrawl merge`` and ``--report`` as a user runs them: exit codes,
one-line errors, and a report written at the end of a crawl, also after Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import orjson
from lxml import html as lxml_html

from tests.support.cli import PARCRAWL, checkout_env, parcrawl
from tests.support.routes import RouteServer, page


def record(url: str, *, status: int = 200, at: str = "00") -> dict[str, object]:
    error = {"code": "http_4xx", "message": "404"} if status == 404 else None
    return {
        "url": url,
        "final_url": url,
        "status": status,
        "content_type": "text/html",
        "bytes": 100,
        "elapsed_ms": 10.0,
        "fetched_at": f"2026-05-01T12:00:{at}.000Z",
        "depth": 0,
        "referrer": None,
        "title": "t",
        "links": [],
        "error": error,
    }


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def report_count(path: Path) -> str:
    page_html = lxml_html.fromstring(path.read_bytes())
    return page_html.xpath("string(//header/p)").split(" records")[0]


def test_report_of_several_files_with_a_cut_short_last_line(tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "docs-1.jsonl", [record("http://x/a"), record("http://x/b")])
    second = write_jsonl(tmp_path / "docs-2.jsonl", [record("http://x/c", status=404)])
    with second.open("ab") as file:
        file.write(b'{"url": "http://x/d", "sta')  # the crawl was killed mid-line
    result = parcrawl("report", str(first), str(second), "-o", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"parcrawl: WARNING: {second}: line 2 is cut short: skipped",
        f"parcrawl: report of 3 records written to {tmp_path / 'r.html'}",
    ]
    assert report_count(tmp_path / "r.html") == "3"


def test_report_names_a_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    assert one_error_line(parcrawl("report", str(missing))) == (
        f"parcrawl: error: {missing}: no such file"
    )
    notes = tmp_path / "notes.jsonl"
    notes.write_text("shopping list\n")
    assert one_error_line(parcrawl("report", str(notes))) == (
        f"parcrawl: error: {notes}: line 1 is not JSON: not a parcrawl output"
    )
    assert not (tmp_path / "notes-report.html").exists()


def test_merge_writes_one_record_per_url(tmp_path: Path) -> None:
    first = write_jsonl(
        tmp_path / "docs-1.jsonl", [record("http://x/a", status=404), record("http://x/b")]
    )
    second = write_jsonl(tmp_path / "docs-2.jsonl", [record("http://x/a", at="05")])
    out = tmp_path / "docs.sqlite"
    result = parcrawl("merge", str(first), str(second), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"parcrawl: 2 records (one per URL) written to {out}, "
        "from 3 read (1 set aside for a better one)"
    ]
    again = parcrawl("merge", str(out), "-o", str(tmp_path / "docs.jsonl"), "-q")
    assert again.returncode == 0, again.stderr
    lines = (tmp_path / "docs.jsonl").read_bytes().splitlines()
    assert [(r["url"], r["status"]) for r in map(orjson.loads, lines)] == [
        ("http://x/a", 200),
        ("http://x/b", 200),
    ]


def test_a_report_needs_a_records_file_to_read(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    result = parcrawl("crawl", "http://127.0.0.1:9/", "-o", "-", "--report", str(report))
    assert one_error_line(result) == (
        "parcrawl: error: output.report: the report reads the crawl's records back: "
        "also write them to a .jsonl or .sqlite file (-o FILE)"
    )
    assert not report.exists()


def test_a_job_file_asks_for_a_report_next_to_it(tmp_path: Path) -> None:
    routes = {"/": page('<title>home</title><a href="/gone">x</a>')}
    with RouteServer(routes) as server:
        job = tmp_path / "job.toml"
        job.write_text(
            f'seeds = ["{server.url("/")}"]\nfollow = true\nworkers = 0\n'
            '[output]\nsqlite = "out/pages.sqlite"\nreport = "out/report.html"\n'
        )
        result = parcrawl("run", str(job), "-q")
    assert result.returncode == 0, result.stderr
    assert report_count(tmp_path / "out" / "report.html") == "2"


def test_ctrl_c_still_writes_the_report_of_what_was_fetched(tmp_path: Path) -> None:
    out, report = tmp_path / "out.jsonl", tmp_path / "report.html"
    routes = {f"/p{n}": page(f"<title>p{n}</title>", delay_s=0.1) for n in range(200)}
    with RouteServer(routes) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(server.url(f"/p{n}") for n in range(200)))
        args = ["crawl", "-i", str(urls), "-o", str(out), "--report", str(report), "-w", "0"]
        process = subprocess.Popen(
            [*PARCRAWL, *args],
            env=checkout_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not (out.exists() and out.read_bytes().count(b"\n") >= 10):
            assert time.monotonic() < deadline, "the crawl never wrote 10 records"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"parcrawl: report written to {report}" in stderr
    written = out.read_bytes().count(b"\n")
    assert 10 <= written < 200
    assert report_count(report) == str(written)


def test_a_second_ctrl_c_still_writes_the_report(tmp_path: Path) -> None:
    out, report = tmp_path / "out.jsonl", tmp_path / "report.html"
    routes = {f"/fast{n}": page(f"<title>f{n}</title>") for n in range(10)}
    routes |= {f"/slow{n}": page("<title>s</title>", delay_s=20.0) for n in range(4)}
    with RouteServer(routes) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(server.url(path) for path in sorted(routes)))
        args = ["crawl", "-i", str(urls), "-o", str(out), "--report", str(report), "-w", "0"]
        process = subprocess.Popen(
            [*PARCRAWL, *args, "-c", "16", "--per-host", "16"],
            env=checkout_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        while not (out.exists() and out.read_bytes().count(b"\n") >= 10):
            assert time.monotonic() < deadline, "the fast pages were never written"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        # Each line comes (or the process ends, and readline returns ""): no wait unbounded.
        while "stopping: finishing pages in flight" not in (line := process.stderr.readline()):
            assert line, "the crawl ended without saying it was stopping"
        process.send_signal(signal.SIGINT)  # the slow pages are still in flight
        rest = process.communicate(timeout=15)[1]
    assert process.returncode == 130, rest
    assert "Traceback" not in rest
    assert f"parcrawl: report written to {report}" in rest
    assert report_count(report) == "10"
