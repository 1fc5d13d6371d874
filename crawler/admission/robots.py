"""robots.txt (RFC 9309) per host: fetched once, parsed with protego, kept for the crawl.

It decides which URLs our user agent may fetch; it does not fetch them or pace requests.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin, urlsplit, urlunsplit

from protego import Protego

from crawler.frontier import backoff_s
from crawler.settings import FetchSettings, RobotsSettings
from crawler.urls import CRAWLABLE_SCHEMES, DEFAULT_PORTS, ascii_host, host_key

logger = logging.getLogger(__name__)

ROBOTS_PATH = "/robots.txt"

ROBOTS_HOSTS = 10_000
"""Hosts whose robots.txt is kept, those asked about last. A parsed robots.txt takes some
10 KB (far more for a long one): a list over a million hosts kept them all, gigabytes. A
host forgotten has its robots.txt fetched again if it comes back; a crawl rotates over
far fewer hosts at a time than this."""

# RFC 9309 2.2.1: a product token is letters, "-" and "_" only.
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")


@dataclass(frozen=True, slots=True)
class RobotsResponse:
    """What fetching one robots.txt gave: status (None on a network error) and body bytes.

    On a network error, ``error`` is its code and message (``("dns", "...")``), so that a
    URL refused for it can say what really happened.
    """

    status: int | None
    body: bytes
    error: tuple[str, str] | None = None


RobotsFetch = Callable[[str], Awaitable[RobotsResponse]]
"""Fetches a robots.txt URL, following up to 5 redirects; never raises on network errors."""


class RobotsVerdict(StrEnum):
    """What robots.txt says of one URL."""

    ALLOWED = "allowed"
    DISALLOWED = "disallowed"  # a rule forbids it
    UNAVAILABLE = "unavailable"  # robots.txt failed (5xx, 429, network): the host is off limits


@dataclass(frozen=True, slots=True)
class _HostRules:
    """What one host's robots.txt says, as the cache keeps it."""

    parser: Protego | None = None  # None and not blocked: no rules, everything allowed
    blocked: bool = False  # unreachable: everything refused until retry_at
    reason: tuple[str, str] | None = None  # why blocked: (code, message)
    retry_at: float = math.inf
    sitemaps: tuple[str, ...] = ()


class RobotsCache:
    """One robots.txt per host key, fetched on first need and shared by concurrent callers.

    A 2xx robots.txt is obeyed; a 4xx one means no rules; a 5xx, a 429 or a network error
    refuses the host's URLs until ``settings.retry_after_error_s`` has passed, then the next
    call fetches it again. A network error that pages would retry (``retry.retry_errors``,
    e.g. a refused connection or a timeout) is first retried like a page: up to
    ``retry.retries`` more attempts, with the same jittered exponential back-off. It keeps
    the ``max_hosts`` hosts asked about last (``ROBOTS_HOSTS``): memory stays flat over a
    list of any number of hosts.
    """

    def __init__(
        self,
        fetch: RobotsFetch,
        *,
        user_agent: str,
        settings: RobotsSettings,
        retry: FetchSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_hosts: int = ROBOTS_HOSTS,
    ) -> None:
        self._fetch = fetch
        self._settings = settings
        self._retry = retry
        self._clock = clock
        self._rng = rng or random.Random()
        match = _PRODUCT_TOKEN.match(user_agent.strip())
        # Without a product token only the "*" group can apply, which an empty name gives.
        self._token = match.group() if match else ""
        self._hosts: OrderedDict[str, asyncio.Task[_HostRules]] = OrderedDict()
        self._max_hosts = max_hosts

    def robots_url(self, url: str) -> str:
        """``scheme://host[:port]/robots.txt`` for ``url``'s host; credentials are dropped."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = ascii_host(parts.hostname or "")
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:
            port = None
        netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
        return urlunsplit((scheme, netloc, ROBOTS_PATH, "", ""))

    async def verdict(self, url: str) -> RobotsVerdict:
        """Whether ``url`` may be fetched, telling a rule's "no" from an unreachable file."""
        if not self._settings.obey or urlsplit(url).path == ROBOTS_PATH:
            return RobotsVerdict.ALLOWED
        rules = await self._rules(url)
        if rules.blocked:
            return RobotsVerdict.UNAVAILABLE
        if rules.parser is None or rules.parser.can_fetch(url, self._token):
            return RobotsVerdict.ALLOWED
        return RobotsVerdict.DISALLOWED

    async def unavailable_reason(self, url: str) -> tuple[str, str]:
        """Why ``url``'s host is off limits when its verdict is UNAVAILABLE: (code, message)."""
        rules = await self._rules(url)
        return rules.reason or ("robots_unavailable", f"{self.robots_url(url)} is unavailable")

    async def crawl_delay_s(self, url: str) -> float | None:
        """The host's Crawl-delay for our user agent, capped; None when it gives none."""
        if not self._settings.obey:
            return None
        rules = await self._rules(url)
        if rules.parser is None:
            return None
        delay_s = rules.parser.crawl_delay(self._token)
        if delay_s is None:
            return None
        return min(float(delay_s), self._settings.max_crawl_delay_s)

    async def sitemaps(self, url: str) -> list[str]:
        """The absolute http(s) URLs of the ``Sitemap:`` lines in the host's robots.txt."""
        rules = await self._rules(url)
        return list(rules.sitemaps)

    async def aclose(self) -> None:
        """Cancel robots.txt fetches still in flight, so none outlives the crawl."""
        pending = [task for task in self._hosts.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._hosts.clear()

    async def _rules(self, url: str) -> _HostRules:
        key = host_key(url)
        task = self._hosts.get(key)
        if task is None or self._expired(task):
            task = asyncio.create_task(self._load(self.robots_url(url)), name=f"robots {key}")
            self._hosts[key] = task
            self._forget_oldest()
        self._hosts.move_to_end(key)
        # Shielded: one caller being cancelled must not cancel the fetch the others await.
        return await asyncio.shield(task)

    def _forget_oldest(self) -> None:
        """Past ``max_hosts``, drop the hosts asked about least recently, once fetched (one
        still loading is awaited, and ``aclose`` must find it)."""
        while len(self._hosts) > self._max_hosts:
            oldest = next(iter(self._hosts.values()))
            if not oldest.done():
                return
            self._hosts.popitem(last=False)

    def _expired(self, task: asyncio.Task[_HostRules]) -> bool:
        if not task.done():
            return False
        if task.cancelled():
            return True
        return task.result().retry_at <= self._clock()

    async def _load(self, robots_url: str) -> _HostRules:
        response = await self._fetch_retrying(robots_url)
        status = response.status
        if status is not None and 200 <= status < 300:
            return await self._parse(robots_url, response.body)
        # RFC 9309 2.3.1.3: "unavailable" (4xx, and a 3xx left after the fetch gave up on
        # redirects) means no rules. 429 is the exception: a site asking us to slow down
        # is not inviting a crawl of everything, so it is treated like a server error.
        if status is not None and 300 <= status < 500 and status != 429:
            logger.debug("robots.txt %s gave HTTP %d: no rules apply", robots_url, status)
            return _HostRules()
        retry_after_s = self._settings.retry_after_error_s
        if status is not None:
            reason = f"HTTP {status}"
        else:
            reason = response.error[0] if response.error else "network error"
        why = response.error or ("robots_unavailable", f"{robots_url} answered {reason}")
        logger.info(
            "robots.txt %s failed (%s): its host's URLs are refused for %.0f s",
            robots_url,
            reason,
            retry_after_s,
        )
        return _HostRules(blocked=True, retry_at=self._clock() + retry_after_s, reason=why)

    async def _fetch_retrying(self, robots_url: str) -> RobotsResponse:
        """Fetch robots.txt, again after a network error a page would be retried for.

        A host that is down for a moment when the crawl reaches it is not given up on at
        the first refused connection.
        """
        attempt = 1
        while True:
            response = await self._fetch_once(robots_url)
            retry = self._retry
            if (
                retry is None
                or attempt > retry.retries
                or response.error is None
                or response.error[0] not in retry.retry_errors
            ):
                return response
            wait_s = backoff_s(
                attempt, base_s=retry.retry_backoff_s, cap_s=retry.max_hold_s, rng=self._rng
            )
            logger.info(
                "robots.txt %s failed (%s): trying again in %.1f s",
                robots_url,
                response.error[0],
                wait_s,
            )
            await asyncio.sleep(wait_s)
            attempt += 1

    async def _fetch_once(self, robots_url: str) -> RobotsResponse:
        try:
            return await self._fetch(robots_url)
        except Exception:
            # The fetch promises not to raise; if it does anyway, the crawl goes on and the
            # host is treated as unreachable rather than every later call re-raising.
            logger.warning("robots.txt fetch raised for %s", robots_url, exc_info=True)
            return RobotsResponse(status=None, body=b"")

    async def _parse(self, robots_url: str, body: bytes) -> _HostRules:
        # A large robots.txt takes protego a noticeable fraction of a second; keep it off
        # the event loop.
        parser = await asyncio.to_thread(_parse_robots, body[: self._settings.max_bytes])
        sitemaps = _absolute_sitemaps(robots_url, parser.sitemaps)
        return _HostRules(parser=parser, sitemaps=sitemaps)


def _parse_robots(body: bytes) -> Protego:
    # utf-8-sig: a leading byte-order mark would otherwise hide the first User-agent line.
    # A body cut mid-character only loses that character to a replacement mark.
    return Protego.parse(body.decode("utf-8-sig", errors="replace"))


def _absolute_sitemaps(robots_url: str, values: Iterable[str]) -> tuple[str, ...]:
    # A dict keeps the file's order while dropping repeats.
    urls: dict[str, None] = {}
    for value in values:
        absolute = urljoin(robots_url, value.strip())
        if urlsplit(absolute).scheme in CRAWLABLE_SCHEMES:
            urls[absolute] = None
    return tuple(urls)
