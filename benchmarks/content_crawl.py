"""``bench_content.py --crawl``: the article pages crawled through a loopback server, as a user's
crawl would get them, by ``parcrawl crawl --content precise`` and ``fast`` and by a Scrapy +
trafilatura spider; quality of what each wrote, and what the crawl cost.

The server (a thread of this process, so its CPU time is no contender's) serves ``/``, a page
linking to every article (``--copies`` times each, under different URLs, for a longer crawl),
and the articles at ``/page/ID``; every contender starts from ``/`` and follows links one hop
(``--follow --max-depth 1``; Scrapy's ``DEPTH_LIMIT=1``). Each runs as a subprocess, sampled
every 0.05 s: ``pages/s`` is articles written per second of wall time, start-up included;
``peak PSS`` sums the process tree's proportional set size; ``worker ms/page`` is the CPU of
the process's children (parcrawl's parse workers) per article, ``main ms/page`` its own.
Scrapy extracts in its one process: its ``main ms/page`` is all of it.

``--site pydocs`` crawls the Python documentation instead (Debian's ``python3.11-doc``,
served from its folder; no true text, so speed and memory only), every contender following
links from ``index.html`` with no depth limit. ``--workers 1,2`` runs parcrawl once per
worker count: how throughput grows with cores.
"""

from __future__ import annotations

import functools
import html
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from process_tree import ROOT, TreeSampler, exited, kill_tree, local_env, own_cpu_of

HERE = Path(__file__).resolve().parent
SAMPLE_INTERVAL_S = 0.05
TIMEOUT_S = 1800.0
MIB = 2**20
CONTENDERS = ("parcrawl-precise", "parcrawl-fast", "scrapy-trafilatura")


@dataclass
class Run:
    """One contender's crawl: what it wrote (page id -> text) and what it cost."""

    name: str
    texts: dict[str, str]
    pages: int
    wall_s: float
    peak_pss_bytes: int
    cpu_s: float
    main_cpu_s: float
    problem: str | None = None


@contextmanager
def running(server: ThreadingHTTPServer) -> Iterator[str]:
    """``server`` serving from a thread of this process (its CPU is no contender's); yields
    its base URL, and stops it at the end."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving(pages: dict[str, str], copies: int) -> Iterator[str]:
    """Serve the index and the articles on 127.0.0.1; yields the base URL."""
    bodies = {
        f"/page/{pid}-{copy}": text.encode()
        for pid, text in pages.items()
        for copy in range(copies)
    }
    links = "".join(
        f'<li><a href="{html.escape(path)}">{html.escape(path)}</a></li>' for path in bodies
    )
    index = f"<!doctype html><title>Articles</title><ul>{links}</ul>".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            body = index if path == "/" else bodies.get(path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with running(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as base_url:
        yield base_url


@dataclass(frozen=True)
class Crawl:
    """What every contender crawls: from ``start``, links followed ``max_depth`` hops (None:
    all), parcrawl with ``workers`` parse processes."""

    start: str
    max_depth: int | None
    workers: int = 2


def command_for(name: str, crawl: Crawl, output: Path) -> list[str]:
    """The contender's command line for ``crawl``, writing ``output``."""
    python = sys.executable
    if name.startswith("parcrawl-"):
        engine = name.removeprefix("parcrawl-")
        cli = (
            [python, "-m", "cli"]
            if (ROOT / "cli" / "__main__.py").exists()
            else [python, str(ROOT / "cli.py")]
        )
        depth = [] if crawl.max_depth is None else ["--max-depth", str(crawl.max_depth)]
        return [
            *cli, "crawl", crawl.start, "--follow", *depth, "--content", engine.split()[0],
            "--workers", str(crawl.workers), "-o", str(output), "-q",
        ]  # fmt: skip
    feeds = json.dumps({str(output): {"format": "jsonl", "encoding": "utf-8"}})
    return [
        python, "-m", "scrapy", "runspider", str(HERE / "scrapy_content_spider.py"),
        "-a", f"start={crawl.start}", "-s", f"DEPTH_LIMIT={crawl.max_depth or 0}",
        "-s", f"FEEDS={feeds}",
        "-s", "LOG_LEVEL=ERROR",
    ]  # fmt: skip


def run_contender(
    name: str, crawl: Crawl, output: Path, *, keyed: Callable[[str], str | None] | None = None
) -> Run:
    """Run one contender to its end, sampling its process tree; read back what it wrote."""
    output.unlink(missing_ok=True)
    errors = output.with_suffix(".stderr")
    started = time.perf_counter()
    with errors.open("wb") as stderr:  # a file, not a pipe: a full pipe would stall the child
        child = subprocess.Popen(
            command_for(name, crawl, output),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=local_env(),
            cwd=ROOT,
        )
    sampler = TreeSampler(child.pid)
    main_cpu_s: float | None = None
    while True:
        sampler.sample()
        if exited(child.pid):
            main_cpu_s = own_cpu_of(sampler.root)
            break
        if time.perf_counter() - started > TIMEOUT_S:
            kill_tree(sampler.root)
            break
        time.sleep(SAMPLE_INTERVAL_S)
    child.wait()
    wall_s = time.perf_counter() - started
    texts = read_texts(output, keyed or article_key)
    problem = None
    if child.returncode != 0:
        tail = errors.read_text(errors="replace").strip().splitlines()[-3:]
        problem = f"exited with {child.returncode}: " + " | ".join(tail)
    return Run(
        name,
        texts,
        len(texts),
        wall_s,
        sampler.peak_pss_bytes,
        sampler.sampled_cpu_s,
        main_cpu_s or 0.0,
        problem,
    )


