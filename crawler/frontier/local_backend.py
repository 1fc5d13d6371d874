"""LocalBackend: the ``FrontierBackend`` of a crawl run by this process alone, a
``LocalFrontier`` over a SQLite store (the state file's, or a scratch one it owns)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from crawler.frontier.backend import SharedCache
from crawler.frontier.local import LocalFrontier
from crawler.frontier.stores import SqliteFrontierStore

if TYPE_CHECKING:
    from crawler.recrawl import PageMemoryStore


class LocalBackend:
    """One process's frontier: nothing to join, nothing shared, never paused.

    Args:
        frontier: the frontier, built over its store.
        owned_store: a scratch store nobody else holds (no state file): closed with the
            backend. A state file's store is the state's to close.
        page_memory: where pages are remembered for a recrawl (the state file), if anywhere.
    """

    def __init__(
        self,
        frontier: LocalFrontier,
        *,
        owned_store: SqliteFrontierStore | None = None,
        page_memory: PageMemoryStore | None = None,
    ) -> None:
        self._frontier = frontier
        self._owned_store = owned_store
        self._page_memory = page_memory

    @property
    def label(self) -> str:
        """Where the frontier lives."""
        return "this process (SQLite)"

    @property
    def frontier(self) -> LocalFrontier:
        """The frontier the engine drives."""
        return self._frontier

    @property
    def page_memory(self) -> PageMemoryStore | None:
        """The state file, when there is one."""
        return self._page_memory

    @property
    def shared_cache(self) -> SharedCache | None:
        """None: no other process to share with."""
        return None

    @property
    def shared(self) -> bool:
        """False: this process alone writes its outputs."""
        return False

    @property
    def paused(self) -> bool:
        """Never: nothing remote to lose."""
        return False

    def status_lines(self) -> list[str]:
        """None: a local frontier has nothing to report beyond the crawl's counts."""
        return []

    def connect_admission(self, add_seed: Callable[[str], None], skipped: Counter[str]) -> None:
        """Nothing to share: admission already knows this process's seeds and skips."""

    async def start(self) -> None:
        """Nothing to join."""

    async def aclose(self) -> None:
        """Close the scratch store, if the backend owns one."""
        if self._owned_store is not None:
            self._owned_store.close()
            self._owned_store = None
