"""The Redis frontier's cost, as ratios of one run: one process with the SQLite frontier
against one with the Redis frontier (target: at least 0.9 of its throughput), and
``--workers 2`` against ``--fetchers 2 --workers 1``; with Redis round trips, Redis CPU and
Redis memory per URL, the figures the README's capacity estimates are worked out from.

Serves the synthetic demo site from nginx on 127.0.0.1 and runs a local ``redis-server``
(AOF on, ``noeviction``: the settings the README asks for); each contender is a
``python -m cli crawl / --follow`` subprocess. ``rate`` is records written per second of wall
time, start-up included. Round trips are Redis's own count of script calls (EVALSHA) and
plain commands sent by clients; memory is ``MEMORY USAGE`` of the crawl's keys.

Usage: ``python benchmarks/bench_redis.py [--pages 2000] [--runs 1] [--json FILE]``.
Exits 1 when a contender failed or wrote the wrong number of records.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from nginx_server import free_port, nginx_serving

from crawler.demo import SyntheticSite

REPO = Path(__file__).resolve().parents[1]
SCRIPT_COMMANDS = ("evalsha", "eval")


@dataclass
class Result:
    name: str
    seconds: float
    records: int
    rate: float
    round_trips_per_url: float | None = None
    redis_cpu_us_per_url: float | None = None
    redis_bytes_per_url: float | None = None
    seen_bytes_per_url: float | None = None
    outcome_bytes_per_url: float | None = None


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    binary = shutil.which("redis-server") or "redis-server"
    process = subprocess.Popen(
        [
            binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
            "--save", "", "--appendonly", "yes", "--maxmemory-policy", "noeviction",
            "--logfile", str(folder / "redis.log"),
        ]
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.05)
    return process, url


def client_commands(client: redis.Redis) -> dict[str, int]:
    """Calls per command so far (scripts' own inner calls are counted apart, as cmdstat)."""
    stats: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def redis_cpu_s(client: redis.Redis) -> float:
    cpu: dict[str, Any] = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def count_records(paths: Sequence[Path]) -> int:
    urls: set[str] = set()
    for path in paths:
        for line in path.read_text().splitlines():
            urls.add(json.loads(line)["url"])
    return len(urls)


def crawl(name: str, base: str, out: Path, *flags: str) -> tuple[float, list[Path]]:
    command = [sys.executable, "-m", "cli", "crawl", base + "/", "--follow", "-q"]
    command += ["-o", str(out), *flags]
    started = time.monotonic()
    done = subprocess.run(  # from the checkout: `-m cli` is this checkout's command line
        command, cwd=REPO, capture_output=True, text=True, check=False, timeout=1800
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{name} exited {done.returncode}: {done.stderr.strip()}")
    outputs = sorted(out.parent.glob(f"{out.stem}*{out.suffix}"))
    return seconds, outputs


def bench(name: str, base: str, tmp: Path, flags: Sequence[str], expected: int) -> Result:
    out = tmp / f"{name}.jsonl"
    for old in tmp.glob(f"{name}*.jsonl"):
        old.unlink()
    seconds, outputs = crawl(name, base, out, *flags)
    records = count_records(outputs)
    if expected and records != expected:
        raise RuntimeError(f"{name}: {records} URLs written, expected {expected}")
    return Result(name, seconds, records, records / seconds)


def bench_redis(
    name: str, base: str, tmp: Path, flags: Sequence[str], expected: int, url: str, run: int
) -> Result:
    client = redis.Redis.from_url(url)
    crawl_id = f"{name}-{run}"
    before_cmds, before_cpu = client_commands(client), redis_cpu_s(client)
    before_mem = int(client.info("memory")["used_memory"])
    frontier = ["--frontier", url, "--crawl-id", crawl_id]
    result = bench(name, base, tmp, [*flags, *frontier], expected)
    after_cmds, after_cpu = client_commands(client), redis_cpu_s(client)
    after_mem = int(client.info("memory")["used_memory"])
    # Inner calls of a script show up under their own names too; only count what clients
    # sent: scripts, plus plain commands that no script uses (ping, hsetnx, get/set...).
    scripts = sum(after_cmds.get(c, 0) - before_cmds.get(c, 0) for c in SCRIPT_COMMANDS)
    plain = sum(
        after_cmds.get(c, 0) - before_cmds.get(c, 0)
        for c in ("ping", "hsetnx", "get", "set", "del", "smembers", "info", "client|setinfo")
    )
    prefix = f"parcrawl:{{{crawl_id}}}:"
    urls = result.records
    result.round_trips_per_url = (scripts + plain) / urls
    result.redis_cpu_us_per_url = (after_cpu - before_cpu) / urls * 1e6
    result.redis_bytes_per_url = (after_mem - before_mem) / urls
    result.seen_bytes_per_url = (client.memory_usage(prefix + "seen") or 0) / urls
    result.outcome_bytes_per_url = (client.memory_usage(prefix + "outcome") or 0) / urls
    return result


def median_result(results: list[Result]) -> Result:
    return sorted(results, key=lambda result: result.rate)[len(results) // 2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="HTML pages of the site")
    parser.add_argument("--runs", type=int, default=1, help="runs of each bench (median kept)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    args = parser.parse_args(argv)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as name:
        tmp = Path(name)
        site = SyntheticSite(pages=args.pages)
        site.write_to(tmp / "www")
        expected = 0  # what the first (SQLite) crawl finds; every other must find the same
        (tmp / "redis").mkdir()
        (tmp / "nginx").mkdir()
        redis_process, url = start_redis(tmp / "redis")
        try:
            with nginx_serving(nginx, tmp / "www", tmp / "nginx") as (base, _master):
                results = run_all(base, tmp, url, expected, args.runs)
        except RuntimeError as exc:
            print(f"bench_redis: {exc}", file=sys.stderr)
            return 1
        finally:
            redis_process.terminate()
            redis_process.wait()
    report(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=2))
    return 0


def run_all(base: str, tmp: Path, url: str, expected: int, runs: int) -> list[Result]:
    benches: dict[str, list[Result]] = {}
    for run in range(runs):
        for name, flags in (("sqlite-w1", ["-w", "1"]), ("workers-2", ["-w", "2"])):
            benches.setdefault(name, []).append(bench(name, base, tmp, flags, expected))
            expected = expected or benches[name][-1].records
        for name, flags in (
            ("redis-w1", ["-w", "1"]),
            ("fetchers-2-w1", ["--fetchers", "2", "-w", "1"]),
        ):
            benches.setdefault(name, []).append(
                bench_redis(name, base, tmp, flags, expected, url, run)
            )
    return [median_result(results) for results in benches.values()]


def report(results: list[Result]) -> None:
    by_name = {result.name: result for result in results}
    print(
        f"{'bench':<16}{'seconds':>9}{'records':>9}{'rate/s':>9}{'trips/URL':>11}"
        f"{'Redis CPU us/URL':>18}{'Redis B/URL':>13}{'seen B/URL':>12}{'outcome B/URL':>15}"
    )
    for result in results:
        extra = ""
        if result.round_trips_per_url is not None:
            extra = (
                f"{result.round_trips_per_url:>11.2f}{result.redis_cpu_us_per_url:>18.0f}"
                f"{result.redis_bytes_per_url:>13.0f}{result.seen_bytes_per_url:>12.0f}"
                f"{result.outcome_bytes_per_url:>15.0f}"
            )
        print(
            f"{result.name:<16}{result.seconds:>9.1f}{result.records:>9}{result.rate:>9.0f}{extra}"
        )
    ratio = by_name["redis-w1"].rate / by_name["sqlite-w1"].rate
    print(f"Redis / SQLite frontier, one process: {ratio:.2f} (target >= 0.9)")
    fetchers = by_name["fetchers-2-w1"].rate / by_name["workers-2"].rate
    print(f"--fetchers 2 --workers 1 / --workers 2: {fetchers:.2f}")
    redis_cpu = by_name["redis-w1"].redis_cpu_us_per_url or 0.0
    if redis_cpu:
        print(f"one Redis core coordinates about {1e6 / redis_cpu:,.0f} pages/s at this cost")


if __name__ == "__main__":
    sys.exit(main())
