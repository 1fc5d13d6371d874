"""Rendering (issue 25), measured in one run: ``parcrawl crawl --render`` as a user runs it.

1. ``throughput``: a loopback site of script-built pages (an empty root, a script bundle, the
   text and links fetched as JSON), crawled with ``--render always`` at 1, 2 and 4 pages
   rendered at once: rendered pages per second, and the browser's peak PSS (all Chromium
   processes) per page rendered at once.
2. ``pydocs``: the Python docs (Debian's python3.11-doc, served by nginx), ``--render auto``
   against ``--render never``: pages/s ratio, and how many pages auto rendered; and what
   auto costs when it renders there (search.html by a rule; three probes).
3. ``mixed``: a loopback site where every third page is built by script, ``--render auto``
   against ``--render always``: every script-built page's text and links present, static
   pages rendered, and the time.

Each crawl is a subprocess, sampled every 0.05 s; the site servers are threads of this
process (nginx for the docs). Needs Chromium (``scripts/system-packages``), Playwright
(``parcrawl[render]``) and nginx. Usage: ``python benchmarks/bench_render.py [--only NAME]``
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
from content_crawl import running
from nginx_server import nginx_serving
from process_tree import ROOT, exited, kill_tree, local_env

SAMPLE_INTERVAL_S = 0.05
TIMEOUT_S = 900.0
MIB = 2**20
PYDOCS = Path("/usr/share/doc/python3.11/html")
ROUNDS = 3

SHELL = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Loading</title>"
    "<script src='/app.js' defer></script></head><body><div id='root'></div></body></html>"
)
APP_JS = b"""
fetch('/api' + location.pathname).then(function (r) { return r.json(); }).then(function (d) {
  document.title = d.title;
  document.getElementById('root').innerHTML = '<h1>' + d.title + '</h1>' +
    d.paragraphs.map(function (p) { return '<p>' + p + '</p>'; }).join('') +
    '<ul>' + d.links.map(function (h) { return '<li><a href="' + h + '">' + h + '</a></li>'; })
      .join('') + '</ul>';
});
"""
WORDS = [
    "render",
    "crawl",
    "browser",
    "script",
    "page",
    "text",
    "link",
    "host",
    "sample",
    "static",
    "dynamic",
    "shell",
    "root",
    "bundle",
    "fetch",
    "parse",
    "record",
    "field",
    "selector",
    "learning",
    "verdict",
]


@dataclass
class Crawl:
    """One crawl's records and cost."""

    records: list[dict[str, Any]]
    wall_s: float
    peak_browser_pss: int

    @property
    def pages_per_s(self) -> float:
        return len(self.records) / self.wall_s

    @property
    def rendered(self) -> list[dict[str, Any]]:
        return [record for record in self.records if record.get("rendered")]


def paragraphs(index: int) -> list[str]:
    words = [WORDS[(index * 7 + n) % len(WORDS)] for n in range(60)]
    return [f"Page {index} says: " + " ".join(words[k : k + 20]) for k in (0, 20, 40)]


def children(index: int, total: int) -> list[int]:
    return [child for child in (index * 3 + 1, index * 3 + 2, index * 3 + 3) if child < total]


class SiteHandler(BaseHTTPRequestHandler):
    """``/{kind}/{n}``: kind ``spa`` is always a shell, ``mix`` one when n % 3 == 0; the
    data of a shell at ``/api/{kind}/{n}``; links form a tree of ``server.pages`` pages."""

    protocol_version = "HTTP/1.1"
    server: SiteServer

    def do_GET(self) -> None:
        if self.path == "/app.js":
            self._send(APP_JS, "application/javascript")
            return
        match = re.fullmatch(r"(/api)?/(spa|mix)/(\d+)", self.path)
        index = int(match.group(3)) if match else -1
        if match is None or index >= self.server.pages:
            self._send(b"<h1>not found</h1>", "text/html", status=404)
            return
        kind = match.group(2)
        links = [f"/{kind}/{child}" for child in children(index, self.server.pages)]
        data = {"title": f"Page {index}", "paragraphs": paragraphs(index), "links": links}
        if match.group(1):
            self._send(json.dumps(data).encode(), "application/json")
        elif kind == "spa" or index % 3 == 0:
            self._send(SHELL.encode(), "text/html; charset=utf-8")
        else:
            self._send(static_page(data), "text/html; charset=utf-8")

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pages: int) -> None:
        super().__init__(("127.0.0.1", 0), SiteHandler)
        self.pages = pages

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a kept-alive connection at the crawl's end: not news


