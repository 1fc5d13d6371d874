"""A shared crawl's status for ``parcrawl status --frontier … --crawl-id …``: the one place
the command line reads ``settings.cluster`` for a backend. Everything else it learns of the
executor and the frontier, they say themselves through ``crawler.api.Crawl``.
"""

from __future__ import annotations

from crawler.errors import UsageError
from crawler.frontier import shared_status_lines
from crawler.settings import build_settings


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
