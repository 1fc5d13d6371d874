"""The one error a failed ``asyncio.TaskGroup`` reports: parcrawl's own first, then any other.

A task group raises every failure of its tasks at once, wrapped; a crawl ends with one
error and one exit code, so the engine picks it here.
"""

from __future__ import annotations

import asyncio

from crawler.errors import ParcrawlError


def error_to_report(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed task group: ours first, then whatever came."""
    for leaf in _leaves(group):
        if isinstance(leaf, ParcrawlError):
            return leaf
    for leaf in _leaves(group):
        if not isinstance(leaf, asyncio.CancelledError):
            return leaf
    return asyncio.CancelledError()


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves
