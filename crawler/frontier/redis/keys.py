"""Where a shared crawl lives in Redis: its key prefix, the crawl id rule, and how a Redis
URL is shown without its password.

It owns names only; what the keys hold, and the scripts that change them, are
:mod:`.scripts`'.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.settings import CRAWL_ID, redact_url


def check_crawl_id(crawl_id: str) -> str:
    """``crawl_id`` unchanged when it is a valid crawl id (settings validate it first).

    Raises:
        ValueError: naming the rule.
    """
    if not CRAWL_ID.fullmatch(crawl_id):
        raise ValueError(f"not a crawl id: {crawl_id!r}")
    return crawl_id


def scrub(text: str, url: str) -> str:
    """``text`` (a third-party error message) with ``url``'s password, if any, masked."""
    password = urlsplit(url).password
    text = text.replace(url, redact_url(url))
    return text.replace(password, "***") if password else text


class CrawlKeys:
    """The Redis keys of one crawl: everything under ``parcrawl:{<crawl id>}:``.

    The braces are a Redis Cluster hash tag: every key of a crawl lands in one slot, so
    the scripts may touch them together.
    """

    def __init__(self, crawl_id: str) -> None:
        self.crawl_id = check_crawl_id(crawl_id)
        self.prefix = f"parcrawl:{{{crawl_id}}}:"

    @property
    def meta(self) -> str:
        """HASH: the crawl's settings fingerprint, creation time and shared politeness."""
        return self.prefix + "meta"

    @property
    def seeds(self) -> str:
        """SET: the seed roots, so a process joining without seeds knows the scope."""
        return self.prefix + "seeds"

    @property
    def seen(self) -> str:
        """SET of 16-byte canonical URL digests."""
        return self.prefix + "seen"

    @property
    def page(self) -> str:
        """HASH: canonical URL digest -> what the page's last fetch left for a recrawl."""
        return self.prefix + "page"

    @property
    def counts(self) -> str:
        """HASH: queued, leased, done, failed... in all, per host (``done|host``), per process."""
        return self.prefix + "counts"

    @property
    def procs(self) -> str:
        """ZSET: process id -> last heartbeat (ms)."""
        return self.prefix + "procs"

    def robots(self, host: str) -> str:
        """STRING: ``host``'s robots.txt response, with its expiry as the key's TTL."""
        return f"{self.prefix}robots:{host}"

    def robots_lock(self, host: str) -> str:
        """STRING with a TTL: one process fetches ``host``'s robots.txt, the others wait."""
        return f"{self.prefix}robots-lock:{host}"

    def pattern(self) -> str:
        """A SCAN pattern matching every key of the crawl."""
        return self.prefix.replace("{", "\\{").replace("}", "\\}") + "*"
