"""parcrawl's IO side: the asyncio event loop that schedules, fetches and writes.

Parsing and processing live in :mod:`pipelines`, run in worker processes.
"""

from __future__ import annotations

__version__ = "0.1.0"
