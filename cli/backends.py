"""What the command line learns of the crawl's backends: where pages are parsed (the local
pool or a Dask cluster), whether a shared frontier has paused (Redis lost), a shared crawl's
status.

The one place in the CLI that looks inside them (``getattr(factory, "executor")``, a log
record's ``PAUSED_FIELD``) or reads ``settings.cluster`` for them: until executors and
frontiers describe themselves (label, summary lines, paused; issue 23), these lookups stay
here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from cli.view import counted
from crawler.assembly import executor_factory_for
from crawler.errors import UsageError
from crawler.frontier import shared_status_lines
from crawler.settings import Settings, build_settings
from crawler.stats import Stats


class ExecutorView:
    """What the progress bars and the summary say about where pages are parsed."""

    def __init__(self, settings: Settings) -> None:
        self.workers = settings.workers
        self.factory = executor_factory_for(settings)
        self.announced = False

    def _dask(self) -> Any:
        return getattr(self.factory, "executor", None)

    def label(self) -> str:
        """``local pool, 4 workers`` or ``dask tcp://host:8786, 3 workers``."""
        dask = self._dask()
        if dask is not None:
            return f"{dask.name}, {counted(dask.workers, 'worker')}"
        if self.workers == 0:
            return "inline (no worker processes)"
        return f"local pool, {counted(self.workers, 'worker')}"

    def announce(self) -> str | None:
        """A line to print once a Dask executor is connected; None before or after."""
        dask = self._dask()
        if dask is None or self.announced:
            return None
        self.announced = True
        dashboard = f", dashboard {dask.dashboard}" if dask.dashboard else ""
        return f"parsing on {self.label()}{dashboard}"

    def summary(self, stats: Stats) -> str:
        """The summary's executor line: parse and transfer times, bytes moved per page."""
        line = f"executor: {self.label()}"
        dask = self._dask()
        if dask is not None:
            traffic = dask.traffic
            moved = traffic.bytes_sent + traffic.bytes_received
            per_page = moved / stats.parsed if stats.parsed else 0.0
            line += (
                f"; parse {traffic.run_s:.1f} s in workers, transfer {traffic.transfer_s:.1f} s "
                f"(moving and queueing batches); {per_page / 1024:.1f} KiB moved per page"
            )
        return line


def shared_crawl_status(frontier: str | None, crawl_id: str | None) -> list[str]:
    """The status lines of the crawl ``crawl_id`` shared through the Redis at ``frontier``.

    Raises:
        UsageError: a crawl id without a frontier.
        ConfigError: a frontier that is no Redis URL, a crawl id that is no crawl id.
    """
    cluster = build_settings({"cluster": {"frontier": frontier, "crawl_id": crawl_id}}).cluster
    if cluster.frontier is None:
        raise UsageError("--crawl-id needs --frontier REDIS_URL")
    assert cluster.crawl_id is not None
    return shared_status_lines(cluster.frontier, cluster.crawl_id)
