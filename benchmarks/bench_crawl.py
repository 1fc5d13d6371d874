"""Crawl throughput and memory of parcrawl against its baselines, reported as ratios of one run.

Serves the synthetic demo site (``crawler.demo.SyntheticSite``) from nginx on 127.0.0.1
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

from crawler.demo import SyntheticSite

HERE = Path(__file__).resolve().parent
SAMPLE_INTERVAL_S = 0.05
NGINX_START_TIMEOUT_S = 10.0
NGINX_STOP_TIMEOUT_S = 5.0
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy")
HTML_RATE = "HTML pages/s"
URL_RATE = "URLs/s"

PARCRAWL_W0 = "parcrawl-w0"
PARCRAWL_W2 = "parcrawl-w2"
NAIVE = "naive"
SCRAPY = "scrapy"
WGET2 = "wget2"
PARSE_1 = "parse-1core"
PARSE_2 = "parse-2core"
FOLLOW_W0 = "follow-w0"
FOLLOW_W2 = "follow-w2"
FOLLOW_STATE = "follow-w2-state"
ALL_BENCHES = (
    PARCRAWL_W0,
    PARCRAWL_W2,
    FOLLOW_W0,
    FOLLOW_W2,
    FOLLOW_STATE,
    NAIVE,
    SCRAPY,
    WGET2,
    PARSE_1,
    PARSE_2,
)


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
    rss_samples: int = 0
    cpu_s: float = 0.0
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
    """The generated site, as the benches count it: a complete crawl writes one line per
    URL, ``ok`` of them with status 200 (the rest are the site's 404 links)."""

    html_paths: list[str]
    urls: int
    ok: int


class TreeSampler:
    """Peak RSS and CPU time of a process and all its descendants, from periodic samples."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss_bytes = 0
        self.samples = 0
        self._cpu_by_process: dict[tuple[int, float], float] = {}

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = 0
        for process in processes:
            try:
                with process.oneshot():
                    rss += process.memory_info().rss
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
            except psutil.Error:
                continue
            self._cpu_by_process[key] = times.user + times.system
        self.samples += 1
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)

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
    """This environment without proxies, so every request goes straight to 127.0.0.1."""
    env = {key: value for key, value in os.environ.items() if key.lower() not in PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


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
                try:
                    child.wait(SAMPLE_INTERVAL_S)
                    break
                except subprocess.TimeoutExpired:
                    if time.perf_counter() - started > timeout_s:
                        result.problems.append(f"timed out after {timeout_s:g} s")
                        break
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
    result.rss_samples = sampler.samples

    if child.returncode not in bench.ok_exit_codes:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        result.problems.append(f"exited with {child.returncode}: " + " | ".join(tail))
    seconds = result.wall_s
    if bench.timed_by_itself and not result.broke:
        report = json.loads(stdout_path.read_text())
        seconds = float(report["parse_s"])
    result.rate = bench.items / seconds if seconds > 0 else 0.0
    if bench.output is not None:
        result.lines, result.ok_lines = count_records(bench.output)
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


def count_records(path: Path) -> tuple[int, int]:
    """(JSONL lines, lines whose status is 200) of a crawl's output."""
    lines = ok = 0
    if not path.exists():
        return 0, 0
    with path.open(encoding="utf-8") as records:
        for line in records:
            if not line.strip():
                continue
            lines += 1
            with contextlib.suppress(ValueError):
                if json.loads(line).get("status") == 200:
                    ok += 1
    return lines, ok


# -- the contenders ------------------------------------------------------------------------


def build_benches(
    wanted: Sequence[str], *, urls_file: Path, www: Path, base_url: str, tmp: Path, site: Site
) -> tuple[list[Bench], list[str]]:
    """The benches to run, in order, and notes on those skipped."""
    benches: list[Bench] = []
    notes: list[str] = []
    html = len(site.html_paths)
    python = sys.executable
    parcrawl = shutil.which("parcrawl")
    for name in wanted:
        output = tmp / f"{name}.jsonl"
        if name in (PARCRAWL_W0, PARCRAWL_W2):
            if parcrawl is None:
                notes.append(f"{name}: skipped, no `parcrawl` command (pip install -e .)")
                continue
            workers = "0" if name == PARCRAWL_W0 else "2"
            command = [parcrawl, "crawl", "-i", str(urls_file), "-o", str(output)]
            benches.append(
                Bench(name, [*command, "--workers", workers, "-q"], HTML_RATE, html, output)
            )
        elif name in (FOLLOW_W0, FOLLOW_W2, FOLLOW_STATE):
            if parcrawl is None:
                notes.append(f"{name}: skipped, no `parcrawl` command (pip install -e .)")
                continue
            workers = "0" if name == FOLLOW_W0 else "2"
            command = [parcrawl, "crawl", f"{base_url}/", "--follow", "-o", str(output), "-q"]
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
        elif name == SCRAPY:
            if importlib.util.find_spec("scrapy") is None:
                notes.append(f"{name}: skipped, Scrapy is not installed (pip install scrapy)")
                continue
            feeds = json.dumps({str(output): {"format": "jsonl", "encoding": "utf-8"}})
            command = [
                *(python, "-m", "scrapy", "runspider", str(HERE / "scrapy_spider.py")),
                *("-a", f"urls={urls_file}", "-s", f"FEEDS={feeds}"),
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
            command = [python, str(HERE / "parse_only.py"), str(www), base_url]
            benches.append(
                Bench(name, [*command, "--workers", workers], HTML_RATE, html, timed_by_itself=True)
            )
    return benches, notes


# -- report --------------------------------------------------------------------------------

RATIOS: tuple[tuple[str, str, str, float | None], ...] = (
    # (label, numerator, denominator, target throughput ratio)
    ("workers=2 / workers=0", PARCRAWL_W2, PARCRAWL_W0, 1.6),
    ("follow-w2 / follow-w0", FOLLOW_W2, FOLLOW_W0, None),
    ("with --state / without", FOLLOW_STATE, FOLLOW_W2, 0.9),
    ("follow-w2 / workers=2 (list)", FOLLOW_W2, PARCRAWL_W2, None),
    ("workers=2 / naive", PARCRAWL_W2, NAIVE, None),
    ("workers=2 / scrapy", PARCRAWL_W2, SCRAPY, None),
    ("workers=2 / two-core parse limit", PARCRAWL_W2, PARSE_2, None),
)


def representative(runs: list[Result]) -> Result:
    """The run with the median rate (the lower one of the middle two for an even count)."""
    rate = statistics.median_low(run.rate for run in runs)
    return next(run for run in runs if run.rate == rate)


def mib(value: int) -> str:
    return f"{value / 2**20:.0f}"


def print_table(chosen: dict[str, Result], runs: dict[str, list[Result]]) -> None:
    spread = any(len(values) > 1 for values in runs.values())
    header = ["bench", "wall s", "rate", "unit", "lines", "200s", "peak RSS MiB", "CPU s"]
    header += ["nginx CPU s", "other CPU s"] + (["rate spread"] if spread else [])
    rows = [header]
    for name, result in chosen.items():
        row = [
            name,
            f"{result.wall_s:.2f}",
            f"{result.rate:.0f}",
            result.unit,
            "-" if result.lines is None else str(result.lines),
            "-" if result.ok_lines is None else str(result.ok_lines),
            mib(result.peak_rss_bytes) if result.rss_samples > 2 else "-",
            f"{result.cpu_s:.2f}",
            f"{result.nginx_cpu_s:.2f}",
            f"{result.other_cpu_s:.2f}",
        ]
        if spread:
            rates = [run.rate for run in runs[name]]
            row.append(f"{(max(rates) - min(rates)) / result.rate:.0%}" if result.rate else "-")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [
            cell.ljust(width) if i == 3 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row[1:], widths[1:], strict=True), start=1)
        ]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def compute_ratios(chosen: dict[str, Result]) -> list[dict[str, Any]]:
    ratios = []
    for label, top, bottom, target in RATIOS:
        a, b = chosen.get(top), chosen.get(bottom)
        if a is None or b is None or a.broke or b.broke or not b.rate:
            continue
        sampled = min(a.rss_samples, b.rss_samples) > 2
        ratios.append(
            {
                "label": label,
                "throughput": a.rate / b.rate,
                "memory": a.peak_rss_bytes / b.peak_rss_bytes if sampled else None,
                "cpu": a.cpu_s / b.cpu_s if b.cpu_s else None,
                "target_throughput": target,
            }
        )
    return ratios


