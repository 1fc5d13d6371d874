"""The Python API and the testing kit, used only through their public names, as a user would."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from crawler.api import Crawl, acrawl, crawl, make_settings
from crawler.errors import ConfigError, UsageError
from crawler.stats import Stats
from crawler.testing import MockPage, MockSite, crawl_site
from tests.support.cli import REPO, parcrawl

PAGES = {
    "/": "<title>Home</title><a href='/a'>A</a> <a href='/b?x=1'>B</a>",
    "/a": "<title>A</title><p>alpha words here</p><a href='/'>home</a>",
    "/b?x=1": "<title>B</title><p>beta</p><a href='/gone'>gone</a>",
    "/robots.txt": MockPage("User-agent: *\nDisallow: /secret\n", content_type="text/plain"),
}


def comparable(records: dict) -> dict:
    """Records keyed by path, without what differs between runs and hosts."""
    out = {}
    for url, record in records.items():
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        out["/" + path] = (record["status"], record["title"], record["text"], record["depth"])
    return out


def test_two_crawls_in_a_row_in_one_process():
    site = MockSite(PAGES)
    first = crawl_site(site, follow=True, workers=0)
    second = crawl_site(site, follow=True, workers=2)
    assert comparable(first) == comparable(second)
    assert set(first) == {site.url("/"), site.url("/a"), site.url("/b?x=1"), site.url("/gone")}
    assert first[site.url("/gone")]["error"]["code"] == "http_4xx"


async def test_a_crawl_in_one_process_is_never_paused_and_has_no_frontier_notes():
    site = MockSite(PAGES)
    settings = make_settings(seeds=[site.url("/")], workers=0)
    job = Crawl(settings, transport=site.transport(), default_stdout=False)
    assert (job.paused, job.backend_status_lines()) == (False, [])  # not started yet
    await job.run()
    assert (job.paused, job.backend_status_lines()) == (False, [])


async def test_acrawl_yields_records_inside_a_running_event_loop():
    site = MockSite(PAGES)
    titles = [
        r["title"]
        async for r in acrawl(site.url("/"), follow=True, workers=0, transport=site.transport())
    ]
    assert sorted(t for t in titles if t) == ["A", "B", "Home"]


async def test_two_crawls_at_once_in_one_loop_keep_their_own_records():
    one = MockSite({"/": "<title>one</title>"}, base_url="http://one.test")
    two = MockSite({"/": "<title>two</title>"}, base_url="http://two.test")

    async def titles(site: MockSite) -> list[str]:
        return [
            r["title"] async for r in acrawl(site.url("/"), workers=0, transport=site.transport())
        ]

    assert await asyncio.gather(titles(one), titles(two)) == [["one"], ["two"]]


async def test_leaving_acrawl_early_stops_the_crawl():
    pages = {"/": "".join(f"<a href='/p{n}'>{n}</a>" for n in range(1000))}
    pages.update({f"/p{n}": f"<title>{n}</title>" for n in range(1000)})
    site = MockSite(pages)
    stats = Stats()
    seen = 0
    async for _record in acrawl(
        site.url("/"), follow=True, workers=0, transport=site.transport(), stats=stats
    ):
        seen += 1
        if seen == 5:
            break
    # The loop closes the abandoned generator soon after the break; the crawl then ends.
    # Were it not stopped, backpressure would hold it forever and `finished` stay unset.
    deadline = time.monotonic() + 30
    while stats.finished is None:
        assert time.monotonic() < deadline, "the crawl did not end after leaving acrawl"
        await asyncio.sleep(0.02)
    count = len(site.requests)
    assert count < 500  # backpressure kept it from running far ahead of the reader...
    assert stats.fetched < 1001  # ...and the crawl ended early, not at the site's end
    assert count == len(site.requests)  # nothing is fetched once it has ended


def test_respx_mocks_work_with_worker_processes_and_nothing_reaches_a_socket(
    mock_site, monkeypatch
):
    real_connect = socket.socket.connect

    def no_network(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"a test tried to reach the network: {address}")
        return real_connect(sock, address)  # worker processes talk over Unix sockets

    monkeypatch.setattr(socket.socket, "connect", no_network)
    site = mock_site(PAGES)
    result = crawl(site.url("/"), follow=True, workers=2, batch_size=1)
    titles = sorted(r["title"] for r in result.records if r["title"])
    assert titles == ["A", "B", "Home"]
    assert len(result.stats.worker_pids) >= 1
    assert "/secret" not in site.requests


def test_a_site_served_live_gives_the_same_records_as_mocked(live_site):
    mocked = crawl_site(MockSite(PAGES), follow=True, workers=0)
    live = crawl_site(live_site(PAGES), follow=True, workers=0)
    assert comparable(live) == comparable(mocked)


def test_settings_errors_from_the_api_are_the_job_files_errors():
    with pytest.raises(ConfigError, match=r"fetch\.per_host: must be >= 1, got 0"):
        crawl("http://site.test/", fetch={"per_host": 0})
    with pytest.raises(ConfigError, match=r"scope\.bogus: unknown setting"):
        make_settings(scope={"bogus": 1})


async def test_crawl_inside_a_running_loop_says_to_use_acrawl():
    with pytest.raises(UsageError, match="acrawl"):
        crawl("http://site.test/")


def test_an_injected_transport_is_used_for_every_request():
    site = MockSite({"/": "<title>via transport</title>"})
    result = crawl(site.url("/"), transport=site.transport(), workers=0)
    assert [r["title"] for r in result.records] == ["via transport"]
    assert site.requests == ["/robots.txt", "/"]


# -- outputs: each configured file holds each record once, whichever way the crawl runs --

OUTPUT_KINDS = {
    "jsonl": ("jsonl",),
    "csv": ("csv",),
    "sqlite": ("sqlite",),
    "all three": ("jsonl", "csv", "sqlite"),
}


def output_settings(folder: Path, kinds: tuple[str, ...]) -> dict[str, object]:
    paths = {"jsonl": "o.jsonl", "csv": {"path": str(folder / "o.csv")}, "sqlite": "o.sqlite"}
    return {
        kind: paths[kind] if kind == "csv" else str(folder / str(paths[kind])) for kind in kinds
    }


def urls_in_outputs(folder: Path, kinds: tuple[str, ...]) -> dict[str, list[str]]:
    """The URL of every record in each output file, in file order, duplicates kept."""
    found: dict[str, list[str]] = {}
    if "jsonl" in kinds:
        lines = (folder / "o.jsonl").read_text().splitlines()
        found["jsonl"] = [json.loads(line)["url"] for line in lines]
    if "csv" in kinds:
        with (folder / "o.csv").open(newline="") as handle:
            found["csv"] = [row["url"] for row in csv.DictReader(handle)]
    if "sqlite" in kinds:
        with contextlib.closing(sqlite3.connect(folder / "o.sqlite")) as db:
            found["sqlite"] = [url for (url,) in db.execute("SELECT url FROM records")]
    return found


def assert_each_record_once(folder: Path, kinds: tuple[str, ...], urls: set[str]) -> None:
    found = urls_in_outputs(folder, kinds)
    assert set(found) == set(kinds)
    for kind, listed in found.items():
        assert sorted(listed) == sorted(urls), kind


@pytest.mark.parametrize("kinds", OUTPUT_KINDS.values(), ids=OUTPUT_KINDS.keys())
def test_crawl_writes_each_configured_output_once(tmp_path, kinds):
    site = MockSite(PAGES)
    output = output_settings(tmp_path, kinds)
    result = crawl(site.url("/"), follow=True, workers=0, transport=site.transport(), output=output)
    urls = {record["url"] for record in result.records}
    assert len(result.records) == len(urls) == 4
    assert_each_record_once(tmp_path, kinds, urls)


@pytest.mark.parametrize("kinds", OUTPUT_KINDS.values(), ids=OUTPUT_KINDS.keys())
async def test_acrawl_writes_each_configured_output_once(tmp_path, kinds):
    site = MockSite(PAGES)
    output = output_settings(tmp_path, kinds)
    records = [
        r
        async for r in acrawl(
            site.url("/"), follow=True, workers=0, transport=site.transport(), output=output
        )
    ]
    urls = {record["url"] for record in records}
    assert len(records) == len(urls) == 4
    assert_each_record_once(tmp_path, kinds, urls)


@pytest.mark.parametrize("kinds", OUTPUT_KINDS.values(), ids=OUTPUT_KINDS.keys())
def test_the_command_line_writes_each_configured_output_once(tmp_path, live_site, kinds):
    site = live_site(PAGES)
    job = tmp_path / "job.toml"
    job.write_text(
        tomli_w.dumps(
            {
                "seeds": site.url("/"),
                "follow": True,
                "workers": 0,
                "fetch": {"allow_private": True},
                "output": output_settings(tmp_path, kinds),
            }
        )
    )
    result = parcrawl("run", str(job))
    assert result.returncode == 0, result.stderr
    urls = {site.url(path) for path in ("/", "/a", "/b?x=1", "/gone")}
    assert_each_record_once(tmp_path, kinds, urls)


# -- user scripts: no `if __name__ == "__main__":` guard, code on stdin, python -c --

SCRIPT = """
import json
from crawler import crawl

