"""Where URLs come from before the frontier: URL lists (arguments, files, stdin) and sitemaps.

Sitemaps are fetched on their seed's site only (``SitemapSeeder``); deciding the scope of
the pages they list is :mod:`crawler.admission`'s.
"""

from __future__ import annotations

from crawler.seeds.lists import STDIN, SeedReader, count_seed_lines, lists_a_valid_seed
from crawler.seeds.seeder import SitemapSeeder
from crawler.seeds.sitemaps import Sitemap, SitemapResponse, iter_sitemap_urls, parse_sitemap

__all__ = [
    "STDIN",
    "SeedReader",
    "Sitemap",
    "SitemapResponse",
    "SitemapSeeder",
    "count_seed_lines",
    "iter_sitemap_urls",
    "lists_a_valid_seed",
    "parse_sitemap",
]
