"""Batching: fetched pages grouped into batches for the process stage, and when each one goes.

It owns the queue between the fetchers and the stage, the batches out at once, and the
policy that sizes the next one; it does not run batches (``pipelines.stage``) or fetch.
"""

from __future__ import annotations

import asyncio

from crawler.models import FetchResult

END = None
"""Put after the last page: no more pages will come."""


class Batches:
    """The pages waiting for the stage, and the batches they are sent in.

    At most ``lanes * 2`` batches are out at once (``start`` waits for a place, ``finished``
    gives it back), so fetched pages wait in a bounded queue, not in the workers' queues.

    Args:
        limit: pages a full batch holds (``batch_size``, or more for an executor that asks).
        lanes: the stage's workers: how many batches run at once.
    """

    def __init__(self, limit: int, lanes: int) -> None:
        self.limit = limit
        self.lanes = lanes
        self._queue: asyncio.Queue[FetchResult | None] = asyncio.Queue(limit * lanes * 2)
        self._places = asyncio.Semaphore(lanes * 2)
        self._running = 0  # handed to the stage and not back yet
        self._place_taken = False  # by ``next``, for the batch it returned
        # Set when a page joins the queue or a batch comes back: a batch being filled
        # while every worker is busy looks again (see ``next``).
        self._wake = asyncio.Event()

    async def put(self, item: FetchResult | None) -> None:
        """Queue a fetched page (or ``END``) for ``next``."""
        await self._queue.put(item)
        self._wake.set()

    async def next(self) -> tuple[list[FetchResult], bool]:
        """The next batch; and True once the end of the pages came.

        A batch crossing to a worker costs the crawler's process about the same whether
        it holds one page or a full batch (pickling; on Dask, a task's messages), and
        this process is what limits a fast crawl. So while any batch is out, the next
        one waits to be full: it goes when it is, at the end of the pages, or once every
        batch came back (no worker would be busy otherwise). Pages fetched slower than
        one worker parses them still go one by one, as soon as they come; pages fetched
        faster fill a batch before the one out is back, so no worker waits for long.
        With no batch out, a batch takes only its share of the pages waiting, so that
        every worker gets some (the crawl's last pages) instead of one parsing them all.

        A batch may hold pages that are not to be parsed (failed fetches): they go on
        without a worker, and the batch's parsed pages then go out with ``start``.
        """
        queue = self._queue
        item = await queue.get()
        self._place_taken = item is not END and item.parseable
        if self._place_taken:
            await self._places.acquire()
        limit = self.limit
        share = limit if self._running else min(limit, -(-(queue.qsize() + 1) // self.lanes))
        batch: list[FetchResult] = []
        while item is not END:
            batch.append(item)
            if len(batch) >= share:
                return batch, False
            while queue.empty():
                if self._running == 0:
                    return batch, False
                self._wake.clear()
                await self._wake.wait()
            item = queue.get_nowait()
        return batch, True

    async def start(self) -> None:
        """The parsed pages of the batch ``next`` returned go to the stage now."""
        if not self._place_taken:
            await self._places.acquire()
        self._running += 1

    def finished(self) -> None:
        """A batch ``start`` sent came back (or failed): its place is free again."""
        self._places.release()
        self._running -= 1
        self._wake.set()
