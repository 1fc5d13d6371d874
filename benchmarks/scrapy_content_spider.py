"""The Scrapy + trafilatura peer of ``parcrawl crawl --content``, for ``bench_content.py --crawl``.

A spider as its users write one: from a start URL it follows every link on the start host up
to ``DEPTH_LIMIT`` (what ``--follow --max-depth`` does), and in ``parse`` hands each HTML
page to ``trafilatura.extract(response.text, output_format="markdown")``. One item per
response: URL, status, and the Markdown (the main content) of HTML pages.

Usage: ``scrapy runspider benchmarks/scrapy_content_spider.py -a start=URL
-s DEPTH_LIMIT=1 -s FEEDS='{"out.jsonl": {"format": "jsonl"}}' -s LOG_LEVEL=ERROR``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
import trafilatura
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy_spider import UrlListSpider  # beside this file: runspider puts its folder on the path


class ContentSpider(scrapy.Spider):
    """Crawl one host from ``start``, extracting each HTML page's main content as Markdown."""

    name = "content"
    # the list spider's settings (no robots.txt, retries or cookies: parcrawl's bench terms)
    custom_settings: dict[str, Any] = {  # noqa: RUF012 (Scrapy reads this class attribute)
        **UrlListSpider.custom_settings,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    }

    def __init__(self, start: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start]
        self.allowed_domains = [urlsplit(start).hostname or ""]
        self.links = LinkExtractor()  # http(s) links; the offsite middleware keeps to the host

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        item: dict[str, Any] = {"url": response.url, "status": response.status}
        html = isinstance(response, TextResponse) and content_type.startswith("text/html")
        if html and response.status == 200:
            assert isinstance(response, TextResponse)
            markdown = trafilatura.extract(response.text, output_format="markdown")
            item["markdown"] = markdown or ""
            yield item
            yield from response.follow_all(self.links.extract_links(response), self.parse)
            return
        yield item
