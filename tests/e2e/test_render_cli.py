"""Rendering from the command line, in a real Chromium: ``--render auto`` on a loopback
application whose text and links exist only once its script ran, beside a static site.

One crawl (a job file: ``[render]``, CSS fields, main content, a WARC) is read by the
small tests below; ``never`` and a missing browser are crawls of their own, quick ones.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.cli import parcrawl, started_parcrawl
from tests.support.routes import RouteServer
from tests.support.spa import APP_PAGES, STATIC_PAGES, app_server, static_server
from tests.support.warcs import of_type, read_warc

SAMPLE = 3
PROBES = 2


@dataclass
class Crawled:
    app: RouteServer
    static: RouteServer
    records: dict[str, dict[str, Any]]
    run: subprocess.CompletedProcess[str]
    warc: Path


def records_of(path: Path) -> dict[str, dict[str, Any]]:
    return {record["url"]: record for record in map(json.loads, path.read_text().splitlines())}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[RouteServer, RouteServer]]:
    with app_server() as app, static_server() as static:
        yield app, static


@pytest.fixture(scope="module")
def crawled(
    servers: tuple[RouteServer, RouteServer], tmp_path_factory: pytest.TempPathFactory
) -> Crawled:
    app, static = servers
    tmp = tmp_path_factory.mktemp("render")
    job = tmp / "job.toml"
    job.write_text(
        f"""
seeds = ["{app.url("/")}", "{static.url("/")}"]
follow = true
workers = 1
content = "fast"

[render]
mode = "auto"
sample = {SAMPLE}
probe = {PROBES}
timeout_s = 3.0
idle_cap_s = 1.0