result = crawl({url!r}, follow=True, workers=2, batch_size=1, fetch={{"allow_private": True}})
print(json.dumps([(r["url"], (r["error"] or {{}}).get("code")) for r in result.records]))
"""

MAIN_STEP_SCRIPT = """
from crawler import crawl

def mark(record):
    return record

crawl({url!r}, workers=2, fetch={{"allow_private": True}}, steps=[{{"use": "__main__:mark"}}])
"""

LINKED = {"/": "".join(f"<a href='/p{n}'>{n}</a>" for n in range(12))}
LINKED.update({f"/p{n}": f"<title>{n}</title>" for n in range(12)})


def run_python(args: list[str], folder: Path, stdin: str | None = None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("how", ["script file", "stdin", "-c"])
def test_a_plain_script_crawls_with_workers(tmp_path, live_site, how):
    site = live_site(LINKED)
    code = SCRIPT.format(url=site.url("/"))
    (tmp_path / "plain.py").write_text(code)
    args = {"script file": ["plain.py"], "stdin": ["-"], "-c": ["-c", code]}[how]
    done = run_python(args, tmp_path, stdin=code if how == "stdin" else None)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    records = json.loads(done.stdout)
    assert len(records) == 13
    assert {code for _url, code in records} == {None}  # every page parsed, none a parse_crash


def test_a_step_in_a_main_module_from_stdin_is_one_clear_error_before_the_crawl(
    tmp_path, live_site
):
    site = live_site(LINKED)
    done = run_python(["-"], tmp_path, stdin=MAIN_STEP_SCRIPT.format(url=site.url("/")))
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("crawler.errors.ConfigError: the step '__main__:mark' is defined in")
    assert "move it into a module file, or set workers = 0" in last
    assert site.requests == []  # said before anything was fetched


def test_installing_parcrawl_installs_what_the_testing_kit_needs():
    # The mock_site fixture is active in every suite once parcrawl is installed; it needs
    # respx, so `pip install parcrawl pytest` must bring respx along.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0] for spec in project["dependencies"]}
    assert "respx" in names


def test_a_step_in_an_unguarded_script_says_to_add_the_main_guard(tmp_path, live_site):
    site = live_site(LINKED)
    (tmp_path / "job.py").write_text(MAIN_STEP_SCRIPT.format(url=site.url("/")))
    done = run_python(["job.py"], tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("crawler.errors.WorkerPoolError: the parse worker processes could not")
    assert 'put the crawl under `if __name__ == "__main__":`' in last
    assert "parse_crash" not in done.stdout + done.stderr