def print_ratios(ratios: list[dict[str, Any]]) -> None:
    print("\nratios (throughput: rate / rate; memory: peak RSS / peak RSS; cpu: CPU s / CPU s)")
    width = max((len(ratio["label"]) for ratio in ratios), default=0)
    for ratio in ratios:
        line = f"  {ratio['label'].ljust(width)}  throughput {ratio['throughput']:5.2f}x"
        line += f"  memory {ratio['memory']:5.2f}x" if ratio["memory"] is not None else ""
        line += f"  cpu {ratio['cpu']:5.2f}x" if ratio["cpu"] is not None else ""
        target = ratio["target_throughput"]
        if target is not None:
            verdict = "met" if ratio["throughput"] >= target else "NOT met"
            line += f"   target throughput >= {target:g} ({verdict}; information only)"
        print(line)


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Crawl throughput and memory of parcrawl against its baselines."
    )
    parser.add_argument("--pages", type=int, default=2000, help="HTML pages in the site")
    parser.add_argument("--runs", type=int, default=1, help="runs of each bench (median kept)")
    parser.add_argument(
        "--only",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(ALL_BENCHES),
        metavar="NAME,...",
        help=f"benches to run, of: {', '.join(ALL_BENCHES)}",
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
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as name:
        tmp = Path(name)
        try:
            return run(args, nginx=nginx, tmp=tmp)
        except NginxError as exc:
            print(f"bench_crawl: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench_crawl: interrupted", file=sys.stderr)
            return 130


def run(args: argparse.Namespace, *, nginx: str, tmp: Path) -> int:
    started = time.perf_counter()
    demo = SyntheticSite(pages=args.pages)
    www = tmp / "www"
    demo.write_to(www)
    urls = len(demo.all_paths())
    site = Site(demo.html_paths(), urls=urls, ok=urls - len(demo.missing_paths()))
    print(
        f"site: {len(site.html_paths)} HTML pages, {site.urls} URLs "
        f"({site.urls - site.ok} answer 404), written in {time.perf_counter() - started:.1f} s"
    )
    print(
        f"machine: {psutil.cpu_count()} CPUs, load average "
        f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}, Python {platform.python_version()}"
    )
    with nginx_serving(nginx, www, tmp) as (base_url, server):
        urls_file = tmp / "urls.txt"
        urls_file.write_text("".join(url + "\n" for url in demo.urls(base_url)))
        print(f"nginx: {base_url} (1 worker, on the same CPUs as the crawlers)\n")
        benches, notes = build_benches(
            args.only, urls_file=urls_file, www=www, base_url=base_url, tmp=tmp, site=site
        )
        runs: dict[str, list[Result]] = {bench.name: [] for bench in benches}
        # Interleaved, so a burst of load elsewhere spreads over the contenders.
        for _ in range(args.runs):
            for bench in benches:
                result = measure(
                    bench, nginx=server, expected=site, tmp=tmp, timeout_s=args.timeout
                )
                runs[bench.name].append(result)
    chosen = {name: representative(results) for name, results in runs.items() if results}
    print_table(chosen, runs)
    notes += [
        f"{run.name}: {note}" for results in runs.values() for run in results for note in run.notes
    ]
    for note in notes:
        print(f"note: {note}")
    problems = [
        f"{run.name}: {problem}"
        for results in runs.values()
        for run in results
        for problem in run.problems
    ]
    for problem in problems:
        print(f"!! BROKEN {problem}")
    ratios = compute_ratios(chosen)
    print_ratios(ratios)
    if args.json is not None:
        report = {
            "pages": len(site.html_paths),
            "urls": site.urls,
            "cpu_count": psutil.cpu_count(),
            "results": [asdict(result) for result in chosen.values()],
            "runs": [asdict(run) for results in runs.values() for run in results],
            "ratios": ratios,
            "notes": notes,
            "problems": problems,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
