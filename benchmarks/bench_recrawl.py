"""A first crawl against a recrawl of the same, unchanged site, in one run: what a recrawl saves.

nginx serves the synthetic demo site (2,000 pages by default) from files, on 127.0.0.1, and
answers conditional requests (``If-None-Match`` with its ``ETag``) with 304, as it does for
any static file. parcrawl crawls it from the home page with a state file, then recrawls it
with ``--recrawl`` (every page asked for conditionally; a 304 is not parsed again), then once
more with ``--changed-only`` too. Prints each run's wall time, CPU time (parcrawl's process
tree) and records, and the ratios first / recrawl.

    python benchmarks/bench_recrawl.py [--pages 2000] [--workers 2] [--warc]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nginx_server import NginxError, nginx_serving

from crawler.demo import SyntheticSite

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    name: str
    wall_s: float
    cpu_s: float
    records: int
    changes: Counter[str]
    statuses: Counter[int]


def crawl(name: str, base_url: str, tmp: Path, args: argparse.Namespace, *extra: str) -> Run:
    out = tmp / f"{name}.jsonl"
    command = [
        sys.executable, "-m", "cli", "crawl", base_url + "/", "--follow", "-q",
        "--state", str(tmp / "site.crawl"), "-o", str(out), "-w", str(args.workers), *extra,
    ]  # fmt: skip
    if args.warc:
        command += ["--warc", str(tmp / f"{name}.warc.gz")]
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(  # from the checkout: `-m cli` is this checkout's command line
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=900
    )
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{name}: parcrawl exited {done.returncode}: {done.stderr.strip()}")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return Run(
        name,
        wall_s,
        _children_cpu_s() - cpu_before,
        len(records),
        Counter(record.get("change") for record in records if record.get("change")),
        Counter(record["status"] for record in records),
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="synthetic site size")
    parser.add_argument("--workers", type=int, default=2, help="parse processes")
    parser.add_argument("--warc", action="store_true", help="also write a WARC in every run")
    args = parser.parse_args(argv)
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        print("bench_recrawl: error: nginx not found; install it: apt-get install nginx")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-recrawl-") as folder:
        tmp = Path(folder)
        site = SyntheticSite(pages=args.pages)
        site.write_to(tmp / "www")
        try:
            with nginx_serving(nginx, tmp / "www", tmp) as (base_url, _):
                warc = ", with --warc" if args.warc else ""
                print(f"nginx: {base_url}, {args.pages} pages, {args.workers} workers{warc}\n")
                runs = [
                    crawl("first", base_url, tmp, args),
                    crawl("recrawl", base_url, tmp, args, "--recrawl"),
                    crawl("changed-only", base_url, tmp, args, "--recrawl", "--changed-only"),
                ]
        except (NginxError, RuntimeError) as exc:
            print(f"bench_recrawl: error: {exc}")
            return 1
    print(f"{'run':<14} {'wall s':>7} {'CPU s':>7} {'records':>8}  statuses / changes")
    for run in runs:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(run.changes.items()))
        statuses = ", ".join(f"{status} {n}" for status, n in sorted(run.statuses.items(), key=str))
        print(f"{run.name:<14} {run.wall_s:7.2f} {run.cpu_s:7.2f} {run.records:8}  "
              f"{statuses}{' / ' + kinds if kinds else ''}")  # fmt: skip
    first, again = runs[0], runs[1]
    print(
        f"\nfirst / recrawl: {first.wall_s / again.wall_s:.2f}x wall time, "
        f"{first.cpu_s / again.cpu_s:.2f}x CPU time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
