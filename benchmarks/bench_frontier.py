"""Frontier throughput and memory: the frontier alone, then a real crawl whose queue grows 100x.

Part ``frontier`` (no network): in a fresh subprocess per store, a ``crawler.frontier.LocalFrontier
(per_host=4)`` over ``SqliteFrontierStore`` and over ``MemoryFrontierStore`` is offered
``--urls`` distinct URLs on 1,000 hosts (``http://h{n % 1000}.test/p/{n}``) through
``add_many`` in batches of 20, as a page's links arrive: 10 new URLs and 10 repeats, half of
the repeats from 10,000 "nav" URLs every page links to (they stay in the frontier's in-memory
recent-keys cache), half drawn uniformly from every URL seen so far (most miss that cache and
ask the store). Then it is drained: ``get``, ``release``, ``complete`` until ``get`` says the
crawl is over. ``offered/s`` counts every URL passed to ``add_many``, ``new/s`` those queued,
both over the time spent inside ``add_many``; ``pops/s`` is over the whole drain. RSS is the
process's own, sampled with psutil before the frontier exists (``base``), every tenth of the
URLs and at the end of each phase; ``max RSS`` is the kernel's high-water mark (ru_maxrss).
``file MiB`` is the SQLite file plus its WAL once every URL is queued (it is deleted at close).

Part ``crawl``: ``tree_server.py`` (a subprocess) serves an endless tree where every page
links to 100 new pages, and ``parcrawl crawl URL/n/0 --follow --max-pages 2100 --workers 2``
(another subprocess) crawls it breadth-first, so the frontier holds ~100 queued URLs per page
done. Every 0.05 s the benchmark samples the crawler's RSS (the main process, which owns the
frontier, and the whole tree, parse workers included), the lines written so far (pages) and
the size of the frontier's SQLite spill file. Discovered URLs are estimated as 1 + 100 x pages.
``per 100k URLs`` is the main process's RSS growth between ~20k and ~200k discovered URLs,
scaled to 100,000: what each queued URL costs beyond the in-memory window.

``other CPU s`` is busy CPU time on the machine outside this benchmark and its children: when
it is large, something else was running and the numbers are noisy.

Usage: ``python benchmarks/bench_frontier.py [--urls 1000000] [--only frontier,crawl]
[--max-pages 2100] [--workers 2]``. Exits 1 when something broke, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
from process_tree import busy_cpu_s, children_cpu_s, kill_tree, local_env, own_cpu_s

from crawler.frontier import (
    FETCHED,
    FrontierStore,
    LocalFrontier,
    MemoryFrontierStore,
    Outcome,
    SqliteFrontierStore,
)
from crawler.models import FetchRequest

HERE = Path(__file__).resolve().parent
MIB = 2**20
STORES = ("sqlite", "memory")
PARTS = ("frontier", "crawl")

HOSTS = 1_000
BATCH = 20
NEW_PER_BATCH = BATCH // 2
NAV_URLS = 10_000
SAMPLES_PER_PHASE = 10

FANOUT = 100  # tree_server.py: links per page
SAMPLE_INTERVAL_S = 0.05
SERVER_START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
MILESTONES = (1_000, 20_000, 100_000, 200_000)  # discovered URLs reported in the crawl table


# -- part 1: the frontier alone ------------------------------------------------------------


def url_of(n: int) -> str:
    return f"http://h{n % HOSTS}.test/p/{n}"


def rss_bytes() -> int:
    rss: int = psutil.Process().memory_info().rss
    return rss


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def sqlite_bytes(store: FrontierStore) -> int | None:
    path = getattr(store, "path", None)
    if path is None:
        return None
    files = [Path(path), Path(f"{path}-wal")]
    return sum(file.stat().st_size for file in files if file.exists())


async def exercise_frontier(store_name: str, urls: int) -> dict[str, Any]:
    """Fill a frontier with ``urls`` distinct URLs, then drain it; returns the measurements."""
    report: dict[str, Any] = {"store": store_name, "urls": urls, "base_rss": rss_bytes()}
    samples: list[tuple[str, int, int]] = []  # (phase, count, rss)
    store: FrontierStore = (
        SqliteFrontierStore() if store_name == "sqlite" else MemoryFrontierStore()
    )
    frontier = LocalFrontier(per_host=4, store=store)
    rng = random.Random(0)
    every = max(urls // SAMPLES_PER_PHASE, 1)
    offered = fresh = next_n = page = 0
    add_s = 0.0
    while next_n < urls:
        page += 1
        referrer = url_of(rng.randrange(next_n)) if next_n else url_of(0)
        links = [url_of(n) for n in range(next_n, min(next_n + NEW_PER_BATCH, urls))]
        if next_n:
            repeats = BATCH - NEW_PER_BATCH
            links += [url_of(rng.randrange(min(next_n, NAV_URLS))) for _ in range(repeats // 2)]
            links += [url_of(rng.randrange(next_n)) for _ in range(repeats - repeats // 2)]
        requests = [FetchRequest(link, 1, referrer) for link in links]
        started = time.perf_counter()
        accepted = await frontier.add_many(requests)
        add_s += time.perf_counter() - started
        before = fresh
        offered += len(requests)
        fresh += len(accepted)
        next_n = min(next_n + NEW_PER_BATCH, urls)
        if fresh // every > before // every:
            samples.append(("add", fresh, rss_bytes()))
    report |= {
        "offered": offered,
        "fresh": fresh,
        "add_s": add_s,
        "rss_after_add": rss_bytes(),
        "file_bytes": sqlite_bytes(store),
        "queued_in_store": store.queued(),
    }
    frontier.close_input()
    pops = 0
    started = time.perf_counter()
    while (lease := await frontier.get()) is not None:
        await frontier.end(lease, FETCHED)
        await frontier.done([Outcome(lease.request.url, 200, None, lease.request.depth)])
        pops += 1
        if pops % every == 0:
            samples.append(("drain", pops, rss_bytes()))
    report |= {"pops": pops, "drain_s": time.perf_counter() - started}
    report |= {"rss_after_drain": rss_bytes(), "max_rss": max_rss_bytes()}
    report["peak_sampled_rss"] = max(rss for _, _, rss in [*samples, ("", 0, rss_bytes())])
    report["samples"] = samples
    store.close()
    report["cpu_s"] = own_cpu_s()
    return report


@dataclass(slots=True)
class FrontierResult:
    """One store's run, as the child reported it, plus what the parent saw."""

    store: str
    report: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    other_cpu_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def run_frontier_child(store: str, urls: int, timeout_s: float) -> FrontierResult:
    """Run ``exercise_frontier`` for ``store`` in a fresh interpreter, so RSS is its own."""
    result = FrontierResult(store)
    command = [sys.executable, str(Path(__file__).resolve()), "--child-store", store]
    command += ["--urls", str(urls)]
    busy_before, reaped_before, own_before = busy_cpu_s(), children_cpu_s(), own_cpu_s()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env=local_env(), check=False
        )
    except subprocess.TimeoutExpired:
        result.problems.append(f"{store}: timed out after {timeout_s:g} s")
        return result
    result.wall_s = time.perf_counter() - started
    ours = children_cpu_s() - reaped_before + own_cpu_s() - own_before
    result.other_cpu_s = max(0.0, busy_cpu_s() - busy_before - ours)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        result.problems.append(f"{store}: exited with {done.returncode}: {tail}")
        return result
    result.report = json.loads(done.stdout)
    if result.report["pops"] != result.report["fresh"]:
        result.problems.append(
            f"{store}: drained {result.report['pops']} of {result.report['fresh']} queued URLs"
        )
    return result


