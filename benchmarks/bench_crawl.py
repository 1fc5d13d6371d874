"""Crawl throughput and memory of parcrawl against its baselines, reported as ratios of one run.

Serves the synthetic demo site (``crawler.demo_site.SyntheticSite``) from nginx on 127.0.0.1
and runs each contender as its own subprocess: parcrawl ``--workers 0`` (inline parse) and
``--workers 2`` given every URL in a list, the same two given only the start page with
``--follow`` (``follow-w0``, ``follow-w2``: discovery, dedupe, scope and robots.txt included),
a naive asyncio+httpx+bs4 crawler, Scrapy (when installed), wget2 (fetch only, when
installed), and ``parse_page`` over the pages on disk in one and two processes (the parse
limit, no network).

How to read it: ``rate`` is HTML pages parsed per second of wall time (start-up included) for
the crawlers, pages per second of the timed parse for the parse limits, and URLs fetched per
second for wget2. ``peak RSS`` sums the resident memory of the process and all its children,
sampled every 0.05 s (pages shared after fork count once per process, so it over-states a
pool). ``CPU s`` is user+system of that tree; ``nginx CPU s`` is the server's share, and
``other CPU s`` is busy CPU time on the machine outside both: when it is large, something else
was running and the numbers are noisy. The ratios compare rates (and peak RSS) from this one
run; the targets beside them are information and never change the exit code. A follow crawl
should write one line per HTML page and per 404 link, all reachable from the start page (the
PDF/CSV/PNG files are skipped by extension when following links); it is flagged broken only
when fewer lines than the site's HTML pages have status 200, and another line count is a note.

Usage: ``python benchmarks/bench_crawl.py [--pages 2000] [--runs 1] [--only NAME,...]
[--json FILE]``. Exits 1 when something broke (nginx did not start, a contender exited
non-zero or wrote the wrong number of records), 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

try:  # the site generator is a fixture, not what is measured; the crawler tree is moving
    from crawler.demo_site import SyntheticSite
except ImportError:  # pragma: no cover - the layout after the crawler/ re-lay
    from crawler.demo import SyntheticSite  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLI = ROOT / "cli.py"
PYDOCS_DIR = Path("/usr/share/doc/python3.11/html")
SYNTHETIC = "synthetic"
PYDOCS = "pydocs"
SITES = (SYNTHETIC, PYDOCS)
SAMPLE_INTERVAL_S = 0.05
NGINX_START_TIMEOUT_S = 10.0
NGINX_STOP_TIMEOUT_S = 5.0
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy")
HTML_RATE = "HTML pages/s"
URL_RATE = "URLs/s"

PARCRAWL_FAST = "parcrawl-fast"  # --parser lxml, 2 workers
PARCRAWL_BS4 = "parcrawl-bs4"  # --parser bs4, 2 workers
PARCRAWL = "parcrawl"  # the default parse path, 2 workers: what runs when there is no --parser
PARCRAWL_W0 = "parcrawl-w0"
PARCRAWL_W2 = "parcrawl-w2"
NAIVE = "naive"
SCRAPY_PARSEL = "scrapy-parsel"
SCRAPY_BS4 = "scrapy-bs4"
WGET2 = "wget2"
PARSE_1 = "parse-1core"
PARSE_2 = "parse-2core"
PARSE_COMPARE = "parse-compare"
FOLLOW_W0 = "follow-w0"
FOLLOW_W2 = "follow-w2"
FOLLOW_STATE = "follow-w2-state"
ISSUE_16_BENCHES = (PARCRAWL_FAST, PARCRAWL_BS4, SCRAPY_PARSEL, SCRAPY_BS4, NAIVE, PARSE_COMPARE)
ALL_BENCHES = (
    *ISSUE_16_BENCHES,
    PARCRAWL_W0,
    PARCRAWL_W2,
    FOLLOW_W0,
    FOLLOW_W2,
    FOLLOW_STATE,
    WGET2,
    PARSE_1,
    PARSE_2,
)
PARCRAWL_BENCHES = frozenset(
    {PARCRAWL_FAST, PARCRAWL_BS4, PARCRAWL, PARCRAWL_W0, PARCRAWL_W2, FOLLOW_W0, FOLLOW_W2}
) | {FOLLOW_STATE}
SYNTHETIC_ONLY = frozenset({FOLLOW_W0, FOLLOW_W2, FOLLOW_STATE})  # start from / on the demo
COMPARE_SAMPLE = {SYNTHETIC: 300, PYDOCS: 120}  # pages parse-compare times, spread evenly


@dataclass(frozen=True, slots=True)
class Bench:
    """One contender: the command to run and how to count what it did."""

    name: str
    command: list[str]
    unit: str
    items: int  # what the rate counts: HTML pages or URLs
    output: Path | None = None  # JSONL whose lines are counted, one per URL
    ok_exit_codes: tuple[int, ...] = (0,)
    timed_by_itself: bool = False  # prints {"parse_s": ...}: rate from that, not wall time
    follows_links: bool = False  # starts from "/" alone: checked by its 200s, not its lines
    compares_parsers: bool = False  # parse_only.py --compare: its JSON is the result


@dataclass(slots=True)
class Result:
    """What one run of a bench measured."""

    name: str
    unit: str
    wall_s: float = 0.0
    rate: float = 0.0
    lines: int | None = None
    ok_lines: int | None = None
    peak_rss_bytes: int = 0
    peak_pss_bytes: int = 0
    rss_samples: int = 0
    cpu_s: float = 0.0
    main_cpu_s: float | None = None  # the crawler process alone, its children excluded
    main_ms_per_page: float | None = None
    pages_seen: list[str] = field(default_factory=list)  # URLs answered 200 with HTML fields
    parse_compare: dict[str, Any] | None = None
    nginx_cpu_s: float = 0.0
    other_cpu_s: float = 0.0
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def broke(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True, slots=True)
class Site:
    """A site as the benches count it: a complete crawl writes one line per URL, ``ok`` of
    them with status 200 (the rest are the site's 404 links), ``html_urls`` among them."""

    name: str
    www: Path
    html_paths: list[str]
    urls: int
    ok: int
    url_list: list[str]  # what list-driven crawlers are given, relative to the base URL
    html_urls: frozenset[str] = frozenset()  # absolute, filled in once the base URL is known


class TreeSampler:
    """Peak RSS, peak PSS and CPU time of a process and all its descendants, from samples.

    PSS (proportional set size) shares each page among the processes mapping it, so a
    forked pool is not counted once per worker as RSS counts it: the sum over the tree is
    what the crawl costs the machine.
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss_bytes = 0
        self.peak_pss_bytes = 0
        self.samples = 0
        self._cpu_by_process: dict[tuple[int, float], float] = {}

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = 0
        for process in processes:
            try:
                with process.oneshot():
                    memory = process.memory_full_info()
                    rss += memory.rss
                    pss += getattr(memory, "pss", 0)
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
            except psutil.Error:
                continue
            self._cpu_by_process[key] = times.user + times.system
        self.samples += 1
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        self.peak_pss_bytes = max(self.peak_pss_bytes, pss)

    @property
    def sampled_cpu_s(self) -> float:
        """CPU seconds of every process seen, as of its last sample."""
        return sum(self._cpu_by_process.values())


def tree_cpu_s(process: psutil.Process) -> float:
    """User+system seconds of a live process tree (nginx: master and workers)."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
    return total


def busy_cpu_s() -> float:
    """Machine-wide non-idle CPU seconds since boot."""
    fields: dict[str, float] = psutil.cpu_times()._asdict()
    not_busy = ("idle", "iowait", "guest", "guest_nice")  # guest time is already in user
    return sum(value for key, value in fields.items() if key not in not_busy)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def local_env() -> dict[str, str]:
    """This environment without proxies, so every request goes straight to 127.0.0.1.

    ``PYTHONPATH`` starts with this checkout, so ``cli.py`` and its worker processes import
    the code beside this script, not another installed copy of parcrawl.
    """
    env = {key: value for key, value in os.environ.items() if key.lower() not in PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def exited(pid: int) -> bool:
    """True once ``pid`` has exited; it stays a zombie (unreaped), so its CPU times are final."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def own_cpu_of(process: psutil.Process) -> float | None:
    """User+system seconds of this one process, its children excluded."""
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def kill_tree(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.Error):
        members = [*process.children(recursive=True), process]
        for member in members:
            with contextlib.suppress(psutil.Error):
                member.kill()
        psutil.wait_procs(members, timeout=5)


# -- nginx ---------------------------------------------------------------------------------

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        text/plain txt;
        application/pdf pdf;
        text/csv csv;
        image/png png;
    }}
    default_type application/octet-stream;
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    keepalive_timeout 65s;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        index index.html;
    }}
}}
"""


class NginxError(RuntimeError):
    """nginx would not start or answer."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def nginx_serving(nginx: str, www: Path, tmp: Path) -> Iterator[tuple[str, psutil.Process]]:
    """nginx serving ``www`` on a free 127.0.0.1 port; yields (base URL, master process).

    Raises:
        NginxError: nginx exited or did not answer within NGINX_START_TIMEOUT_S.
    """
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read a 0700 temp dir
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, www=www))
    error_log = tmp / "error.log"
    command = [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(error_log)]
    # Own session: Ctrl-C reaches the benchmark, which then stops nginx in its own time.
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_answering(server, port, error_log)
        yield base_url, psutil.Process(server.pid)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(NGINX_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                kill_tree(psutil.Process(server.pid))
                server.wait()
        if server.stderr is not None:
            server.stderr.close()


def _wait_until_answering(server: subprocess.Popen[bytes], port: int, error_log: Path) -> None:
    deadline = time.monotonic() + NGINX_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode(errors="replace") if server.stderr else ""
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise NginxError(f"nginx exited with {server.returncode}: {(stderr or log).strip()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise NginxError(f"nginx did not answer on 127.0.0.1:{port} in {NGINX_START_TIMEOUT_S:g} s")


# -- measuring -----------------------------------------------------------------------------


def measure(
    bench: Bench, *, nginx: psutil.Process, expected: Site, tmp: Path, timeout_s: float
) -> Result:
    """Run ``bench`` once as a subprocess and measure it."""
    result = Result(bench.name, bench.unit)
    if bench.output is not None:
        bench.output.unlink(missing_ok=True)
    stdout_path, stderr_path = tmp / f"{bench.name}.stdout", tmp / f"{bench.name}.stderr"
    reaped_before, own_before = children_cpu_s(), own_cpu_s()
    busy_before, nginx_before = busy_cpu_s(), tree_cpu_s(nginx)
    started = time.perf_counter()
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        child = subprocess.Popen(
            bench.command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=local_env()
        )
        sampler = TreeSampler(child.pid)
        try:
            while True:
                sampler.sample()
                if exited(child.pid):
                    result.main_cpu_s = own_cpu_of(sampler.root)
                    break
                if time.perf_counter() - started > timeout_s:
                    result.problems.append(f"timed out after {timeout_s:g} s")
                    break
                time.sleep(SAMPLE_INTERVAL_S)
        finally:
            if child.poll() is None:
                kill_tree(sampler.root)
                child.wait()
    result.wall_s = time.perf_counter() - started
    result.exit_code = child.returncode
    # Reaped descendants are exact in RUSAGE_CHILDREN; orphans (a forkserver) only sampled.
    result.cpu_s = max(children_cpu_s() - reaped_before, sampler.sampled_cpu_s)
    result.nginx_cpu_s = tree_cpu_s(nginx) - nginx_before
    ours = result.cpu_s + result.nginx_cpu_s + own_cpu_s() - own_before
    result.other_cpu_s = max(0.0, busy_cpu_s() - busy_before - ours)
    result.peak_rss_bytes = sampler.peak_rss_bytes
    result.peak_pss_bytes = sampler.peak_pss_bytes
    result.rss_samples = sampler.samples
    if result.main_cpu_s is not None and bench.items:
        result.main_ms_per_page = 1000 * result.main_cpu_s / bench.items

    if child.returncode not in bench.ok_exit_codes:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        result.problems.append(f"exited with {child.returncode}: " + " | ".join(tail))
    seconds = result.wall_s
    if bench.compares_parsers and not result.broke:
        result.parse_compare = json.loads(stdout_path.read_text())
        seconds = float(result.parse_compare["fast_s"])
        items = int(result.parse_compare["pages"])
        result.rate = items / seconds if seconds > 0 else 0.0
        return result
    if bench.timed_by_itself and not result.broke:
        report = json.loads(stdout_path.read_text())
        seconds = float(report["parse_s"])
    result.rate = bench.items / seconds if seconds > 0 else 0.0
    if bench.output is not None:
        result.lines, result.ok_lines, result.pages_seen = count_records(bench.output)
        if not bench.follows_links:
            check_pages(result, expected)
        if bench.follows_links:
            check_follow_crawl(result, expected)
        elif result.lines != expected.urls:
            result.problems.append(
                f"wrote {result.lines} records for {expected.urls} URLs (must be equal)"
            )
        elif result.ok_lines != expected.ok:
            result.problems.append(f"{result.ok_lines} records with status 200, {expected.ok} due")
    return result


def check_follow_crawl(result: Result, expected: Site) -> None:
    """A link-following crawl must reach every HTML page; other differences are notes.

    It should write the HTML pages and the 404 links, not the PDF/CSV/PNG files: those are
    skipped by extension (``scope.skip_extensions``) when following links.
    """
    lines, ok = result.lines or 0, result.ok_lines or 0
    html = len(expected.html_paths)
    due = html + expected.urls - expected.ok
    if ok < html:
        result.problems.append(f"{ok} records with status 200, fewer than the {html} HTML pages")
    elif lines != due:
        result.notes.append(
            f"wrote {lines} records ({ok} with status 200); {due} due: {html} HTML pages "
            f"and {expected.urls - expected.ok} 404 links"
        )


def check_pages(result: Result, expected: Site) -> None:
    """A list-driven crawl must have parsed exactly the site's HTML pages."""
    seen = set(result.pages_seen)
    missing, extra = expected.html_urls - seen, seen - expected.html_urls
    if missing or extra:
        example = sorted(missing or extra)[0]
        result.problems.append(
            f"parsed {len(seen)} HTML pages of {len(expected.html_urls)}: {len(missing)} "
            f"missing, {len(extra)} unexpected (e.g. {example})"
        )


def count_records(path: Path) -> tuple[int, int, list[str]]:
    """(JSONL lines, lines whose status is 200, URLs of the pages parsed) of a crawl's output.

    A page counts as parsed when its record has a status of 200 and a ``text`` field.
    """
    lines = ok = 0
    pages: list[str] = []
    if not path.exists():
        return 0, 0, pages
    with path.open(encoding="utf-8") as records:
        for line in records:
            if not line.strip():
                continue
            lines += 1
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("status") == 200:
                    ok += 1
                    if record.get("text") is not None:
                        pages.append(str(record.get("url")))
    return lines, ok, pages


# -- the contenders ------------------------------------------------------------------------


def has_parser_option() -> bool:
    """True when ``cli.py crawl`` takes ``--parser`` (the fast parse path exists)."""
    help_text = subprocess.run(
        [sys.executable, str(CLI), "crawl", "--help"],
        capture_output=True,
        text=True,
        env=local_env(),
        check=False,
        timeout=60,
    ).stdout
    return "--parser" in help_text


def parcrawl_names(wanted: Sequence[str], *, parser_option: bool) -> list[str]:
    """``wanted`` with the parcrawl parse paths this checkout has: without ``--parser``, only
    the default path runs, as ``parcrawl``."""
    if parser_option:
        return list(wanted)
    names: list[str] = []
    for name in wanted:
        kept = PARCRAWL if name in (PARCRAWL_FAST, PARCRAWL_BS4) else name
        if kept not in names:
            names.append(kept)
    return names


def build_benches(
    wanted: Sequence[str], *, urls_file: Path, base_url: str, tmp: Path, site: Site
) -> tuple[list[Bench], list[str]]:
    """The benches to run on ``site``, in order, and notes on those skipped."""
    benches: list[Bench] = []
    notes: list[str] = []
    html = len(site.html_paths)
    python = sys.executable
    parcrawl = [python, str(CLI), "crawl"]
    for name in wanted:
        output = tmp / f"{site.name}-{name}.jsonl"
        if name in SYNTHETIC_ONLY and site.name != SYNTHETIC:
            notes.append(f"{name}: skipped on {site.name} (it starts from the demo site's /)")
            continue
        if name in (PARCRAWL_FAST, PARCRAWL_BS4, PARCRAWL, PARCRAWL_W0, PARCRAWL_W2):
            workers = "0" if name == PARCRAWL_W0 else "2"
            command = [*parcrawl, "-i", str(urls_file), "-o", str(output), "--workers", workers]
            if name in (PARCRAWL_FAST, PARCRAWL_BS4):
                command += ["--parser", "lxml" if name == PARCRAWL_FAST else "bs4"]
            benches.append(Bench(name, [*command, "-q"], HTML_RATE, html, output))
        elif name in (FOLLOW_W0, FOLLOW_W2, FOLLOW_STATE):
            workers = "0" if name == FOLLOW_W0 else "2"
            command = [*parcrawl, f"{base_url}/", "--follow", "-o", str(output), "-q"]
            if name == FOLLOW_STATE:  # a crash-safe crawl: every batch committed to SQLite
                command += ["--state", str(tmp / f"{name}.crawl")]
            benches.append(
                Bench(
                    name,
                    [*command, "--workers", workers],
                    HTML_RATE,
                    html,
                    output,
                    follows_links=True,
                )
            )
        elif name == NAIVE:
            command = [python, str(HERE / "naive_crawler.py"), str(urls_file), str(output)]
            benches.append(Bench(name, command, HTML_RATE, html, output))
        elif name in (SCRAPY_PARSEL, SCRAPY_BS4):
            if importlib.util.find_spec("scrapy") is None:
                notes.append(f"{name}: skipped, Scrapy is not installed (pip install scrapy)")
                continue
            feeds = json.dumps({str(output): {"format": "jsonl", "encoding": "utf-8"}})
            parser = "parsel" if name == SCRAPY_PARSEL else "bs4"
            command = [
                *(python, "-m", "scrapy", "runspider", str(HERE / "scrapy_spider.py")),
                *("-a", f"urls={urls_file}", "-a", f"parser={parser}", "-s", f"FEEDS={feeds}"),
                *("-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"),
                *("-s", "LOG_LEVEL=ERROR"),
            ]
            benches.append(Bench(name, command, HTML_RATE, html, output))
        elif name == WGET2:
            wget2 = shutil.which("wget2")
            if wget2 is None:
                notes.append(f"{name}: skipped, wget2 is not installed")
                continue
            command = [wget2, "-q", "--no-config", "--tries", "1", "--max-threads", "16"]
            command += ["-i", str(urls_file), "-O", "/dev/null"]
            # Exit code 8 means "the server answered an error": the site's 404 pages.
            benches.append(Bench(name, command, URL_RATE, site.urls, ok_exit_codes=(0, 8)))
        elif name in (PARSE_1, PARSE_2):
            workers = "0" if name == PARSE_1 else "2"
            command = [python, str(HERE / "parse_only.py"), str(site.www), base_url]
            benches.append(
                Bench(name, [*command, "--workers", workers], HTML_RATE, html, timed_by_itself=True)
            )
        elif name == PARSE_COMPARE:
            command = [python, str(HERE / "parse_only.py"), str(site.www), base_url, "--compare"]
            command += ["--limit", str(COMPARE_SAMPLE[site.name])]
            benches.append(Bench(name, command, HTML_RATE, html, compares_parsers=True))
    return benches, notes


# -- report --------------------------------------------------------------------------------

FAST = "parcrawl-fast, else parcrawl"  # the fast path when it exists, else the default path
RATIOS: tuple[tuple[str, str, str, float | None, float | None], ...] = (
    # (label, numerator, denominator, target throughput ratio, target memory ratio)
    ("parcrawl fast / scrapy-parsel", FAST, SCRAPY_PARSEL, 3.0, 1.2),
    ("parcrawl bs4 / scrapy-bs4", PARCRAWL_BS4, SCRAPY_BS4, None, None),
    ("parcrawl fast / parcrawl bs4", FAST, PARCRAWL_BS4, None, None),
    ("parcrawl fast / naive", FAST, NAIVE, None, None),
    ("scrapy-parsel / scrapy-bs4", SCRAPY_PARSEL, SCRAPY_BS4, None, None),
    ("workers=2 / workers=0", PARCRAWL_W2, PARCRAWL_W0, 1.6, None),
    ("follow-w2 / follow-w0", FOLLOW_W2, FOLLOW_W0, None, None),
    ("with --state / without", FOLLOW_STATE, FOLLOW_W2, 0.9, None),
    ("follow-w2 / workers=2 (list)", FOLLOW_W2, PARCRAWL_W2, None, None),
    ("workers=2 / two-core parse limit", PARCRAWL_W2, PARSE_2, None, None),
)
PARSE_SPEEDUP_TARGET = 5.0


def pick(chosen: dict[str, Result], name: str) -> Result | None:
    if name == FAST:
        return chosen.get(PARCRAWL_FAST) or chosen.get(PARCRAWL)
    return chosen.get(name)


def representative(runs: list[Result]) -> Result:
    """The run with the median rate (the lower one of the middle two for an even count)."""
    rate = statistics.median_low(run.rate for run in runs)
    return next(run for run in runs if run.rate == rate)


def mib(value: int) -> str:
    return f"{value / 2**20:.0f}"


def print_rows(rows: list[list[str]], left: frozenset[int] = frozenset({0})) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_table(chosen: dict[str, Result], runs: dict[str, list[Result]]) -> None:
    spread = any(len(values) > 1 for values in runs.values())
    header = ["bench", "wall s", "rate", "unit", "lines", "200s", "peak PSS MiB"]
    header += ["peak RSS MiB", "CPU s", "main ms/page", "nginx CPU s", "other CPU s"]
    header += ["rate spread"] if spread else []
    rows = [header]
    for name, result in chosen.items():
        if result.parse_compare is not None:
            continue  # printed on its own line
        sampled = result.rss_samples > 2
        row = [
            name,
            f"{result.wall_s:.2f}",
            f"{result.rate:.1f}",
            result.unit,
            "-" if result.lines is None else str(result.lines),
            "-" if result.ok_lines is None else str(result.ok_lines),
            mib(result.peak_pss_bytes) if sampled and result.peak_pss_bytes else "-",
            mib(result.peak_rss_bytes) if sampled else "-",
            f"{result.cpu_s:.2f}",
            "-" if result.main_ms_per_page is None else f"{result.main_ms_per_page:.2f}",
            f"{result.nginx_cpu_s:.2f}",
            f"{result.other_cpu_s:.2f}",
        ]
        if spread:
            rates = [run.rate for run in runs[name]]
            row.append(f"{(max(rates) - min(rates)) / result.rate:.0%}" if result.rate else "-")
        rows.append(row)
    print_rows(rows, left=frozenset({0, 3}))


def compute_ratios(chosen: dict[str, Result]) -> list[dict[str, Any]]:
    ratios = []
    for label, top, bottom, target, memory_target in RATIOS:
        a, b = pick(chosen, top), pick(chosen, bottom)
        if a is None or b is None or a.broke or b.broke or not b.rate:
            continue
        sampled = min(a.rss_samples, b.rss_samples) > 2 and b.peak_pss_bytes > 0
        ratios.append(
            {
                "label": f"{label} ({a.name} / {b.name})",
                "throughput": a.rate / b.rate,
                "memory": a.peak_pss_bytes / b.peak_pss_bytes if sampled else None,
                "cpu": a.cpu_s / b.cpu_s if b.cpu_s else None,
                "target_throughput": target,
                "target_memory": memory_target,
            }
        )
    return ratios


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def print_ratios(ratios: list[dict[str, Any]]) -> None:
    print("\nratios (throughput: rate / rate; memory: peak PSS / peak PSS; cpu: CPU s / CPU s)")
    width = max((len(ratio["label"]) for ratio in ratios), default=0)
    for ratio in ratios:
        line = f"  {ratio['label'].ljust(width)}  throughput {ratio['throughput']:5.2f}x"
        line += f"  memory {ratio['memory']:5.2f}x" if ratio["memory"] is not None else ""
        line += f"  cpu {ratio['cpu']:5.2f}x" if ratio["cpu"] is not None else ""
        targets = []
        if ratio["target_throughput"] is not None:
            met = ratio["throughput"] >= ratio["target_throughput"]
            targets.append(f"throughput >= {ratio['target_throughput']:g} ({verdict(met)})")
        if ratio["target_memory"] is not None and ratio["memory"] is not None:
            met = ratio["memory"] <= ratio["target_memory"]
            targets.append(f"memory <= {ratio['target_memory']:g} ({verdict(met)})")
        if targets:
            line += "   targets: " + ", ".join(targets) + "; information only"
        print(line)


def print_parse_compare(result: Result) -> None:
    compare = result.parse_compare
    if compare is None:
        return
    speedup = float(compare["speedup"])
    differ = compare["pages_differing"]
    print(
        f"\nparse only, one process, {compare['pages']} pages: "
        f"fast {compare['fast_ms_per_page']:.1f} ms/page [{compare['fast_impl']}], "
        f"bs4 {compare['bs4_ms_per_page']:.1f} ms/page [{compare['bs4_impl']}]: "
        f"{speedup:.1f}x (target >= {PARSE_SPEEDUP_TARGET:g}: "
        f"{verdict(speedup >= PARSE_SPEEDUP_TARGET)}; information only)"
    )
    print(
        f"  pages whose fields differ between the two: title {differ['title']}, "
        f"text {differ['text']}, links {differ['links']}"
    )


def check_same_pages(chosen: dict[str, Result]) -> list[str]:
    """Problems when the list-driven crawlers did not all parse the same set of pages."""
    sets = {name: frozenset(r.pages_seen) for name, r in chosen.items() if r.lines is not None}
    sets = {name: pages for name, pages in sets.items() if name not in SYNTHETIC_ONLY}
    if len(sets) < 2:
        return []
    reference_name, reference = next(iter(sets.items()))
    differing = [name for name, pages in sets.items() if pages != reference]
    if differing:
        return [f"parsed other pages than {reference_name}: {', '.join(differing)}"]
    print(f"\nsame pages: all {len(sets)} crawlers parsed the same {len(reference)} HTML pages")
    return []


def print_summary(by_site: dict[str, dict[str, Result]]) -> None:
    """One line per crawler, one column pair per site: the README's Performance table."""
    names = [PARCRAWL_FAST, PARCRAWL_BS4, PARCRAWL, SCRAPY_PARSEL, SCRAPY_BS4, NAIVE]
    header = ["crawler"]
    for site in by_site:
        header += [f"{site} pages/s", f"{site} peak PSS MiB", f"{site} main ms/page"]
    rows = [header]
    for name in names:
        if not any(name in chosen for chosen in by_site.values()):
            continue
        row = [name]
        for chosen in by_site.values():
            result = chosen.get(name)
            if result is None or result.broke:
                row += ["-", "-", "-"]
                continue
            row.append(f"{result.rate:.1f}")
            row.append(mib(result.peak_pss_bytes) if result.peak_pss_bytes else "-")
            main = result.main_ms_per_page
            row.append(f"{main:.2f}" if main is not None and name in PARCRAWL_BENCHES else "-")
        rows.append(row)
    print("\n== summary (one run; rates in HTML pages/s of wall time, start-up included) ==")
    print_rows(rows)


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Crawl throughput and memory of parcrawl against its baselines."
    )
    parser.add_argument(
        "--site",
        choices=(*SITES, "both"),
        default="both",
        help="the synthetic demo site, the Python docs (python3.11-doc), or both (default)",
    )
    parser.add_argument("--pages", type=int, default=2000, help="HTML pages of the synthetic site")
    parser.add_argument(
        "--pydocs-dir",
        type=Path,
        default=PYDOCS_DIR,
        help=f"the Python docs HTML (default {PYDOCS_DIR}: apt-get install python3.11-doc)",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each bench (median kept)")
    parser.add_argument(
        "--only",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(ISSUE_16_BENCHES),
        metavar="NAME,...",
        help=f"benches to run (default: {','.join(ISSUE_16_BENCHES)}), of: "
        f"{', '.join(ALL_BENCHES)}",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in ALL_BENCHES]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; choose from {', '.join(ALL_BENCHES)}")
    if args.pages < 1 or args.runs < 1:
        parser.error("--pages and --runs must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        print("bench_crawl: error: nginx not found; install it: apt-get install nginx")
        return 1
    sites = list(SITES) if args.site == "both" else [args.site]
    if PYDOCS in sites and not args.pydocs_dir.is_dir():
        print(
            f"bench_crawl: error: no Python docs at {args.pydocs_dir}; "
            "apt-get install python3.11-doc, or pass --pydocs-dir"
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as name:
        tmp = Path(name)
        try:
            return run(args, sites, nginx=nginx, tmp=tmp)
        except NginxError as exc:
            print(f"bench_crawl: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench_crawl: interrupted", file=sys.stderr)
            return 130


def synthetic_site(pages: int, tmp: Path) -> Site:
    demo = SyntheticSite(pages=pages)
    www = tmp / "www"
    demo.write_to(www)
    paths = demo.all_paths()
    missing = set(demo.missing_paths())
    return Site(
        SYNTHETIC,
        www,
        demo.html_paths(),
        urls=len(paths),
        ok=len(paths) - len(missing),
        url_list=[url.removeprefix("http://x") for url in demo.urls("http://x")],
    )


def pydocs_site(www: Path) -> Site:
    """Every HTML file of the docs, by URL path (``index.html`` at the top as ``/``)."""
    paths = []
    for path in sorted(www.rglob("*.html")):
        relative = path.relative_to(www).as_posix()
        paths.append("/" if relative == "index.html" else f"/{relative}")
    return Site(PYDOCS, www, paths, urls=len(paths), ok=len(paths), url_list=paths)


def run(args: argparse.Namespace, sites: list[str], *, nginx: str, tmp: Path) -> int:
    parser_option = has_parser_option()
    wanted = parcrawl_names(args.only, parser_option=parser_option)
    print(
        f"machine: {psutil.cpu_count()} CPUs, load average "
        f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}, Python {platform.python_version()}"
    )
    print(
        "parcrawl: cli.py crawl "
        + ("has --parser: fast (lxml) and bs4 paths" if parser_option else "has no --parser: ")
        + ("" if parser_option else "the default path only, as `parcrawl`")
    )
    by_site: dict[str, dict[str, Result]] = {}
    all_runs: dict[str, list[Result]] = {}
    problems: list[str] = []
    report: dict[str, Any] = {"cpu_count": psutil.cpu_count(), "sites": {}}
    for site_name in sites:
        started = time.perf_counter()
        site = synthetic_site(args.pages, tmp) if site_name == SYNTHETIC else None
        site = site or pydocs_site(args.pydocs_dir)
        print(
            f"\n=== {site.name}: {len(site.html_paths)} HTML pages, {site.urls} URLs "
            f"({site.urls - site.ok} answer 404), ready in {time.perf_counter() - started:.1f} s"
        )
        site_tmp = tmp / site.name
        site_tmp.mkdir()
        with nginx_serving(nginx, site.www, site_tmp) as (base_url, server):
            site = Site(
                site.name,
                site.www,
                site.html_paths,
                site.urls,
                site.ok,
                site.url_list,
                frozenset(base_url + path for path in site.html_paths),
            )
            urls_file = site_tmp / "urls.txt"
            urls_file.write_text("".join(base_url + path + "\n" for path in site.url_list))
            print(f"nginx: {base_url} (1 worker, on the same CPUs as the crawlers)\n")
            benches, notes = build_benches(
                wanted, urls_file=urls_file, base_url=base_url, tmp=site_tmp, site=site
            )
            runs: dict[str, list[Result]] = {bench.name: [] for bench in benches}
            # Interleaved, so a burst of load elsewhere spreads over the contenders.
            for _ in range(args.runs):
                for bench in benches:
                    result = measure(
                        bench, nginx=server, expected=site, tmp=site_tmp, timeout_s=args.timeout
                    )
                    runs[bench.name].append(result)
                    print(f"  {bench.name}: {result.rate:.1f} pages/s", flush=True)
        chosen = {name: representative(results) for name, results in runs.items() if results}
        by_site[site.name] = chosen
        print()
        print_table(chosen, runs)
        notes += [
            f"{r.name}: {note}" for results in runs.values() for r in results for note in r.notes
        ]
        for note in notes:
            print(f"note: {note}")
        site_problems = [
            f"{site.name} {r.name}: {problem}"
            for results in runs.values()
            for r in results
            for problem in r.problems
        ]
        site_problems += [f"{site.name}: {problem}" for problem in check_same_pages(chosen)]
        for problem in site_problems:
            print(f"!! BROKEN {problem}")
        problems += site_problems
        ratios = compute_ratios(chosen)
        print_ratios(ratios)
        if PARSE_COMPARE in chosen:
            print_parse_compare(chosen[PARSE_COMPARE])
        for name, results in runs.items():
            all_runs[f"{site.name}/{name}"] = results
        report["sites"][site.name] = {
            "pages": len(site.html_paths),
            "urls": site.urls,
            "results": [asdict(r) | {"pages_seen": len(r.pages_seen)} for r in chosen.values()],
            "ratios": ratios,
            "notes": notes,
            "problems": site_problems,
        }
    print_summary(by_site)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
