"""``parcrawl check`` against ``parcrawl run``, plain errors, sizes, a bare ``parcrawl`` and
SIGTERM: the command line as a user meets it, in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import PARCRAWL, checkout_env, parcrawl
from tests.support.routes import RouteServer, page

pytestmark = pytest.mark.slow

SEED = "seeds = ['http://127.0.0.1:9/']\n"

REFUSED_JOBS = {
    "missing seeds_file": ("seeds_file = 'nope.txt'\n", "input file not found: {dir}/nope.txt"),
    "seeds_file a folder": ("seeds_file = '.'\n", "input is a folder, not a file: {dir}"),
    "no valid URL in seeds_file": (
        "seeds_file = 'bad.txt'\n",
        "no valid URL to crawl: all 2 seeds are invalid",
    ),
    "no seeds": ("follow = true\n", "no seeds (set seeds or seeds_file)"),
    "a bad seed": (
        "seeds = ['http://127.0.0.1:9/', 'mailto:me@x.test']\n",
        "seeds[1]: not an http(s) URL: 'mailto:me@x.test'",
    ),
    "a bad regex": (SEED + "[scope]\nexclude = ['(']\n", "scope.exclude[0]: not a valid regex"),
    "an unknown step": (SEED + "[[steps]]\nuse = 'no_such_step'\n", "steps[0].use: "),
    "a report with no records": (
        SEED + "[output]\nreport = 'r.html'\n",
        "output.report: the report reads the crawl's records back",
    ),
    "dask without workers": (
        SEED + "workers = 0\n[cluster]\nexecutor = 'dask'\n",
        "cluster.executor = 'dask' needs workers >= 1",
    ),
    "recrawl without state": (
        SEED + "recrawl = true\n",
        "recrawl: needs a state file to compare with (--state FILE) "
        "or a shared frontier (--frontier REDIS_URL)",
    ),
    "fetchers writing to stdout": (
        SEED + "[cluster]\nfrontier = 'redis://127.0.0.1:9/0'\ncrawl_id = 'x'\nfetchers = 2\n",
        "--fetchers N needs -o FILE: each process writes its own file",
    ),
    "fetchers sharing stdin": (
        "seeds_file = '-'\n[output]\njsonl = 'out.jsonl'\n[cluster]\n"
        "frontier = 'redis://127.0.0.1:9/0'\ncrawl_id = 'x'\nfetchers = 2\n",
        "--fetchers N cannot share stdin",
    ),
    "fetchers with llms.txt but no Markdown folder": (
        "seeds = ['http://127.0.0.1:9/']\n[output]\njsonl = 'out.jsonl'\n[cluster]\n"
        "frontier = 'redis://127.0.0.1:9/0'\ncrawl_id = 'x'\nfetchers = 2\n"
        "[content]\nllms_txt = 'llms.txt'\n",
        "--fetchers N with --llms-txt needs --markdown-dir DIR",
    ),
    "state and frontier": (
        SEED + "state = 's.crawl'\n[cluster]\nfrontier = 'redis://127.0.0.1:9/0'\ncrawl_id = 'x'\n",
        "state: a state file and a shared frontier (--frontier) do not go together",
    ),
}


@pytest.mark.parametrize("name", REFUSED_JOBS)
def test_check_refuses_what_run_refuses_with_the_same_line(tmp_path: Path, name: str) -> None:
    text, message = REFUSED_JOBS[name]
    (tmp_path / "bad.txt").write_text("http://127.0.0.1:99999/\nnot a url\n")
    job = tmp_path / "job.toml"
    job.write_text(text)
    checked = parcrawl("check", str(job), cwd=tmp_path)
    ran = parcrawl("run", str(job), "-q", cwd=tmp_path)
    for result in (checked, ran):
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        last = result.stderr.splitlines()[-1]
        assert last.startswith(f"parcrawl: error: {job}: "), result.stderr
        assert message.format(dir=tmp_path) in last
        assert "Traceback" not in result.stderr
    assert checked.stderr == ran.stderr


def test_check_passes_a_job_run_would_start(tmp_path: Path) -> None:
    (tmp_path / "urls.txt").write_text(
        "# one good line after a bad one\nnot a url\nhttp://x.test/\n"
    )
    job = tmp_path / "job.toml"
    job.write_text("seeds_file = 'urls.txt'\n")
    result = parcrawl("check", str(job))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"parcrawl: {job}: valid\n"  # the crawl warns of bad lines itself


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--recrawl"], "recrawl: needs a state file to compare with (--state FILE)"),
        (["--changed-only"], "changed_only: needs recrawl (--recrawl)"),
        (["--fetchers", "2"], "cluster.fetchers: 2 fetchers need a shared frontier"),
        (["--frontier", "redis://127.0.0.1:9/0"], "cluster.crawl_id: a shared frontier needs"),
        (["--executor", "nowhere"], "cluster.executor: must be 'local', 'dask' or a sch"),
        (["--warc", "x.warc"], "output.warc: must end in .warc.gz"),
        (["--user-agent", ""], "fetch.user_agent: must not be empty, got ''"),
        (["--max-bytes", "5XB"], "argument --max-bytes: not a size: '5XB'"),
        (["--warc-max-size", "lots"], "argument --warc-max-size: not a size: 'lots'"),
    ],
)
def test_bad_flags_are_one_plain_line(tmp_path: Path, flags: list[str], message: str) -> None:
    result = parcrawl("crawl", "http://127.0.0.1:9/", "-q", *flags, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr
    for pydantic_words in ("value error", "Value error", "input should", "got True", "{'"):
        assert pydantic_words not in result.stderr


@pytest.mark.parametrize(
    ("size", "size_bytes"), [("5MB", 5_000_000), ("5MiB", 5 * 2**20), ("5000000", 5_000_000)]
)
def test_every_size_flag_and_key_takes_the_same_forms(
    tmp_path: Path, size: str, size_bytes: int
) -> None:
    job = tmp_path / "job.toml"
    job.write_text(SEED + f"[robots]\nmax_bytes = {json.dumps(size)}\n")
    result = parcrawl(
        "check", str(job), "--max-bytes", size, "--warc", "a.warc.gz", "--warc-max-size", size
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(f"max_bytes = {size_bytes}\n") == 2  # fetch and robots
    assert f"warc_max_size = {size_bytes}\n" in result.stdout


def test_max_bytes_with_a_unit_limits_the_body_read(tmp_path: Path) -> None:
    routes = {"/big": page("<title>big</title><p>" + "x" * 3000 + "</p>")}
    with RouteServer(routes) as server:
        out = tmp_path / "out.jsonl"
        result = parcrawl(
            "crawl", server.url("/big"), "--max-bytes", "2KB", "-w", "0", "-q", "-o", str(out)
        )
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["error"]["code"] == "too_large"


def test_bare_parcrawl_prints_the_help() -> None:
    result = parcrawl()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: parcrawl")
    for command in ("crawl", "run", "check", "status", "report", "merge", "demo"):
        assert f"\n    {command} " in result.stderr
    assert "error" not in result.stderr


def test_sigterm_says_how_to_stop_at_once_without_ctrl_c(tmp_path: Path) -> None:
    with RouteServer({"/slow": page("<title>slow</title>", delay_s=20.0)}) as server:
        process = subprocess.Popen(
            [*PARCRAWL, "crawl", server.url("/slow"), "-w", "0"],
            env=checkout_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not server.page_requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.page_requests, "the crawl never asked for the page"
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 130, stderr
    assert "stopping: finishing pages in flight (SIGTERM again to stop now)" in stderr
    assert "Ctrl-C" not in stderr
