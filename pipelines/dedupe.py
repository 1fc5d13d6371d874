"""Crawl-wide duplicate handling (main process): the only place that sees every page.

It drops exact duplicates (``drop_duplicates``) and marks near ones (``near_duplicate_of``,
from the ``simhash`` step); hashing itself happens in the workers.
"""

from __future__ import annotations

from collections.abc import Sequence

from crawler.models import Record
from crawler.settings import StepSettings
from pipelines.worker import DuplicateFilter

NEAR_DUPLICATE_BITS = 3
"""Simhashes differing in at most this many bits mark pages as near duplicates."""


class NearDuplicateIndex:
    """Finds an earlier simhash within ``max_distance`` bits of a new one, incrementally.

    Two hashes within k bits agree exactly on at least one of k+1 bands, so only hashes
    sharing a band value are compared.
    """

    def __init__(self, max_distance: int = NEAR_DUPLICATE_BITS) -> None:
        self._max_distance = max_distance
        self._buckets: dict[tuple[int, int], list[tuple[int, str]]] = {}

    def add(self, url: str, simhash_hex: str) -> str | None:
        """Index ``url``; returns the first earlier URL within the distance, if any."""
        value = int(simhash_hex, 16)
        bits = len(simhash_hex) * 4
        bands = self._max_distance + 1
        match: str | None = None
        for band in range(bands):
            low, high = bits * band // bands, bits * (band + 1) // bands
            key = (band, value >> low & ((1 << (high - low)) - 1))
            bucket = self._buckets.setdefault(key, [])
            if match is None:
                for other, other_url in bucket:
                    if (value ^ other).bit_count() <= self._max_distance:
                        match = other_url
                        break
            bucket.append((value, url))
        return match


class CrawlDedupe:
    """The main-process half of the job's steps, applied to each batch before writing."""

    def __init__(self, steps: Sequence[StepSettings]) -> None:
        names = {step.use for step in steps}
        self._exact = DuplicateFilter() if "drop_duplicates" in names else None
        self._near = NearDuplicateIndex() if "simhash" in names else None

    @property
    def active(self) -> bool:
        """True when the job asked for any crawl-wide duplicate handling."""
        return self._exact is not None or self._near is not None

    def apply(self, records: list[Record]) -> tuple[list[Record], list[Record]]:
        """Split ``records`` into (kept, dropped as exact duplicates); marks near duplicates."""
        kept: list[Record] = []
        dropped: list[Record] = []
        for record in records:
            digest = record["sha256"]
            exact = self._exact
            if exact is not None and digest and record["error"] is None and exact.seen(digest):
                dropped.append(record)
                continue
            simhash = record.get("simhash")
            if self._near is not None and isinstance(simhash, str):
                original = self._near.add(record["url"], simhash)
                if original is not None:
                    record["near_duplicate_of"] = original  # type: ignore[typeddict-unknown-key]
            kept.append(record)
        return kept, dropped
