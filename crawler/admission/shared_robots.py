"""robots.txt fetched once per host for a whole shared crawl, over the frontier backend's
``SharedCache``: the first process to need it fetches it, the others read its answer until
it expires. What robots.txt says is :mod:`.robots`' to decide."""

from __future__ import annotations

import json

from crawler.admission.robots import RobotsFetch, RobotsResponse
from crawler.frontier import SharedCache

ROBOTS_KEEP_S = 24 * 3600.0
"""How long a robots.txt answer is shared: RFC 9309 lets a crawler cache it up to 24 hours."""


def shared_robots(
    cache: SharedCache, fetch_here: RobotsFetch, retry_after_error_s: float
) -> RobotsFetch:
    """``fetch_here`` (this process's robots.txt fetch) behind ``cache``: a failed answer
    (network, 5xx, 429) is kept ``retry_after_error_s``, any other ``ROBOTS_KEEP_S``."""

    async def fetch_robots(url: str) -> RobotsResponse:
        async def fetch() -> bytes:
            answer = await fetch_here(url)
            head = json.dumps([answer.status, answer.error]).encode()
            return head + b"\n" + answer.body

        def keep_s(value: bytes) -> float:
            status, error = json.loads(value.partition(b"\n")[0])
            failed = error is not None or status is None or status >= 500 or status == 429
            return retry_after_error_s if failed else ROBOTS_KEEP_S

        value = await cache.fetch_once(url, fetch, ttl_s=keep_s)
        head, _, body = value.partition(b"\n")
        status, error = json.loads(head)
        return RobotsResponse(status, body, (error[0], error[1]) if error is not None else None)

    return fetch_robots
