"""The process stage on a local Dask cluster against the local process pool, in one run.

Serves the synthetic demo site (``SyntheticSite``) on 127.0.0.1 and crawls its URL list
with the same settings (``--workers`` parse processes, ``--batch-size``; a batch on
Dask holds at least ``DaskExecutor.min_batch`` pages, which amortise a task's cost) twice
per round: once on the local process pool, once on a local Dask cluster of as many worker processes
(``--executor dask``). Both executors are started before the clock starts, so the figures
compare steady crawling, not start-up (a local Dask cluster takes about two seconds more).
Rounds alternate the two; the ratio is given best against best and median against median
(the machine is shared: single rounds vary by half).

Prints pages parsed per second for each, their ratio (target: Dask >= 0.85 of the pool),
the bytes the Dask executor moved per page (batch out, records back, the processor once),
and its parse vs transfer time. Exits 1 if the two crawls wrote different records.

Usage: ``python benchmarks/bench_dask.py [--pages 1000] [--workers 2] [--batch-size 16]
[--rounds 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.api import Crawl
from crawler.demo import SiteServer, SyntheticSite
from crawler.settings import build_settings
from pipelines.executors import (
    ClusterSpec,
    DaskExecutor,
    LocalPool,
    default_executor,
    open_executor,
)
from pipelines.sinks import MemorySink

TARGET_RATIO = 0.85
TIMING = ("elapsed_ms", "fetched_at")


@dataclass
class Run:
    name: str
    pages: int
    wall_s: float
    main_cpu_s: float
    parse_cpu_s: float
    records: dict[str, dict[str, object]]

    @property
    def rate(self) -> float:
        return self.pages / self.wall_s


class _Kept(Executor):
    """Hands the stage a started executor and keeps it open after the crawl (for the next).

    Everything else is the executor's own (``pipelines.executors.Executor``).
    """

    def __init__(self, inner: LocalPool | DaskExecutor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., object], /, *args: object, **kwargs: object):  # type: ignore[override]
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Left open: the benchmark closes it at the end."""

    @property
    def slots(self) -> int:
        return self.inner.slots

    @property
    def min_batch(self) -> int:
        return self.inner.min_batch

    @property
    def paused(self) -> bool:
        return self.inner.paused

    @property
    def worker_lost(self) -> str | None:
        return self.inner.worker_lost

    def share(self, *values: object) -> None:
        self.inner.share(*values)

    def label(self) -> str:
        return self.inner.label()

    def announcement(self) -> str | None:
        return self.inner.announcement()

    def summary(self, parsed: int) -> list[str]:
        return self.inner.summary(parsed)


def crawl(name: str, urls: list[str], executor: Executor, args: argparse.Namespace) -> Run:
    settings = build_settings({"workers": args.workers, "batch_size": args.batch_size})
    sink = MemorySink()
    job = Crawl(settings, seeds=urls, sinks=[sink], executor_factory=lambda _n: executor)
    started, cpu = time.perf_counter(), time.process_time()
    stats = asyncio.run(job.run())
    wall_s, main_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    records = {str(r["url"]): {k: v for k, v in r.items() if k not in TIMING} for r in sink.records}
    return Run(name, stats.parsed, wall_s, main_cpu_s, stats.parse_cpu_s, records)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="HTML pages of the site")
    parser.add_argument("--workers", type=int, default=2, help="parse processes, each side")
    parser.add_argument("--batch-size", type=int, default=16, help="pages per batch")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    site = SyntheticSite(pages=args.pages)
    pool = default_executor(args.workers)
    dask = open_executor(ClusterSpec("dask", args.workers))
    best: dict[str, Run] = {}
    rates: dict[str, list[float]] = {"pool": [], "dask": []}
    try:
        with SiteServer(site) as server:
            urls = site.urls(server.base_url)
            crawl("warm-up", urls[:50], _Kept(pool), args)  # start the pool's workers
            for _ in range(args.rounds):
                for name, executor in (("pool", _Kept(pool)), ("dask", _Kept(dask))):
                    run = crawl(name, urls, executor, args)
                    print(
                        f"{name:5} {run.pages} pages in {run.wall_s:.2f} s: {run.rate:.1f}/s, "
                        f"CPU ms/page: crawler process {run.main_cpu_s * 1000 / run.pages:.2f}, "
                        f"workers {run.parse_cpu_s * 1000 / run.pages:.2f}"
                    )
                    rates[name].append(run.rate)
                    if name not in best or run.rate > best[name].rate:
                        best[name] = run
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        dask.shutdown(wait=True)
    pool_run, dask_run = best["pool"], best["dask"]
    traffic = dask.traffic
    pages_on_dask = dask_run.pages * args.rounds
    moved = traffic.bytes_sent + traffic.bytes_received
    ratio = dask_run.rate / pool_run.rate
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    median = statistics.median(rates["dask"]) / statistics.median(rates["pool"])
    print(
        f"throughput ratio dask/pool: {ratio:.2f} best against best ({verdict} the "
        f"{TARGET_RATIO} target), {median:.2f} median against median; workers "
        f"{args.workers}, batch size {args.batch_size} (at least {dask.min_batch} on Dask), "
        f"{args.pages} pages"
    )
    print(
        f"dask moved {moved / pages_on_dask / 1024:.1f} KiB per page "
        f"({traffic.bytes_sent / pages_on_dask / 1024:.1f} out, "
        f"{traffic.bytes_received / pages_on_dask / 1024:.1f} back) in {traffic.tasks} tasks; "
        f"parse {traffic.run_s:.1f} s in workers, transfer {traffic.transfer_s:.1f} s "
        "(moving and queueing batches)"
    )
    if pool_run.records != dask_run.records:
        print("the two crawls wrote different records", file=sys.stderr)
        return 1
    print(f"records identical: {len(pool_run.records)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