[extract.fields]
price = {{ css = ".price" }}
"""
    )
    out, warc = tmp / "out.jsonl", tmp / "out.warc.gz"
    run = parcrawl("run", str(job), "-o", str(out), "--warc", str(warc), timeout_s=90)
    assert run.returncode == 0, run.stderr
    return Crawled(app, static, records_of(out), run, warc)


def app_pages(crawled: Crawled) -> dict[str, dict[str, Any]]:
    prefix = crawled.app.base_url
    return {url: r for url, r in crawled.records.items() if url.startswith(prefix)}


def static_pages(crawled: Crawled) -> dict[str, dict[str, Any]]:
    prefix = crawled.static.base_url
    return {url: r for url, r in crawled.records.items() if url.startswith(prefix)}


def test_auto_finds_the_pages_linked_only_from_rendered_pages(crawled: Crawled) -> None:
    app = crawled.app
    expected = {app.url("/"), app.url("/forever")} | {
        app.url(f"/p/{n}") for n in range(1, APP_PAGES)
    }
    assert set(app_pages(crawled)) == expected


def test_a_rendered_page_is_read_from_its_dom(crawled: Crawled) -> None:
    page = crawled.records[crawled.app.url("/p/2")]
    assert page["rendered"] is True
    assert page["render_reason"] in ("empty_root", "host_dynamic")
    assert page["error"] is None
    assert page["title"] == "Product 2"
    assert page["fields"]["price"] == "12.00 EUR"  # a CSS rule, on the rendered DOM
    assert "built in the browser" in page["content"]  # --content too
    assert page["links"] == [crawled.app.url("/p/3")]


def test_the_application_host_goes_straight_to_the_browser(crawled: Crawled) -> None:
    reasons = [r["render_reason"] for r in app_pages(crawled).values() if r["rendered"]]
    # its shells are flagged (and learnt from) until the host is known to need rendering
    assert set(reasons) <= {"empty_root", "host_dynamic"}
    assert "host_dynamic" in reasons
    assert len(reasons) == APP_PAGES  # every page but the one whose script never ends


def test_static_pages_are_read_as_fetched_the_probes_rendered_only_to_learn(
    crawled: Crawled,
) -> None:
    pages = static_pages(crawled)
    assert len(pages) == STATIC_PAGES
    assert not any(r["rendered"] for r in pages.values())
    reasons = [r["render_reason"] for r in pages.values()]
    assert reasons.count("probe") == PROBES
    assert set(reasons) == {"probe", "static_html"}
    assert all(r["fields"]["price"].endswith("50 EUR") for r in pages.values())


def test_a_page_whose_script_never_ends_is_a_render_timeout_with_its_static_fields(
    crawled: Crawled,
) -> None:
    page = crawled.records[crawled.app.url("/forever")]
    assert page["error"]["code"] == "render_timeout"
    assert page["rendered"] is False
    assert page["status"] == 200
    assert page["title"] == "Busy"  # read from the page as fetched


def test_the_summary_counts_rendered_pages_per_host(crawled: Crawled) -> None:
    lines = [line.removeprefix("parcrawl: ") for line in crawled.run.stderr.splitlines()]
    render = next(line for line in lines if line.startswith("render:"))
    assert f"{crawled.app.base_url.removeprefix('http://')}" in render
    assert "render_timeout 1" in render
    assert f"{PROBES} more to learn" in render  # the static host's probes
    served = next(line for line in lines if line.startswith("render requests:"))
    assert int(served.split()[2]) >= APP_PAGES  # each page's script and its data


def test_the_warc_holds_each_rendered_dom_as_a_conversion_of_its_response(
    crawled: Crawled,
) -> None:
    records = read_warc(crawled.warc)
    responses = {r.headers["WARC-Target-URI"]: r for r in of_type(records, "response")}
    conversions = {r.headers["WARC-Target-URI"]: r for r in of_type(records, "conversion")}
    rendered = {url for url, r in crawled.records.items() if r["rendered"]}
    assert set(conversions) == rendered
    page = crawled.app.url("/p/1")
    conversion = conversions[page]
    assert conversion.headers["WARC-Refers-To"] == responses[page].headers["WARC-Record-ID"]
    assert conversion.headers["Content-Type"].startswith("text/html")
    assert b"Product 1 is built in the browser" in conversion.payload
    assert b"Product 1 is built" not in responses[page].payload  # the shell as served


def test_never_sees_only_the_shell(
    servers: tuple[RouteServer, RouteServer], tmp_path: Path
) -> None:
    app, _ = servers
    out = tmp_path / "out.jsonl"
    run = parcrawl("crawl", app.url("/"), "--follow", "--render", "never", "-o", str(out))
    assert run.returncode == 0, run.stderr
    records = records_of(out)
    assert list(records) == [app.url("/")]
    assert "rendered" not in records[app.url("/")]  # a crawl that never renders: as ever
    assert "render" not in run.stderr


def test_a_missing_browser_is_one_line_and_exit_2_before_any_output(
    servers: tuple[RouteServer, RouteServer], tmp_path: Path
) -> None:
    app, _ = servers
    job = tmp_path / "job.toml"
    job.write_text(
        f'seeds = ["{app.url("/")}"]\n[render]\nmode = "auto"\nbrowser = "{tmp_path}/chromium"\n'
    )
    out = tmp_path / "out.jsonl"
    for command in (("run", str(job), "-o", str(out)), ("check", str(job))):
        run = parcrawl(*command)
        assert run.returncode == 2, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "chromium" in run.stderr.lower()
    assert not out.exists()


def test_ctrl_c_during_renders_leaves_no_chromium_running(
    servers: tuple[RouteServer, RouteServer], tmp_path: Path
) -> None:
    app, _ = servers
    out = tmp_path / "out.jsonl"
    crawl = started_parcrawl(
        "crawl",
        app.url("/forever"),
        "--render",
        "always",
        "-o",
        str(out),
        "-q",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(crawl.pid)
    browsers: list[psutil.Process] = []
    try:
        for _ in range(300):  # polled, at most 30 s: until the browser runs
            browsers = [p for p in parent.children(recursive=True) if "chrom" in p.name()]
            if browsers or crawl.poll() is not None:
                break
            psutil.wait_procs([parent], timeout=0.1)
        assert browsers, "no Chromium started"
        crawl.send_signal(2)
        crawl.wait(timeout=30)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    _, alive = psutil.wait_procs(browsers, timeout=10)
    assert alive == []
