"""The Redis link's calls: a cancellation always reaches the caller (no Redis needed)."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from crawler.frontier.redis import RedisLink, connect_redis


def link() -> RedisLink:
    # Nothing is sent: the calls under test never touch the client.
    return RedisLink(
        connect_redis("redis://127.0.0.1:9/0"),
        "redis://127.0.0.1:9/0",
        give_up_s=1,
        rng=random.Random(0),
    )


async def test_a_cancellation_the_client_swallowed_still_ends_the_call() -> None:
    started = asyncio.Event()

    async def swallows_the_cancellation() -> str:
        # What redis-py's send path did on Python 3.11 when the crawl was cancelled there.
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return "an answer"

    the_link = link()
    call = asyncio.create_task(the_link.call(swallows_the_cancellation))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await the_link.client.aclose()


async def test_an_answer_comes_back_when_nothing_was_cancelled() -> None:
    async def answers() -> str:
        return "an answer"

    the_link = link()
    assert await the_link.call(answers) == "an answer"
    await the_link.client.aclose()
