"""RedisPageMemory: what a shared crawl remembers of each page for the next recrawl, kept in
Redis beside its frontier (the ``page`` HASH), and how one page is packed into it.

It owns the packing and this process's view (pages loaded as their leases are taken,
memories waiting to be written with their records' ``done``); the calls to Redis are the
frontier's, so they ride out a lost Redis like every other.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence

from crawler.recrawl import PageMemory
from crawler.urls import host_key, url_key


def pack(page: PageMemory) -> bytes:
    """``page`` as the ``page`` HASH keeps it: a JSON head the recrawl script reads (URL,
    host, depth, referrer), a newline, then the rest as zlib-compressed JSON.

    Links are most of a page's memory and share their prefixes: compressed, a page of the
    demo site takes about a third of its JSON (README, "Recrawls of a shared crawl").
    """
    head = {"u": page.url, "h": host_key(page.url), "d": page.depth, "r": page.referrer or False}
    rest = [
        page.status,
        page.etag,
        page.last_modified,
        page.sha256,
        page.links,
        page.warc_id,
        page.warc_date,
        page.payload_digest,
    ]
    body = zlib.compress(json.dumps(rest, separators=(",", ":")).encode(), 6)
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + body


def unpack(value: bytes) -> PageMemory:
    """The page ``pack`` packed into ``value``."""
    head_raw, _, body = value.partition(b"\n")
    head = json.loads(head_raw)
    status, etag, modified, sha256, links, warc_id, warc_date, digest = json.loads(
        zlib.decompress(body)
    )
    return PageMemory(
        head["u"],
        status,
        etag,
        modified,
        sha256,
        links,
        int(head["d"]),
        head["r"] or None,
        warc_id,
        warc_date,
        digest,
    )


class RedisPageMemory:
    """The ``PageMemoryStore`` of a crawl shared through Redis.

    ``previous`` answers from the pages loaded when this process took their leases (one
    HMGET per take, not one call per page), so the recrawl's synchronous questions never
    wait on Redis. ``remember`` only collects: the memories are written by the same
    script that marks their records done, so memory and outcome never disagree after a
    kill.

    Args:
        load: whether to load pages at all (a recrawl); a plain shared crawl only writes.
    """

    def __init__(self, *, load: bool) -> None:
        self.load = load
        self._loaded: dict[str, PageMemory | None] = {}
        self._pending: dict[str, PageMemory] = {}

    def previous(self, url: str) -> PageMemory | None:
        """The memory of ``url`` loaded with its lease (handed over once), or None."""
        return self._loaded.pop(url, None)

    def remember(self, pages: Sequence[PageMemory]) -> None:
        """Keep ``pages``; written to Redis with the next ``done`` of this process."""
        for page in pages:
            self._pending[page.url] = page

    def wanted(self, urls: Iterable[str]) -> list[str]:
        """Those of ``urls`` whose memory is not loaded yet (none when not loading)."""
        return [url for url in urls if url not in self._loaded] if self.load else []

    def loaded(self, urls: Sequence[str], values: Sequence[bytes | str | None]) -> None:
        """Note what Redis holds for ``urls`` (None: a page no run has fetched)."""
        for url, value in zip(urls, values, strict=True):
            if value is None:
                self._loaded[url] = None
            else:
                self._loaded[url] = unpack(value.encode() if isinstance(value, str) else value)

    def forget(self, url: str) -> None:
        """``url``'s lease went elsewhere (retry, hold): it is loaded again when taken."""
        self._loaded.pop(url, None)

    def writes(self) -> list[tuple[bytes, bytes]]:
        """The memories waiting to be written, as (``page`` field, value); now handed over."""
        pending, self._pending = self._pending, {}
        return [(url_key(url), pack(page)) for url, page in pending.items()]