def print_frontier_table(results: list[FrontierResult]) -> None:
    header = ["store", "offered", "new", "add s", "offered/s", "new/s", "drain s", "pops/s"]
    header += ["base RSS", "RSS added", "RSS drained", "peak RSS", "max RSS", "file MiB"]
    header += ["wall s", "CPU s", "other CPU s"]
    rows = [header]
    for result in results:
        r = result.report
        if not r:
            continue
        file_bytes = r["file_bytes"]
        rows.append(
            [
                result.store,
                f"{r['offered']:,}",
                f"{r['fresh']:,}",
                f"{r['add_s']:.1f}",
                f"{r['offered'] / r['add_s']:,.0f}",
                f"{r['fresh'] / r['add_s']:,.0f}",
                f"{r['drain_s']:.1f}",
                f"{r['pops'] / r['drain_s']:,.0f}",
                mib(r["base_rss"]),
                mib(r["rss_after_add"]),
                mib(r["rss_after_drain"]),
                mib(r["peak_sampled_rss"]),
                mib(r["max_rss"]),
                "-" if file_bytes is None else mib(file_bytes),
                f"{result.wall_s:.1f}",
                f"{r['cpu_s']:.1f}",
                f"{result.other_cpu_s:.1f}",
            ]
        )
    print_rows(rows)
    print("(RSS columns in MiB; offered/s and new/s over the time inside add_many)")
    for result in results:
        for phase in ("add", "drain"):
            points = [(count, rss) for name, count, rss in result.report.get("samples", ())
                      if name == phase]  # fmt: skip
            if points:
                trail = ", ".join(f"{count // 1000:,}k {mib(rss)}" for count, rss in points)
                print(f"{result.store} RSS MiB by URLs {phase}ed: {trail}")
    by_store = {result.store: result.report for result in results if result.report}
    if len(by_store) == len(STORES):
        sqlite, memory = by_store["sqlite"], by_store["memory"]
        print(
            f"sqlite / memory: add {memory['add_s'] / sqlite['add_s']:.2f}x throughput, "
            f"drain {memory['drain_s'] / sqlite['drain_s']:.2f}x throughput, "
            f"max RSS {sqlite['max_rss'] / memory['max_rss']:.2f}x, RSS growth over base "
            f"{growth(sqlite) / MIB:.0f} vs {growth(memory) / MIB:.0f} MiB"
        )


