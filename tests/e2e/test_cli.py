"""The ``parcrawl`` command as a user runs it: in a subprocess, reading its exit code and output."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli import build_parser
from crawler import __version__
from crawler.demo import SiteServer, SyntheticSite
from crawler.jobfile import load_job
from crawler.startup import validate_rules
from tests.support import terminal
from tests.support.cli import REPO, parcrawl, started_parcrawl
from tests.support.routes import RouteServer, page


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


def test_seeds_that_are_all_invalid_end_with_exit_2_and_no_traceback(tmp_path):
    result = parcrawl("crawl", "http://127.0.0.1:99999/", "-o", "out.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "argument 1: not a valid URL: 'http://127.0.0.1:99999/' (port '99999')" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "parcrawl: error: no valid URL to crawl: the seed is invalid"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stdin", [False, True])
def test_a_binary_file_given_as_a_url_list_is_one_error_line_and_exit_2(tmp_path, stdin):
    binary = tmp_path / "seeds.bin"
    binary.write_bytes(Path(sys.executable).resolve().read_bytes()[:200_000])
    source = "-" if stdin else str(binary)
    with binary.open("rb") as data:
        result = parcrawl("crawl", "-i", source, "-o", "out.jsonl", cwd=tmp_path, stdin=data)
    assert result.returncode == 2
    name = "-" if stdin else binary
    assert result.stderr.splitlines() == [
        f"parcrawl: error: no valid URL to crawl: {name} is not a URL list "
        "(binary data, or text not in UTF-8)"
    ]


def test_ctrl_c_keeps_every_completed_record_and_exits_130(tmp_path):
    out = tmp_path / "out.jsonl"
    with slow_site(200, delay_s=0.1) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(server.url(f"/p{n}") for n in range(200)))
        process = started_parcrawl("crawl", "-i", str(urls), "-o", str(out), "-c", "4", "-w", "2")
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
    summary = Summary.parse(stderr)
    assert summary.written == len(records)
    assert summary.balances()


def test_second_ctrl_c_stops_at_once_without_a_partial_line(tmp_path):
    out = tmp_path / "out.jsonl"
    slow_s = 20.0
    with slow_site(100, delay_s=slow_s) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text("\n".join(server.url(f"/p{n}") for n in range(100)))
        # 8 in flight at once from the start: the autothrottle would start this host at 2
        # and wait for 20 s answers before it grew.
        with started_parcrawl(
            "crawl", "-i", str(urls), "-o", str(out), "-c", "8", "--per-host", "8", "-w", "0",
            "--no-autothrottle",
        ) as process:  # fmt: skip
            stderr = StderrLines(process)
            # Both signals come while requests are in flight: none of them can have answered.
            _wait_until(lambda: len(server.page_requests) >= 8, "requests in flight")
            first_request = min(at for at, path in server.request_times if path != "/robots.txt")
            process.send_signal(signal.SIGINT)
            stderr.wait_for("stopping: finishing pages in flight")
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            stopped_at = time.monotonic()
            text = stderr.text()
    assert process.returncode == 130, text
    assert "stopping now" in text
    # It did not wait for the in-flight responses (they take slow_s) nor the 3 s grace.
    assert stopped_at < first_request + slow_s
    assert read_jsonl(out) == []
    assert "Traceback" not in text
    summary = Summary.parse(text)
    assert summary.written == 0
    assert summary.balances()


def _wait_until(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


class StderrLines:
    """A subprocess's stderr read by a thread, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self._lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.append(line)

    def wait_for(self, text: str) -> None:
        _wait_until(lambda: text in "".join(self._lines), f"{text!r} on stderr")

    def text(self) -> str:
        self._thread.join(30)
        return "".join(self._lines)


