"""The in-memory sink: keeps records in a list, for the Python API and for tests."""

from __future__ import annotations

from collections.abc import Sequence

from crawler.models import Record


class MemorySink:
    """Collects every record in ``records``, in the order they were written."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def open(self) -> None:
        """Nothing to prepare."""

    async def write(self, records: Sequence[Record]) -> None:
        """Keep ``records``."""
        self.records.extend(records)

    async def close(self) -> None:
        """Nothing to finish."""

    def by_url(self) -> dict[str, Record]:
        """The records keyed by requested URL."""
        return {record["url"]: record for record in self.records}