def growth(report: dict[str, Any]) -> int:
    return int(report["max_rss"]) - int(report["base_rss"])


# -- part 2: RSS of a real crawl as discovered URLs grow -----------------------------------


@dataclass(frozen=True, slots=True)
class CrawlSample:
    """One look at the crawler: seconds since start, pages written, RSS, spill file size."""

    t_s: float
    pages: int
    main_rss: int
    tree_rss: int
    spill_bytes: int

    @property
    def discovered(self) -> int:
        return 1 + FANOUT * self.pages


@dataclass(slots=True)
class CrawlResult:
    """The sampled crawl and how it ended."""

    samples: list[CrawlSample] = field(default_factory=list)
    wall_s: float = 0.0
    lines: int = 0
    exit_code: int | None = None
    other_cpu_s: float = 0.0
    problems: list[str] = field(default_factory=list)


class LineCounter:
    """Counts the lines of a file that is still being written, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self.lines = 0

    def update(self) -> int:
        with contextlib.suppress(FileNotFoundError), self._path.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read()
            self._offset += len(chunk)
            self.lines += chunk.count(b"\n")
        return self.lines


def sample_tree(root: psutil.Process) -> tuple[int, int, int]:
    """(main RSS, tree RSS, bytes of the open frontier SQLite files) of ``root``'s tree."""
    main_rss = tree_rss = spill = 0
    with contextlib.suppress(psutil.Error):
        main_rss = root.memory_info().rss
        tree_rss = main_rss
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                tree_rss += child.memory_info().rss
        for opened in root.open_files():
            if Path(opened.path).name.startswith("frontier.sqlite"):
                with contextlib.suppress(OSError):
                    spill += Path(opened.path).stat().st_size
    return main_rss, tree_rss, spill


@contextlib.contextmanager
def tree_server(tmp: Path) -> Iterator[str]:
    """``tree_server.py`` in a subprocess on a free 127.0.0.1 port; yields its base URL."""
    stderr_path = tmp / "tree_server.stderr"
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, str(HERE / "tree_server.py")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the benchmark, which stops the server
        )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        if not port.isdigit():
            detail = stderr_path.read_text(errors="replace").strip()
            raise RuntimeError(f"tree_server.py did not start: {detail}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stdout is not None:
            server.stdout.close()


def run_crawl(
    base_url: str, parcrawl: str, *, tmp: Path, max_pages: int, workers: int, timeout_s: float
) -> CrawlResult:
    """Crawl the tree with parcrawl in a subprocess, sampling it until it exits."""
    result = CrawlResult()
    output = tmp / "tree.jsonl"
    command = [parcrawl, "crawl", f"{base_url}/n/0", "--follow", "--max-pages", str(max_pages)]
    command += ["-o", str(output), "-q", "--workers", str(workers)]
    print("$ " + " ".join(command))
    counter = LineCounter(output)
    busy_before, reaped_before, own_before = busy_cpu_s(), children_cpu_s(), own_cpu_s()
    stderr_path = tmp / "crawl.stderr"
    started = time.perf_counter()
    with stderr_path.open("wb") as stderr:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=local_env(),
        )
        root = psutil.Process(child.pid)
        try:
            while True:
                main_rss, tree_rss, spill = sample_tree(root)
                now = time.perf_counter() - started
                if main_rss:
                    sample = CrawlSample(now, counter.update(), main_rss, tree_rss, spill)
                    result.samples.append(sample)
                try:
                    child.wait(SAMPLE_INTERVAL_S)
                    break
                except subprocess.TimeoutExpired:
                    if now > timeout_s:
                        result.problems.append(f"crawl timed out after {timeout_s:g} s")
                        break
        finally:
            if child.poll() is None:
                kill_tree(root)
                child.wait()
    result.wall_s = time.perf_counter() - started
    result.exit_code = child.returncode
    result.lines = counter.update()
    ours = children_cpu_s() - reaped_before + own_cpu_s() - own_before
    result.other_cpu_s = max(0.0, busy_cpu_s() - busy_before - ours)
    if child.returncode != 0:
        tail = " | ".join(stderr_path.read_text(errors="replace").strip().splitlines()[-5:])
        result.problems.append(f"crawl exited with {child.returncode}: {tail}")
    if result.lines < max_pages:
        result.problems.append(f"crawl wrote {result.lines} lines, {max_pages} due")
    return result


