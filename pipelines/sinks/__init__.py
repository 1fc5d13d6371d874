"""Where records go: the ``Sink`` protocol and its implementations (JSONL for now).

Sinks run in the main process's event loop and write without blocking it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crawler.models import Record


class Sink(Protocol):
    """A destination for records; ``write`` gets them in batches as they complete."""

    async def open(self) -> None:
        """Prepare the destination; raise ``OutputError`` (exit 2) if it cannot be written."""

    async def write(self, records: Sequence[Record]) -> None:
        """Store ``records`` durably enough that a crash leaves no partial record."""

    async def close(self) -> None:
        """Finish the destination; safe to call twice and after a failed ``open``."""
