"""The frontier backend seam: a ``FrontierBackend`` is one crawl's choice of where its
frontier lives (this process, or Redis shared with others), made once by
``crawler.assembly``; everything after that asks the backend, never its type.

Opening a shared backend is :mod:`.shared`'s; this module names what every backend offers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from crawler.frontier.lifecycle import Frontier

if TYPE_CHECKING:
    from crawler.recrawl import PageMemoryStore


class SharedCache(Protocol):
    """Bytes fetched once for the whole crawl and kept a while (robots.txt answers): the
    first process to need a name fetches it, the others wait and read its answer."""

    async def fetch_once(
        self,
        name: str,
        fetch: Callable[[], Awaitable[bytes]],
        *,
        ttl_s: Callable[[bytes], float],
    ) -> bytes:
        """``name``'s bytes, from the cache, or from ``fetch`` kept for ``ttl_s(value)``."""
        ...


class FrontierBackend(Protocol):
    """Where one crawl's frontier lives, and what comes with it.

    Built unjoined; ``start`` joins (what fails when a shared crawl cannot be used), so a
    crawl starts its backend before it opens any output. ``aclose`` never raises.
    """

    @property
    def label(self) -> str:
        """Where the frontier lives, for people (no password)."""
        ...

    @property
    def frontier(self) -> Frontier:
        """The frontier the engine drives."""
        ...

    @property
    def page_memory(self) -> PageMemoryStore | None:
        """Where pages are remembered for a recrawl; None: this crawl remembers nothing."""
        ...

    @property
    def shared_cache(self) -> SharedCache | None:
        """A cache shared by every process of the crawl; None when the crawl is local."""
        ...

    @property
    def shared(self) -> bool:
        """Other processes crawl too: this one appends to outputs they may have written."""
        ...

    @property
    def paused(self) -> bool:
        """True while fetching is paused (a lost Redis, until it is back)."""
        ...

    def status_lines(self) -> list[str]:
        """Notes on the frontier for a progress display (none when all is well)."""
        ...

    def connect_admission(self, add_seed: Callable[[str], None], skipped: Counter[str]) -> None:
        """Share what admission needs across the crawl: ``add_seed`` learns every seed root
        of the crawl (a process joining without seeds learns its scope so), and ``skipped``
        (this process's skips by reason) is counted with the crawl's."""
        ...

    async def start(self) -> None:
        """Join the crawl (a local one: nothing to do).

        Raises:
            FrontierError: a shared frontier unreachable, refusing us, or no crawl to join.
            ConfigError: a shared crawl started with settings that differ.
        """
        ...

    async def aclose(self) -> None:
        """Leave the crawl and release what the backend holds. Never raises."""
        ...


@dataclass(frozen=True, slots=True)
class CrawlIdentity:
    """What every process of one shared crawl must agree on, and what this one brings.

    ``fingerprint`` holds the settings that define the crawl (scope, politeness) by key
    path; a process whose fingerprint differs is refused. ``seeding``: this process
    brings seeds (it may create the crawl, which is not over until it has read them).
    ``autothrottle``: hosts' rates follow their servers, one shared rate per host.
    """

    fingerprint: dict[str, Any]
    per_host: int
    delay_s: float
    max_per_host: int | None
    seeding: bool
    autothrottle: bool = False