def print_crawl_table(result: CrawlResult) -> None:
    header = ["point", "t s", "pages", "~discovered", "main RSS", "tree RSS", "spill MiB"]
    rows = [header]
    picked: list[tuple[str, CrawlSample]] = []
    for target in MILESTONES:
        sample = next((s for s in result.samples if s.discovered >= target), None)
        if sample is not None:
            picked.append((f"~{target // 1000}k URLs", sample))
    if result.samples:
        picked.append(("last sample", result.samples[-1]))
        picked.append(("peak main", max(result.samples, key=lambda s: s.main_rss)))
        picked.append(("peak tree", max(result.samples, key=lambda s: s.tree_rss)))
    for label, sample in picked:
        rows.append(
            [
                label,
                f"{sample.t_s:.1f}",
                f"{sample.pages:,}",
                f"{sample.discovered:,}",
                mib(sample.main_rss),
                mib(sample.tree_rss),
                mib(sample.spill_bytes),
            ]
        )
    print_rows(rows)
    rate = result.lines / result.wall_s if result.wall_s else 0.0
    print(
        f"(RSS in MiB; {len(result.samples)} samples; {result.lines:,} lines in "
        f"{result.wall_s:.1f} s = {rate:.0f} pages/s, exit code {result.exit_code}, "
        f"other CPU {result.other_cpu_s:.1f} s)"
    )
    low = next((s for s in result.samples if s.discovered >= 20_000), None)
    high = next((s for s in result.samples if s.discovered >= 200_000), None)
    if low is not None and high is not None and high.discovered > low.discovered:
        per_100k = (high.main_rss - low.main_rss) / (high.discovered - low.discovered) * 100_000
        print(
            f"main RSS growth from ~20k to ~200k discovered URLs: "
            f"{(high.main_rss - low.main_rss) / MIB:.0f} MiB, {per_100k / MIB:.1f} MiB "
            f"per 100k URLs ({per_100k / 100_000:.0f} bytes per URL)"
        )


# -- report helpers ------------------------------------------------------------------------


def mib(value: int) -> str:
    return f"{value / MIB:.0f}"


def print_rows(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def machine_line() -> str:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"machine: {psutil.cpu_count()} CPUs, load average {load}"


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Frontier throughput and memory, alone and in a crawl of an endless tree."
    )
    parser.add_argument("--urls", type=int, default=1_000_000, help="distinct URLs (frontier)")
    parser.add_argument(
        "--only",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(PARTS),
        metavar="PART,...",
        help=f"parts to run, of: {', '.join(PARTS)}",
    )
    parser.add_argument("--max-pages", type=int, default=2100, help="pages to crawl (crawl)")
    parser.add_argument("--workers", type=int, default=2, help="parse processes (crawl)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    parser.add_argument("--child-store", choices=STORES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [name for name in args.only if name not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.urls < 1 or args.max_pages < 1:
        parser.error("--urls and --max-pages must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_store is not None:
        report = asyncio.run(exercise_frontier(args.child_store, args.urls))
        print(json.dumps(report))
        return 0
    try:
        return run(args)
    except KeyboardInterrupt:
        print("bench_frontier: interrupted", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    print(machine_line())
    problems: list[str] = []
    report: dict[str, Any] = {}
    if "frontier" in args.only:
        print(f"\n== frontier alone: {args.urls:,} URLs on {HOSTS:,} hosts, batches of {BATCH}")
        results = [run_frontier_child(store, args.urls, args.timeout) for store in STORES]
        print_frontier_table(results)
        problems += [problem for result in results for problem in result.problems]
        report["frontier"] = [asdict(result) for result in results]
    if "crawl" in args.only:
        print(f"\n== crawl of an endless tree ({FANOUT} new links per page)")
        parcrawl = shutil.which("parcrawl")
        if parcrawl is None:
            problems.append("crawl: no `parcrawl` command (pip install -e .)")
        else:
            with tempfile.TemporaryDirectory(prefix="bench-frontier-") as name:
                tmp = Path(name)
                with tree_server(tmp) as base_url:
                    crawl = run_crawl(
                        base_url,
                        parcrawl,
                        tmp=tmp,
                        max_pages=args.max_pages,
                        workers=args.workers,
                        timeout_s=args.timeout,
                    )
            print_crawl_table(crawl)
            problems += crawl.problems
            report["crawl"] = asdict(crawl)
    print("\n" + machine_line())
    for problem in problems:
        print(f"!! BROKEN {problem}")
    if args.json is not None:
        args.json.write_text(json.dumps(report | {"problems": problems}, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
