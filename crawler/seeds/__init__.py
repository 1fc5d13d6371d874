"""Where URLs come from before the frontier: URL lists (arguments, files, stdin) and sitemaps.

Reading only: fetching sitemaps is the engine's, deciding scope is :mod:`crawler.admission`'s.
"""

from __future__ import annotations

from crawler.errors import SitemapError
from crawler.seeds.lists import STDIN, SeedReader, count_seed_lines, lists_a_valid_seed
from crawler.seeds.sitemaps import Sitemap, SitemapResponse, iter_sitemap_urls, parse_sitemap

__all__ = [
    "STDIN",
    "SeedReader",
    "Sitemap",
    "SitemapError",
    "SitemapResponse",
    "count_seed_lines",
    "iter_sitemap_urls",
    "lists_a_valid_seed",
    "parse_sitemap",
]
