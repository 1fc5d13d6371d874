"""``parcrawl status --frontier URL --crawl-id ID``: a shared crawl's counts, in all, per
host and per process, read from Redis without changing anything.

It owns reading and wording; the counts are kept by :mod:`crawler.frontier.redis_scripts`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions as redis_errors

from crawler.errors import FrontierError, UsageError
from crawler.frontier.redis_keys import CrawlKeys, scrub
from crawler.frontier.redis_link import CALL_TIMEOUT_S, PERMANENT, connect_redis
from crawler.settings import redact_url

TOTALS = ("queued", "leased", "retrying", "done", "failed", "refused", "skipped", "requeued")


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
    """Seconds since each process last renewed its leases."""

    def lines(self) -> list[str]:
        """The status as printed: totals, then one line per host and per process."""
        totals = ", ".join(f"{name} {self.totals.get(name, 0)}" for name in TOTALS)
        out = [f"crawl {self.crawl_id} on {redact_url(self.url)}", f"{totals}, seen {self.seen}"]
        if self.hosts:
            out.append("per host:")
            for host, counts in sorted(self.hosts.items()):
                out.append(f"  {host}  {_fields(counts, ('queued', 'done', 'failed'))}")
        if self.processes:
            out.append("per process:")
            for name, counts in sorted(self.processes.items()):
                beat = self.heartbeats_s.get(name)
                seen = f"  last heard {beat:.0f} s ago" if beat is not None else "  gone"
                out.append(f"  {name}  {_fields(counts, ('leased', 'done', 'failed'))}{seen}")
        return out


def _fields(counts: dict[str, int], names: tuple[str, ...]) -> str:
    return "  ".join(f"{name} {counts.get(name, 0)}" for name in names)


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