def _wait_for_lines(path: Path, count: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {count} lines")


def test_version_names_the_package_version():
    assert parcrawl("--version").stdout.strip() == f"parcrawl {__version__}"


# -- the summary's numbers ------------------------------------------------------------


@dataclass
class Summary:
    """The numbers of a crawl's summary on stderr."""

    written: int
    ok: int
    errors: int
    dropped: int
    unwritten: int
    responses: int
    no_response: int
    refused: int
    by_kind: dict[str, int]

    @classmethod
    def parse(cls, stderr: str) -> Summary:
        head = re.search(
            r"(\d+) records? written \((\d+) ok, (\d+) errors?\)"
            r"(?:, (\d+) pages? dropped by steps)?(?:, (\d+) fetched pages? not written)?",
            stderr,
        )
        fetch = re.search(
            r"fetch: (\d+) responses?(?:, (\d+) failed without one)?"
            r"(?:, (\d+) refused before fetching)?",
            stderr,
        )
        assert head, stderr
        assert fetch, stderr
        kinds = re.search(r"^parcrawl: errors: (.*)$", stderr, re.MULTILINE)
        by_kind = {}
        if kinds:
            for part in kinds.group(1).split(", "):
                code, count = part.rsplit(" ", 1)
                by_kind[code] = int(count)
        written, ok, errors, dropped, unwritten = (int(g or 0) for g in head.groups())
        responses, no_response, refused = (int(g or 0) for g in fetch.groups())
        return cls(
            written, ok, errors, dropped, unwritten, responses, no_response, refused, by_kind
        )

    def balances(self) -> bool:
        """Every record is ok or an error; every fetched (or refused) URL is accounted for."""
        fetched = self.responses + self.no_response + self.refused
        return (
            self.ok + self.errors == self.written
            and sum(self.by_kind.values()) == self.errors
            and self.written + self.dropped + self.unwritten == fetched
        )


def test_the_demo_summary_adds_up_to_the_records_written(tmp_path):
    out = tmp_path / "demo.jsonl"
    result = parcrawl("demo", "--pages", "40", "-o", str(out), "-w", "0")
    assert result.returncode == 0, result.stderr
    records = read_jsonl(out)
    summary = Summary.parse(result.stderr)
    assert summary.written == len(records)
    assert summary.errors == sum(r["error"] is not None for r in records) > 0
    assert summary.unwritten == 0
    assert summary.balances()
    assert "broken links on purpose" in result.stderr


def test_a_page_dropped_by_a_step_is_counted_once(tmp_path):
    same = "<title>same</title><p>one body for two URLs</p>"
    with RouteServer({"/a": page(same), "/b": page(same), "/c": page("<title>c</title>")}) as s:
        job = tmp_path / "job.toml"
        job.write_text(
            f'seeds = ["{s.url("/a")}", "{s.url("/b")}", "{s.url("/c")}"]\nworkers = 0\n'
            '[[steps]]\nuse = "drop_duplicates"\n'
        )
        result = parcrawl("run", str(job), "-o", str(tmp_path / "out.jsonl"))
    assert result.returncode == 0, result.stderr
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 2
    summary = Summary.parse(result.stderr)
    assert (summary.written, summary.dropped, summary.responses) == (2, 1, 3)
    assert "duplicate_content" not in result.stderr
    assert summary.balances()


def test_a_seed_robots_txt_forbids_gets_a_record_saying_so(tmp_path):
    robots = page("User-agent: *\nDisallow: /private\n", content_type="text/plain")
    routes = {"/robots.txt": robots, "/a": page("<title>A</title>"), "/private": page("no")}
    with RouteServer(routes) as server:
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{server.url('/a')}\n{server.url('/private')}\n")
        result = parcrawl("crawl", "-i", str(urls), "-o", str(tmp_path / "out.jsonl"), "-w", "0")
        assert server.page_requests == ["/a"]
    assert result.returncode == 0, result.stderr
    records = {r["url"]: r for r in read_jsonl(tmp_path / "out.jsonl")}
    assert records[server.url("/private")]["error"]["code"] == "robots_disallowed"
    assert records[server.url("/a")]["error"] is None
    summary = Summary.parse(result.stderr)
    assert (summary.written, summary.ok, summary.errors) == (2, 1, 1)
    assert "(1 ok, 1 error)" in result.stderr
    assert "skipped: robots" not in result.stderr
    assert summary.refused == 1
    assert summary.balances()


def test_a_guessed_sitemap_that_is_absent_is_no_error_and_sitemap_pages_name_their_sitemap(
    tmp_path,
):
    with RouteServer({"/": page("<title>home</title>")}) as server:
        absent = parcrawl("crawl", server.url("/"), "--sitemaps", "-o", str(tmp_path / "a.jsonl"))
        assert "/sitemap.xml" in server.requests
        sitemap = (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{server.url('/s')}</loc></url></urlset>"
        )
        server.routes["/sitemap.xml"] = page(sitemap, content_type="application/xml")
        server.routes["/s"] = page("<title>S</title>")
        listed = parcrawl("crawl", server.url("/"), "--sitemaps", "-o", str(tmp_path / "b.jsonl"))
    assert absent.returncode == 0, absent.stderr
    summary = Summary.parse(absent.stderr)
    assert (summary.written, summary.errors) == (1, 0)
    # The summary names the output, in a folder named after this test: not a sitemap word.
    assert "sitemap" not in absent.stderr.replace("--sitemaps", "").replace(str(tmp_path), "")
    assert listed.returncode == 0, listed.stderr
    by_url = {r["url"]: r for r in read_jsonl(tmp_path / "b.jsonl")}
    assert by_url[server.url("/s")]["referrer"] == server.url("/sitemap.xml")


def test_a_refused_connection_is_an_error_not_a_response(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    fetched = parcrawl(
        "crawl", url, "--ignore-robots", "--retries", "0", "-o", str(tmp_path / "o.jsonl")
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "1 record written (0 ok, 1 error)" in fetched.stderr
    assert "fetch: 0 responses, 1 failed without one" in fetched.stderr
    assert Summary.parse(fetched.stderr).balances()
    # With robots.txt obeyed, its fetch fails first: the page is refused, not fetched.
    refused = parcrawl("crawl", url, "--retries", "0", "-o", str(tmp_path / "o.jsonl"))
    assert "1 record written (0 ok, 1 error)" in refused.stderr
    assert "fetch: 0 responses, 1 refused before fetching" in refused.stderr
    assert Summary.parse(refused.stderr).balances()


# -- pipes, devices, terminals --------------------------------------------------------


@pytest.mark.parametrize("quiet", [False, True])
def test_a_closed_pipe_ends_the_crawl_quietly_with_141(quiet):
    site = SyntheticSite(pages=300)
    args = ["demo", "--pages", "300", "-o", "-", "-w", "0", *(["-q"] if quiet else [])]
    with started_parcrawl(*args) as process:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())  # `| head -n1`
        process.stdout.close()
        stderr = process.stderr.read() if process.stderr else ""
        process.wait(timeout=120)
    assert first["url"].startswith("http://127.0.0.1:")
    assert process.returncode == 141, stderr
    assert "Traceback" not in stderr
    assert "error:" not in stderr
    if quiet:
        assert stderr == ""
    else:
        assert "stopped early: the output's reader closed the pipe" in stderr
        summary = Summary.parse(stderr)
        assert 1 <= summary.written < len(site.all_paths())
        assert summary.balances()


def test_dev_null_and_dev_stdout_are_outputs_like_any_file(tmp_path):
    with RouteServer({"/a": page("<title>A</title>"), "/b": page("<title>B</title>")}) as server:
        urls = [server.url("/a"), server.url("/b")]
        null = parcrawl("crawl", *urls, "-o", "/dev/null", "-w", "0")
        stdout = parcrawl("crawl", *urls, "-o", "/dev/stdout", "-w", "0")
    assert null.returncode == 0, null.stderr
    assert "2 records written" in null.stderr
    assert stdout.returncode == 0, stdout.stderr
    assert sorted(json.loads(line)["title"] for line in stdout.stdout.splitlines()) == ["A", "B"]
    assert "2 records written" in stdout.stderr


def test_output_format_follows_the_extension(tmp_path):
    with RouteServer({"/a": page("<title>A</title>")}) as server:
        url = server.url("/a")
        as_csv = parcrawl("crawl", url, "-o", str(tmp_path / "new" / "pages.csv"), "-w", "0")
        as_db = parcrawl("crawl", url, "-o", str(tmp_path / "pages.db"), "-w", "0")
        unknown = parcrawl("crawl", url, "-o", str(tmp_path / "pages.txt"), "-w", "0")
        assert server.page_requests == ["/a", "/a"]
    assert as_csv.returncode == 0, as_csv.stderr
    header, row = (tmp_path / "new" / "pages.csv").read_text().splitlines()  # folder made
    assert header.startswith("url,status,title")
    assert row.startswith(f"{url},200,A")
    assert as_db.returncode == 0, as_db.stderr
    with sqlite3.connect(tmp_path / "pages.db") as db:
        assert db.execute("select url from records").fetchall() == [(url,)]
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1
    assert "cannot tell the output format" in unknown.stderr
    assert ".csv" in unknown.stderr
    assert not (tmp_path / "pages.txt").exists()


def run_on_terminal(*args: str, stderr_too: bool = False) -> tuple[int, str, str]:
    """Run parcrawl with a pseudo-terminal as stdout (and stderr); (code, terminal, stderr)."""
    screen = terminal.run_on_terminal(*args, stderr_pipe=not stderr_too)
    return screen.code, screen.text, screen.stderr


def test_a_terminal_gets_one_line_per_page_not_whole_records():
    routes = {
        "/a": page("<title>Page A</title><p>" + "words " * 500),
        "/gone": page("", status=404),
    }
    with RouteServer(routes) as server:
        code, screen, stderr = run_on_terminal("crawl", server.url("/a"), server.url("/gone"))
    assert code == 0, stderr
    lines = sorted(line for line in screen.splitlines() if line.strip())
    assert lines == [f"200 {server.url('/a')}  Page A", f"404 {server.url('/gone')}  [http_4xx]"]
    assert "-o FILE or a pipe" in stderr


def test_json_lines_asked_for_on_a_terminal_are_not_drawn_over_by_bars():
    with RouteServer({f"/p{n}": page(f"<title>p{n}</title>") for n in range(30)}) as server:
        urls = [server.url(f"/p{n}") for n in range(30)]
        code, screen, _ = run_on_terminal("crawl", *urls, "-o", "-", stderr_too=True)
    assert code == 0, screen
    records = [line for line in screen.splitlines() if line.startswith("{")]
    assert len(records) == 30
    assert all(json.loads(line)["title"] for line in records)
    assert "fetched:" not in screen


def test_a_follow_crawl_bar_shows_no_percentage():
    code, screen, _ = run_on_terminal(
        "demo", "--follow", "--pages", "30", "-o", os.devnull, "-w", "0", stderr_too=True
    )
    assert code == 0, screen
    bars = [part for part in re.split(r"[\r\n]", screen) if "fetched:" in part]
    assert bars, screen
    assert not any("%|" in bar for bar in bars), bars


# -- help, defaults, warnings ---------------------------------------------------------


def test_every_command_and_option_has_a_help_line():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert {
        action.dest: bool(action.help) for action in commands._choices_actions
    } == dict.fromkeys(commands.choices, True)
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, f"parcrawl {name} {'/'.join(action.option_strings)} has no help"


def test_check_prints_the_settings_compactly():
    job = REPO / "config" / "examples" / "shop.toml"
    result = parcrawl("check", str(job))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # one line per setting (about 105 of them with [render]'s), lists on one line
    assert len(lines) < 125
    assert max(map(len, lines)) <= 100
    assert tomllib.loads(result.stdout) == tomllib.loads(load_job(job).effective_toml())


def test_every_commented_example_in_default_toml_works_uncommented(tmp_path):
    lines = (REPO / "config" / "default.toml").read_text().splitlines()
    example = re.compile(r"^# (\[|[a-z_]+ = )")
    blocks, current = [], []
    for number, line in enumerate(lines):
        if example.match(line):
            current.append(number)
        elif current:
            blocks.append(current)
            current = []
    assert len(blocks) >= 8
    for block in blocks:
        text = [line[2:] if number in block else line for number, line in enumerate(lines)]
        job = tmp_path / "default.toml"
        job.write_text("\n".join(text))
        validate_rules(load_job(job).settings)  # raises, naming the problem, if invalid


def test_follow_only_options_without_follow_are_named_in_a_warning():
    with RouteServer({"/a": page("<title>A</title>")}) as server:
        result = parcrawl("crawl", server.url("/a"), "--max-depth", "2", "-o", os.devnull)
        two = parcrawl("crawl", server.url("/a"), "--max-depth", "2", "--include", "x", "-q")
        followed = parcrawl("crawl", server.url("/a"), "--max-depth", "2", "--follow", "-q")
    assert result.returncode == 0, result.stderr
    assert "parcrawl: WARNING: --max-depth applies only with --follow: ignored" in result.stderr
    assert "1 record written" in result.stderr  # the crawl went on
    assert "--max-depth, --include apply only with --follow: ignored" in two.stderr
    assert followed.stderr == ""


def test_a_closed_pipe_leaves_a_state_that_resumes(tmp_path):
    state, out = tmp_path / "site.crawl", tmp_path / "rest.jsonl"
    with SiteServer(SyntheticSite(pages=200)) as server:
        crawl = ["crawl", server.url("/"), "--follow", "--state", str(state), "-w", "0", "-q"]
        with started_parcrawl(*crawl, "-o", "-") as process:
            assert process.stdout is not None
            first = json.loads(process.stdout.readline())
            process.stdout.close()
            process.wait(timeout=120)
        assert process.returncode == 141
        status = parcrawl("status", str(state))
        assert status.returncode == 0, status.stderr
        rest = parcrawl(*crawl, "-o", str(out))
    assert rest.returncode == 0, rest.stderr
    urls = [record["url"] for record in read_jsonl(out)]
    assert len(urls) == len(set(urls)) > 0
    assert first["url"] not in urls  # the page that reached the reader is done


def test_fetched_pages_a_second_ctrl_c_kept_from_the_output_are_counted(tmp_path):
    # Parsing is slow (a step takes 0.5 s a page) and fetching fast: when the crawl is
    # stopped at once, fetched pages wait for a worker and never reach the output.
    (tmp_path / "slow_step.py").write_text(
        "import time\n\ndef slow(record):\n    time.sleep(0.5)\n    return record\n"
    )
    out = tmp_path / "out.jsonl"
    with RouteServer({f"/p{n}": page(f"<title>p{n}</title>") for n in range(40)}) as server:
        job = tmp_path / "job.toml"
        seeds = ", ".join(f'"{server.url(f"/p{n}")}"' for n in range(40))
        job.write_text(
            f'seeds = [{seeds}]\nworkers = 1\nbatch_size = 1\n[[steps]]\nuse = "slow_step:slow"\n'
        )
        with started_parcrawl("run", str(job), "-o", str(out)) as process:
            stderr = StderrLines(process)
            _wait_for_lines(out, 1, timeout_s=60)
            process.send_signal(signal.SIGINT)
            stderr.wait_for("stopping: finishing pages in flight")
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            text = stderr.text()
    assert process.returncode == 130, text
    summary = Summary.parse(text)
    assert summary.written == len(read_jsonl(out))
    assert summary.unwritten > 0, text
    assert f"{summary.unwritten} fetched page" in text
    assert summary.balances()