def article_key(path: str) -> str | None:
    """An article's ``ID-COPY`` from its URL path; None for the index page."""
    return path.removeprefix("/page/") if path.startswith("/page/") else None


def read_texts(output: Path, keyed: Callable[[str], str | None]) -> dict[str, str]:
    """Each page's main content as the contender wrote it, by the key ``keyed`` gives its URL
    path (pages it gives None are left out)."""
    texts: dict[str, str] = {}
    if not output.exists():
        return texts
    with output.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            key = keyed(urlsplit(str(record.get("url"))).path)
            if key is None or record.get("status") != 200:
                continue
            text = record.get("content", record.get("markdown"))
            if isinstance(text, str):  # an HTML page: its main content, even if empty
                texts[key] = text
    return texts


def crawl_mode(
    pages: dict[str, str],
    truth: dict[str, Any],
    scorer: ModuleType,
    *,
    copies: int,
    only: list[str] | None,
    tmp: Path,
    workers: list[int],
) -> int:
    """Crawl the pages with each contender and print one row each; 1 if one broke."""
    names = contenders(only, workers)
    expected = len(pages) * copies
    print(f"crawl: {expected} articles ({len(pages)} x {copies}) from a loopback server")
    print(
        f"{'contender':20s} {'pages':>5s} {'F1':>6s} {'prec.':>6s} {'recall':>6s} "
        f"{'pages/s':>8s} {'peak PSS':>9s} {'worker ms/page':>15s} {'main ms/page':>13s}"
    )
    broke = False
    with serving(pages, copies) as base_url:
        for name in names:
            crawl = Crawl(f"{base_url}/", 1, workers_of(name))
            run = run_contender(name, crawl, tmp / f"{name.replace(' ', '-')}.jsonl")
            by_page = {key.rsplit("-", 1)[0]: text for key, text in run.texts.items()}
            if not by_page:
                print(f"{name:20s} {0:5d}  nothing written", flush=True)
            else:
                result = scorer.score({page: truth[page] for page in by_page}, by_page)
                articles = run.pages
                worker_ms = (run.cpu_s - run.main_cpu_s) / articles * 1000
                print(
                    f"{name:20s} {run.pages:5d} {result['f1']:6.3f} {result['precision']:6.3f} "
                    f"{result['recall']:6.3f} {run.pages / run.wall_s:8.1f} "
                    f"{run.peak_pss_bytes / MIB:7.0f} M {worker_ms:15.1f} "
                    f"{run.main_cpu_s / articles * 1000:13.1f}",
                    flush=True,
                )
            if run.problem or run.pages != expected:
                broke = True
                print(f"  {name}: {run.problem or f'wrote {run.pages} of {expected} articles'}")
    if "scrapy-trafilatura" in names:
        print(
            "scrapy-trafilatura is scored on its Markdown (what it extracts); parcrawl on content"
        )
    return 1 if broke else 0


def contenders(only: list[str] | None, workers: list[int]) -> list[str]:
    """The contenders to run: each parcrawl engine once per worker count (``w2`` beside its
    name when more than one count is asked for), then Scrapy."""
    names = []
    for name in CONTENDERS:
        if only and name not in only:
            continue
        if name.startswith("parcrawl-") and len(workers) > 1:
            names += [f"{name} w{count}" for count in workers]
        else:
            names.append(name)
    return names


def workers_of(name: str, default: int = 2) -> int:
    """The worker count a contender's name carries (``parcrawl-precise w1``), else ``default``."""
    _, _, suffix = name.partition(" w")
    return int(suffix) if suffix.isdigit() else default


@contextmanager
def serving_folder(folder: Path) -> Iterator[str]:
    """``folder`` served on loopback by a thread of this process; yields its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    handler = functools.partial(Quiet, directory=str(folder))
    with running(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as base_url:
        yield base_url


def docs_mode(folder: Path, *, only: list[str] | None, tmp: Path, workers: list[int]) -> int:
    """Crawl the Python docs in ``folder`` with each contender: speed and memory, one row each."""
    if not (folder / "index.html").is_file():
        print(f"no Python docs at {folder}: apt-get install python3.11-doc")
        return 1
    print(f"crawl: the Python docs from {folder}, every link followed from index.html")
    print(
        f"{'contender':24s} {'pages':>5s} {'pages/s':>8s} {'peak PSS':>9s} "
        f"{'worker ms/page':>15s} {'main ms/page':>13s}"
    )
    rates: dict[str, float] = {}
    broke = False
    with serving_folder(folder) as base_url:
        for name in contenders(only, workers):
            crawl = Crawl(f"{base_url}/index.html", None, workers_of(name))
            run = run_contender(
                name, crawl, tmp / f"{name.replace(' ', '-')}.jsonl", keyed=lambda path: path
            )
            if run.pages == 0:
                print(f"{name:24s} {0:5d}  nothing written: {run.problem}", flush=True)
                broke = True
                continue
            rates[name] = run.pages / run.wall_s
            worker_ms = (run.cpu_s - run.main_cpu_s) / run.pages * 1000
            print(
                f"{name:24s} {run.pages:5d} {rates[name]:8.1f} "
                f"{run.peak_pss_bytes / MIB:7.0f} M {worker_ms:15.1f} "
                f"{run.main_cpu_s / run.pages * 1000:13.1f}",
                flush=True,
            )
            broke = broke or run.problem is not None
    peer = rates.get("scrapy-trafilatura")
    if peer:
        for name, rate in rates.items():
            if name.startswith("parcrawl-"):
                print(f"{name} / scrapy-trafilatura: {rate / peer:.2f}x pages/s")
    return 1 if broke else 0