def static_page(data: dict[str, Any]) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in data["paragraphs"])
    links = "".join(f"<li><a href='{href}'>{href}</a></li>" for href in data["links"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{data['title']}</title>"
        f"<script>window.stats = [];</script></head><body><h1>{data['title']}</h1>{body}"
        f"<ul>{links}</ul></body></html>"
    ).encode()


def serving(pages: int) -> AbstractContextManager[str]:
    """The script-built site of ``pages`` pages, served from a thread; yields its base URL."""
    return running(SiteServer(pages))


def browser_pss(root: psutil.Process) -> int:
    """PSS of every Chromium process under ``root``."""
    total = 0
    try:
        members = root.children(recursive=True)
    except psutil.Error:
        return 0
    for member in members:
        try:
            if "chrom" in member.name():
                total += getattr(member.memory_full_info(), "pss", 0)
        except psutil.Error:
            continue
    return total


def crawl(seed: str, tmp: Path, *flags: str) -> Crawl:
    """``parcrawl crawl SEED --follow FLAGS`` to the end (``parcrawl run SEED FLAGS`` for a
    job file); its records and cost."""
    out = tmp / "out.jsonl"
    out.unlink(missing_ok=True)
    how = ("run", seed) if seed.endswith(".toml") else ("crawl", seed, "--follow")
    command = [sys.executable, "-m", "cli", *how, "-q", "-o", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(
        [*command, *flags], env=local_env(), cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(child.pid)
    peak = 0
    while not exited(child.pid):
        peak = max(peak, browser_pss(root))
        if time.perf_counter() - started > TIMEOUT_S:
            kill_tree(root)
            break
        time.sleep(SAMPLE_INTERVAL_S)
    wall_s = time.perf_counter() - started
    _, stderr = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}: {stderr}")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return Crawl(records, wall_s, peak)


def throughput(tmp: Path, pages: int) -> None:
    print(f"throughput: {pages} script-built pages, --render always, workers 1")
    print(f"{'at once':>8} {'pages/s':>8} {'browser PSS':>12} {'per page':>9}")
    with serving(pages) as base:
        for concurrency in (1, 2, 4):
            run = crawl(
                f"{base}/spa/0",
                tmp,
                "--render",
                "always",
                "--render-concurrency",
                str(concurrency),
                "--workers",
                "1",
            )
            built = [r for r in run.rendered if r["title"] and r["title"].startswith("Page")]
            assert len(built) == pages, f"{len(built)} of {pages} pages built"
            rendered_per_s = len(run.rendered) / run.wall_s
            peak = run.peak_browser_pss / MIB
            print(
                f"{concurrency:>8} {rendered_per_s:>8.1f} {peak:>9.0f} MiB"
                f" {peak / concurrency:>5.0f} MiB"
            )


def pydocs(tmp: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    print(f"pydocs: the Python docs, --render auto against never (workers 2, best of {ROUNDS})")
    www = tmp / "www"
    www.symlink_to(PYDOCS)
    nginx_tmp = tmp / "nginx"
    nginx_tmp.mkdir()
    with nginx_serving(nginx, www, nginx_tmp) as (base, _):
        seed = f"{base}/index.html"
        # what auto costs when it does render: search.html by a rule (its results are
        # built by script; it loads a 3 MB index), and three probes of static pages
        job = f'seeds = ["{seed}"]\nfollow = true\nworkers = 2\n[render]\nmode = "auto"\n'
        ruled, probing = tmp / "search-ruled.toml", tmp / "probing.toml"
        ruled.write_text(job + '[[render.rules]]\nmatch = "/search\\\\.html"\nmode = "always"\n')
        probing.write_text(job + "probe = 3\n")
        runs: dict[str, list[Crawl]] = {"never": [], "auto": [], "ruled": [], "probes": []}
        for _ in range(ROUNDS):  # alternated, best of ROUNDS: the machine is shared
            runs["never"].append(crawl(seed, tmp, "--render", "never", "--workers", "2"))
            runs["auto"].append(crawl(seed, tmp, "--render", "auto", "--workers", "2"))
            runs["ruled"].append(crawl(str(ruled), tmp))
            runs["probes"].append(crawl(str(probing), tmp))
    never, auto, ruled_run, probes = (
        min(done, key=lambda run: run.wall_s) for done in runs.values()
    )
    reasons: dict[str, int] = {}
    for record in auto.records:
        reason = record["render_reason"]
        reasons[reason] = reasons.get(reason, 0) + 1
    probed = sum(1 for record in probes.records if record.get("render_reason") == "probe")
    print(
        f"never: {len(never.records)} pages, {never.pages_per_s:.1f} pages/s; "
        f"auto: {len(auto.records)} pages, {auto.pages_per_s:.1f} pages/s "
        f"({auto.pages_per_s / never.pages_per_s:.2f}x), rendered {len(auto.rendered)}, "
        f"reasons {reasons}"
    )
    print(
        f"auto with search.html rendered by a rule: {ruled_run.pages_per_s:.1f} pages/s "
        f"({ruled_run.pages_per_s / never.pages_per_s:.2f}x, {len(ruled_run.rendered)} "
        f"rendered); auto with probe = 3: {probes.pages_per_s:.1f} pages/s "
        f"({probes.pages_per_s / never.pages_per_s:.2f}x, {probed} probed)"
    )


def pydocs_copies(tmp: Path, copies: int) -> None:
    """The docs ``copies`` times on one host (``/v1/`` ...): the browser's fixed costs and
    the host's sample spread over a longer crawl."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    print(f"pydocs x{copies}: the docs {copies} times on one host, auto against never")
    www = tmp / "www-copies"
    www.mkdir()
    for n in range(1, copies + 1):
        (www / f"v{n}").symlink_to(PYDOCS)
    links = "".join(f'<a href="/v{n}/index.html">v{n}</a> ' for n in range(1, copies + 1))
    (www / "index.html").write_text(f"<title>Docs</title><h1>Versions</h1>{links}")
    nginx_tmp = tmp / "nginx-copies"
    nginx_tmp.mkdir()
    with nginx_serving(nginx, www, nginx_tmp) as (base, _):
        runs: dict[str, list[Crawl]] = {"never": [], "auto": []}
        for _ in range(2):
            for mode, done in runs.items():
                done.append(crawl(f"{base}/index.html", tmp, "--render", mode, "--workers", "2"))
    never, auto = (min(done, key=lambda run: run.wall_s) for done in runs.values())
    print(
        f"never: {len(never.records)} pages, {never.pages_per_s:.1f} pages/s; "
        f"auto: {auto.pages_per_s:.1f} pages/s ({auto.pages_per_s / never.pages_per_s:.2f}x), "
        f"rendered {len(auto.rendered)}"
    )


def mixed(tmp: Path, pages: int) -> None:
    print(f"mixed: {pages} pages, every third built by script; --render auto against always")
    with serving(pages) as base:
        auto = crawl(f"{base}/mix/0", tmp, "--render", "auto", "--workers", "1")
        always = crawl(f"{base}/mix/0", tmp, "--render", "always", "--workers", "1")
    for name, run in (("auto", auto), ("always", always)):
        by_index = {int(r["url"].rsplit("/", 1)[1]): r for r in run.records}
        built = [by_index.get(index) for index in range(0, pages, 3)]
        complete = sum(
            1
            for index, record in zip(range(0, pages, 3), built, strict=True)
            if record is not None
            and f"Page {index} says" in (record["text"] or "")
            and len(record["links"] or []) == len(children(index, pages))
        )
        static_rendered = sum(1 for r in run.rendered if int(r["url"].rsplit("/", 1)[1]) % 3)
        probed = sum(1 for record in run.records if record.get("render_reason") == "probe")
        print(
            f"{name:>6}: {len(run.records)} pages in {run.wall_s:.1f} s, "
            f"script-built pages complete {complete}/{len(built)}, "
            f"static pages rendered {static_rendered} (and {probed} probed), "
            f"browser peak PSS {run.peak_browser_pss / MIB:.0f} MiB"
        )
    print(f"auto takes {auto.wall_s / always.wall_s:.2f}x the time of always")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("throughput", "pydocs", "mixed"))
    parser.add_argument("--pages", type=int, default=60, help="pages of the loopback sites")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as folder:
        tmp = Path(folder)
        if args.only in (None, "throughput"):
            throughput(tmp, args.pages)
        if args.only in (None, "pydocs"):
            pydocs(tmp)
            pydocs_copies(tmp, 5)
        if args.only in (None, "mixed"):
            mixed(tmp, args.pages * 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
