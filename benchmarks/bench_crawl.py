"""Crawl throughput and memory of parcrawl against its peers, reported as ratios of one run.

Serves each site from nginx on 127.0.0.1 — the synthetic demo site (``SyntheticSite``, 2,000
pages by default) and the Python documentation HTML of Debian's ``python3.11-doc`` package
(about 530 pages) — and runs each contender as its own subprocess, all given the same list of
the site's URLs: parcrawl through its command line (``python -m cli crawl``, 2 workers) on the fast
parse path (``--parser lxml``) and the bs4 path (``--parser bs4``), or on its default path
alone, as ``parcrawl``, when ``crawl --help`` has no ``--parser``; Scrapy with its own
selectors (``scrapy-parsel``, as most Scrapy users write a spider) and with BeautifulSoup
(``scrapy-bs4``); a naive asyncio+httpx+bs4 crawler; and ``parse-compare``, the fast path
against the bs4 path on a sample of the pages on disk, in one process, no network. Every
crawler does the same work per page (title, visible text, every link made absolute, one JSONL
line per URL), and every one must parse exactly the site's HTML pages. More benches on
request (``--only``): parcrawl ``--workers 0``/``2`` on its default path, link-following
crawls from the synthetic site's ``/`` (``follow-*``), wget2 (fetch only), and the one- and
two-core parse limits.

How to read it: ``rate`` is HTML pages parsed per second of wall time (start-up included) for
the crawlers, pages per second of the timed parse for the parse benches, and URLs fetched per
second for wget2. ``peak PSS`` sums the proportional set size of the process and all its
children, sampled every 0.05 s: shared pages are split between the processes sharing them, so
a process pool is not over-counted as ``peak RSS`` (the plain sum) over-counts it. ``CPU s``
is user+system of that tree; ``main ms/page`` is the CPU time of the crawler's own process,
its children excluded, per HTML page (for a one-process crawler that is all of it);
``nginx CPU s`` is the server's share, and ``other CPU s`` is busy CPU time on the machine
outside both: when it is large, something else was running and the numbers are noisy. The
ratios compare rates and peak PSS from this one run; the targets beside them are information
and never change the exit code.

Usage: ``python benchmarks/bench_crawl.py [--site synthetic|pydocs|both] [--pages 2000]
[--pydocs-dir DIR] [--runs 1] [--only NAME,...] [--json FILE]``; ``--serve URLS_FILE`` only
serves the site until Ctrl-C (a target for a profiler). Exits 1 when something
broke (nginx did not start, a contender exited non-zero, wrote the wrong number of records
or parsed other pages), 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psutil
from crawl_report import (
    ALL_BENCHES,
    FOLLOW_STATE,
    FOLLOW_UNTHROTTLED,
    FOLLOW_W0,
    FOLLOW_W2,
    ISSUE_16_BENCHES,
    NAIVE,
    PARCRAWL,
    PARCRAWL_BS4,
    PARCRAWL_FAST,
    PARCRAWL_W0,
    PARCRAWL_W2,
    PARCRAWL_W2_UNTHROTTLED,
    PARSE_1,
    PARSE_2,
    PARSE_COMPARE,
    SCRAPY_BS4,
    SCRAPY_PARSEL,
    SYNTHETIC_ONLY,
    WGET2,
    Result,
    check_same_pages,
    compute_ratios,
    print_parse_compare,
    print_ratios,
    print_summary,
    print_table,
    representative,
)
from nginx_server import NginxError, nginx_serving
from process_tree import (
    TreeSampler,
    busy_cpu_s,
    children_cpu_s,
    exited,
    kill_tree,
    local_env,
    own_cpu_of,
    own_cpu_s,
    tree_cpu_s,
)

from crawler.demo import SyntheticSite

HERE = Path(__file__).resolve().parent
CLI = ("-m", "cli")
"""The command line of this checkout (``local_env`` puts it first on ``PYTHONPATH``)."""
PYDOCS_DIR = Path("/usr/share/doc/python3.11/html")
SYNTHETIC = "synthetic"
PYDOCS = "pydocs"
SITES = (SYNTHETIC, PYDOCS)
SAMPLE_INTERVAL_S = 0.05
HTML_RATE = "HTML pages/s"
UNTHROTTLED = frozenset({PARCRAWL_W2_UNTHROTTLED, FOLLOW_UNTHROTTLED})
"""Benches run with --no-autothrottle, to measure what the autothrottle costs a healthy site."""
URL_RATE = "URLs/s"
MIB = 2**20
FLATNESS_PAGES = (2_000, 20_000)
FLATNESS_TARGET = 1.1  # issue 16: peak PSS of the large crawl / of the small one
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
    """True when ``parcrawl crawl`` takes ``--parser`` (the fast parse path exists)."""
    help_text = subprocess.run(
        [sys.executable, *CLI, "crawl", "--help"],
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
    parcrawl = [python, *CLI, "crawl"]
    for name in wanted:
        output = tmp / f"{site.name}-{name}.jsonl"
        if name in SYNTHETIC_ONLY and site.name != SYNTHETIC:
            notes.append(f"{name}: skipped on {site.name} (it starts from the demo site's /)")
            continue
        unthrottled = ["--no-autothrottle"] if name in UNTHROTTLED else []
        if name in (PARCRAWL_FAST, PARCRAWL_BS4, PARCRAWL, PARCRAWL_W0, PARCRAWL_W2):
            workers = "0" if name == PARCRAWL_W0 else "2"
            command = [*parcrawl, "-i", str(urls_file), "-o", str(output), "--workers", workers]
            if name in (PARCRAWL_FAST, PARCRAWL_BS4):
                command += ["--parser", "lxml" if name == PARCRAWL_FAST else "bs4"]
            benches.append(Bench(name, [*command, "-q"], HTML_RATE, html, output))
        elif name == PARCRAWL_W2_UNTHROTTLED:
            command = [*parcrawl, "-i", str(urls_file), "-o", str(output), "--workers", "2"]
            benches.append(Bench(name, [*command, *unthrottled, "-q"], HTML_RATE, html, output))
        elif name in (FOLLOW_W0, FOLLOW_W2, FOLLOW_STATE, FOLLOW_UNTHROTTLED):
            workers = "0" if name == FOLLOW_W0 else "2"
            command = [*parcrawl, f"{base_url}/", "--follow", "-o", str(output), "-q", *unthrottled]
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
    parser.add_argument(
        "--serve",
        type=Path,
        metavar="URLS_FILE",
        help="measure nothing: serve the site (the first of --site) on 127.0.0.1 until Ctrl-C "
        "and write its URL list to URLS_FILE, a target for profiling a crawl",
    )
    parser.add_argument(
        "--flatness",
        action="store_true",
        help=f"measure only whether memory stays flat: {PARCRAWL_FAST} on "
        f"{FLATNESS_PAGES[0]:,} then {FLATNESS_PAGES[1]:,} synthetic pages, and their "
        f"peak-PSS ratio (target <= {FLATNESS_TARGET})",
    )
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
            if args.serve is not None:
                return serve(args, sites[0], nginx=nginx, tmp=tmp)
            if args.flatness:
                return flatness(args, nginx=nginx, tmp=tmp)
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


def brief(result: Result) -> dict[str, Any]:
    """``result`` as JSON, the pages seen counted rather than listed."""
    return asdict(result) | {"pages_seen": len(result.pages_seen)}


def make_site(name: str, args: argparse.Namespace, tmp: Path) -> Site:
    return synthetic_site(args.pages, tmp) if name == SYNTHETIC else pydocs_site(args.pydocs_dir)


def serve(args: argparse.Namespace, site_name: str, *, nginx: str, tmp: Path) -> int:
    """Serve one site until Ctrl-C, its URL list in ``args.serve``: a target for a profiler."""
    site = make_site(site_name, args, tmp)
    with nginx_serving(nginx, site.www, tmp) as (base_url, _):
        args.serve.write_text("".join(base_url + path + "\n" for path in site.url_list))
        print(
            f"serving {site.name} at {base_url}/, its URLs in {args.serve}; Ctrl-C stops",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def flatness(args: argparse.Namespace, *, nginx: str, tmp: Path) -> int:
    """Peak PSS of the fast path on a small and a ten-times larger synthetic site, as a ratio."""
    results: list[Result] = []
    for pages in FLATNESS_PAGES:
        site_tmp = tmp / f"flatness-{pages}"
        site_tmp.mkdir()
        site = synthetic_site(pages, site_tmp)
        with nginx_serving(nginx, site.www, site_tmp) as (base_url, server):
            site = replace(site, html_urls=frozenset(base_url + path for path in site.html_paths))
            urls_file = site_tmp / "urls.txt"
            urls_file.write_text("".join(base_url + path + "\n" for path in site.url_list))
            (bench,), _ = build_benches(
                [PARCRAWL_FAST], urls_file=urls_file, base_url=base_url, tmp=site_tmp, site=site
            )
            runs = [
                measure(bench, nginx=server, expected=site, tmp=site_tmp, timeout_s=args.timeout)
                for _ in range(args.runs)
            ]
        result = representative(runs)
        results.append(result)
        print(
            f"  {PARCRAWL_FAST} on {pages:,} synthetic pages: peak PSS "
            f"{result.peak_pss_bytes / MIB:.0f} MiB, {result.rate:.1f} pages/s, "
            f"main {result.main_ms_per_page or 0:.2f} ms/page",
            flush=True,
        )
        for problem in result.problems:
            print(f"!! BROKEN {pages} pages: {problem}")
    small, large = results
    ratio = large.peak_pss_bytes / small.peak_pss_bytes if small.peak_pss_bytes else 0.0
    verdict = "met" if ratio <= FLATNESS_TARGET else "NOT met"
    print(
        f"flatness: peak PSS {FLATNESS_PAGES[1]:,} / {FLATNESS_PAGES[0]:,} pages = {ratio:.2f}x "
        f"(target <= {FLATNESS_TARGET}: {verdict})"
    )
    if args.json is not None:
        report = {"flatness": ratio, "runs": [brief(result) for result in results]}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if any(result.problems for result in results) else 0


def run(args: argparse.Namespace, sites: list[str], *, nginx: str, tmp: Path) -> int:
    parser_option = has_parser_option()
    wanted = parcrawl_names(args.only, parser_option=parser_option)
    print(
        f"machine: {psutil.cpu_count()} CPUs, load average "
        f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}, Python {platform.python_version()}"
    )
    print(
        "parcrawl: crawl "
        + ("has --parser: fast (lxml) and bs4 paths" if parser_option else "has no --parser: ")
        + ("" if parser_option else "the default path only, as `parcrawl`")
    )
    by_site: dict[str, dict[str, Result]] = {}
    problems: list[str] = []
    report: dict[str, Any] = {"cpu_count": psutil.cpu_count(), "sites": {}}
    for site_name in sites:
        started = time.perf_counter()
        site = make_site(site_name, args, tmp)
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
        report["sites"][site.name] = {
            "pages": len(site.html_paths),
            "urls": site.urls,
            "results": [brief(r) for r in chosen.values()],
            "runs": [brief(r) for results in runs.values() for r in results],
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
