"""Seeding a crawl from each seed site's own sitemaps (``--sitemaps``): which, and their pages.

Reading one sitemap is :mod:`crawler.seeds.sitemaps`'s; the pages' scope is admission's.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from crawler.admission import Admission, RobotsCache, site_key
from crawler.errors import FetchError
from crawler.fetch import Fetcher
from crawler.frontier import Turn
from crawler.models import FetchRequest
from crawler.seeds.sitemaps import SitemapResponse, iter_sitemap_urls
from crawler.stats import Stats
from crawler.urls import split_credentials

log = logging.getLogger(__name__)

SITEMAP_MAX_BYTES = 50 * 1024 * 1024
"""The sitemaps.org limit for one (uncompressed) sitemap file."""

ABSENT_SITEMAP = frozenset({"HTTP 404", "HTTP 410"})
"""Reasons that mean a guessed /sitemap.xml does not exist (not that it is broken)."""

OFFSITE_SITEMAP = "sitemap_offsite"
"""The failure code of a sitemap, or a redirect hop of one, on another site than its seed."""


class SitemapSeeder:
    """Walks the sitemaps of one seed's site and hands out the pages they list as requests.

    A site's sitemaps are fetched only on that site (``site_key``: scheme, host and port,
    http and https of one host alike), also after a redirect: the sitemaps protocol lets an
    index list only its own site's sitemaps, and a site listing another host (in an index,
    a ``Sitemap:`` line of robots.txt, a redirect) must not make the crawl request it.
    Such a sitemap is refused before any request, robots.txt included, and counted as one
    that could not be read.
    """

    def __init__(
        self, *, fetcher: Fetcher, admission: Admission, robots: RobotsCache | None, stats: Stats
    ) -> None:
        self._fetcher = fetcher
        self._admission = admission
        self._robots = robots
        self._stats = stats

    async def requests(self, seed: str) -> AsyncIterator[FetchRequest]:
        """The pages ``seed``'s site lists in its sitemaps, in order, each one in scope and
        without its ``strip_params`` parameters.

        The sitemaps are those robots.txt names, or else a guessed ``/sitemap.xml``, which
        may be absent without that being an error.
        """
        site = site_key(seed)
        starts = await self._robots.sitemaps(seed) if self._robots is not None else []
        guessed = None if starts else seed_root(seed) + "/sitemap.xml"
        if guessed is not None:
            starts = [guessed]

        def report(sitemap_url: str, reason: str) -> None:
            if sitemap_url == guessed and reason in ABSENT_SITEMAP:
                log.info("no sitemap at %s (%s)", sitemap_url, reason)
                return
            self._stats.sitemap_errors += 1
            log.warning("sitemap %s skipped: %s", sitemap_url, reason)

        reading = ""

        async def fetch(sitemap_url: str) -> SitemapResponse:
            # The walk yields a sitemap's pages before it fetches the next: this names them.
            nonlocal reading
            reading = sitemap_url
            return await self._fetch(sitemap_url, seed, site)

        async for listed in iter_sitemap_urls(starts, fetch, on_error=report):
            # A sitemap's word is no credential: a user:password@ it lists is dropped. Its
            # tracking parameters go as a seed's and a link's do, so the page it lists is
            # the one URL (one seen-set key, one record) the crawl knows that page by.
            url, _ = split_credentials(self._fetcher.strip_params(listed))
            if site is not None and self._admission.sitemap_page_in_scope(url, site):
                yield FetchRequest(url, 0, reading)

    async def _fetch(self, url: str, seed: str, site: str | None) -> SitemapResponse:
        async def on_site_then_wait(hop: str) -> Turn:
            # Before every hop, before its host's robots.txt or Crawl-delay is looked up.
            if site_key(hop) != site:
                where = "not" if hop == url else f"redirected to {hop}, not"
                raise FetchError(
                    OFFSITE_SITEMAP, f"{where} on the site of {seed_root(seed)}: not fetched"
                )
            return await self._admission.wait_turn(hop)

        # One byte over the sitemap limit, so the parser sees it is too large and says so.
        status, body, failure = await self._fetcher.fetch_resource(
            url, max_bytes=SITEMAP_MAX_BYTES + 1, before_request=on_site_then_wait
        )
        return SitemapResponse(status, body, failure.message if failure is not None else None)


def seed_root(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, as written (no path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
