"""``parcrawl status --frontier URL --crawl-id ID``: a shared crawl's counts, in all, per
host and per process, read from Redis without changing anything.

It owns reading and wording; the counts are kept by :mod:`.scripts`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions as redis_errors

from crawler.errors import FrontierError, UsageError
from crawler.frontier.redis.keys import CrawlKeys, scrub
from crawler.frontier.redis.link import CALL_TIMEOUT_S, PERMANENT, connect_redis
from crawler.settings import redact_url

TOTALS = ("queued", "leased", "retrying", "done", "failed", "refused", "skipped", "requeued")
PROCESS_COUNTS = ("leased", "done", "failed")

SILENT_AFTER_S = 30.0
"""A process unheard for this long has likely stopped without leaving (killed, its machine
gone): with the default ``cluster.lease_s`` (30 s) its heartbeat comes every 10 s, and the
leases it held have gone back to the queue. A longer lease_s beats less often, hence the
question mark in the wording."""
FORGET_AFTER_S = 3600.0
"""A silent process is listed for an hour, then counted with the ended ones."""


@dataclass(slots=True)
class SharedStatus:
    """A shared crawl's counts as Redis holds them."""

    crawl_id: str
    url: str
    seen: int
    totals: dict[str, int]
    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    processes: dict[str, dict[str, int]] = field(default_factory=dict)
    heartbeats_s: dict[str, float] = field(default_factory=dict)
    """Seconds since each process still in the crawl last renewed its leases; a process
    that left (ended, or stopped by Ctrl-C) has none."""
    skipped: dict[str, int] = field(default_factory=dict)
    """URLs skipped, by reason, as every process counted them."""

    def lines(self) -> list[str]:
        """The status as printed: totals, skips by reason, then one line per host and per
        process still in the crawl, and one for the processes that ended."""
        totals = ", ".join(f"{name} {self.totals.get(name, 0):,}" for name in TOTALS)
        out = [f"crawl {self.crawl_id} on {redact_url(self.url)}", f"{totals}, seen {self.seen:,}"]
        if self.skipped:
            reasons = sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))
            out.append("skipped: " + ", ".join(f"{reason} {n:,}" for reason, n in reasons))
        if self.hosts:
            out.append("per host:")
            for host, counts in sorted(self.hosts.items()):
                out.append(f"  {host}  {_fields(counts, ('queued', 'done', 'failed'))}")
        listed, ended = self._processes()
        if listed:
            out.append("per process:")
            out.extend(listed)
        if ended:
            out.append(ended)
        return out

    def _processes(self) -> tuple[list[str], str | None]:
        """Lines of the processes still in the crawl (or silent for less than an hour), and
        one line summing up the others: those that left, and those silent for long."""
        listed: list[str] = []
        left = silent = 0
        sums: dict[str, int] = defaultdict(int)
        for name in sorted(self.processes.keys() | self.heartbeats_s.keys()):
            counts = self.processes.get(name, {})
            beat = self.heartbeats_s.get(name)
            if beat is not None and beat < FORGET_AFTER_S:
                if beat < SILENT_AFTER_S:
                    heard = f"last heard {beat:.0f} s ago"
                else:
                    heard = f"silent for {_duration(beat)} (stopped without leaving?)"
                listed.append(f"  {name}  {_fields(counts, PROCESS_COUNTS)}  {heard}")
                continue
            left += beat is None
            silent += beat is not None
            for kind in ("done", "failed"):
                sums[kind] += counts.get(kind, 0)
        if not left and not silent:
            return listed, None
        if not silent:
            how = "left the crawl"
        else:
            parts = [
                f"{left:,} left the crawl" if left else "",
                f"{silent:,} silent for over an hour",
            ]
            how = ", ".join(part for part in parts if part)
        plural = "process" if left + silent == 1 else "processes"
        return listed, (
            f"ended: {left + silent:,} {plural} ({how}), "
            f"done {sums['done']:,}, failed {sums['failed']:,}"
        )


def _fields(counts: dict[str, int], names: tuple[str, ...]) -> str:
    return "  ".join(f"{name} {counts.get(name, 0):,}" for name in names)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


async def read_shared_status(url: str, crawl_id: str) -> SharedStatus:
    """The counts of crawl ``crawl_id`` on the Redis at ``url``.

    Raises:
        UsageError: no crawl of that id there.
        FrontierError: Redis unreachable, or a wrong password.
    """
    keys = CrawlKeys(crawl_id)
    client = connect_redis(url)
    try:
        async with asyncio.timeout(CALL_TIMEOUT_S):
            meta = await client.hgetall(keys.meta)
            counts = await client.hgetall(keys.counts)
            seen = await client.scard(keys.seen)
            beats: list[Any] = await client.zrange(keys.procs, 0, -1, withscores=True)
            redis_now = await client.time()
    except PERMANENT as exc:
        raise FrontierError(
            f"Redis at {redact_url(url)} refused us: {scrub(str(exc), url)}"
        ) from None
    except (redis_errors.RedisError, OSError, TimeoutError) as exc:
        detail = scrub(str(exc) or type(exc).__name__, url)
        raise FrontierError(f"Redis at {redact_url(url)} is unreachable: {detail}") from None
    finally:
        await client.aclose()
    if not meta:
        raise UsageError(f"no crawl {crawl_id!r} on {redact_url(url)} (check --crawl-id)")
    now_ms = redis_now[0] * 1000 + redis_now[1] / 1000
    status = SharedStatus(crawl_id, url, int(seen), {})
    hosts: dict[str, dict[str, int]] = defaultdict(dict)
    processes: dict[str, dict[str, int]] = defaultdict(dict)
    for raw_name, raw_value in counts.items():
        name, value = _text(raw_name), int(raw_value)
        if "|" in name:
            kind, _, host = name.partition("|")
            hosts[host][kind] = value
        elif name.startswith("skipped:"):
            status.skipped[name.removeprefix("skipped:")] = value
        elif "@" in name:
            kind, _, process = name.partition("@")
            processes[process][kind] = value
        else:
            status.totals[name] = value
    status.hosts = dict(hosts)
    status.processes = dict(processes)
    status.heartbeats_s = {
        _text(name): max(now_ms - float(score), 0.0) / 1000 for name, score in beats
    }
    return status


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def shared_status_lines(url: str, crawl_id: str) -> list[str]:
    """``read_shared_status`` run to completion, as printed lines (for the command line)."""
    return asyncio.run(read_shared_status(url, crawl_id)).lines()
