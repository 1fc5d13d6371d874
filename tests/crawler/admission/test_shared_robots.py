"""Tests for crawler.admission.shared_robots: a robots.txt answer goes through a shared cache
whole (status, body, error) and is kept for as long as its kind deserves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from crawler.admission import RobotsResponse, shared_robots
from crawler.admission.shared_robots import ROBOTS_KEEP_S


class DictCache:
    """A ``SharedCache`` in a dict, noting how long each value was to be kept."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.kept_s: dict[str, float] = {}

    async def fetch_once(
        self,
        name: str,
        fetch: Callable[[], Awaitable[bytes]],
        *,
        ttl_s: Callable[[bytes], float],
    ) -> bytes:
        if name not in self.values:
            value = await fetch()
            self.values[name], self.kept_s[name] = value, ttl_s(value)
        return self.values[name]


def answering(*answers: RobotsResponse) -> Callable[[str], Awaitable[RobotsResponse]]:
    queue = list(answers)

    async def fetch_here(url: str) -> RobotsResponse:
        return queue.pop(0)

    return fetch_here


async def test_an_answer_comes_back_whole_and_is_kept_a_day() -> None:
    cache = DictCache()
    fetch = shared_robots(cache, answering(RobotsResponse(200, b"User-agent: *\n")), 30.0)
    url = "http://a.example/robots.txt"
    assert await fetch(url) == RobotsResponse(200, b"User-agent: *\n", None)
    assert await fetch(url) == RobotsResponse(200, b"User-agent: *\n", None)  # from the cache
    assert cache.kept_s[url] == ROBOTS_KEEP_S


async def test_a_failed_answer_is_kept_only_until_the_retry() -> None:
    cache = DictCache()
    failed = RobotsResponse(None, b"", ("connect_error", "refused"))
    fetch = shared_robots(cache, answering(failed, RobotsResponse(503, b"")), 30.0)
    assert await fetch("http://a.example/robots.txt") == failed
    assert await fetch("http://b.example/robots.txt") == RobotsResponse(503, b"", None)
    assert set(cache.kept_s.values()) == {30.0}
