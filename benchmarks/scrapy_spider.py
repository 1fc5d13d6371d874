"""A minimal Scrapy spider doing the same bs4 work per page, for `bench_crawl.py` to measure.

Reads a URL list (``-a urls=FILE``), fetches each URL once and yields one item per URL:
title, visible text and absolute links for HTML pages, the status for everything else.

Usage: ``scrapy runspider benchmarks/scrapy_spider.py -a urls=FILE -s FEEDS='{"out.jsonl":
{"format": "jsonl"}}' -s CONCURRENT_REQUESTS=16 -s LOG_LEVEL=ERROR``
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import scrapy
from bs4 import BeautifulSoup, Tag
from scrapy.http import Response


class UrlListSpider(scrapy.Spider):
    """Fetch every URL of a file, one item per URL (404s included)."""

    name = "urllist"
    custom_settings: dict[str, Any] = {  # noqa: RUF012 (Scrapy reads this class attribute)
        "ROBOTSTXT_OBEY": False,
        "HTTPERROR_ALLOW_ALL": True,
        "TELNETCONSOLE_ENABLED": False,
        "RETRY_ENABLED": False,
        "COOKIES_ENABLED": False,
    }

    def __init__(self, urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url_file = Path(urls)

    async def start(self) -> Any:  # Scrapy >= 2.13
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:
        with self.url_file.open(encoding="utf-8") as lines:
            for line in lines:
                url = line.strip()
                if url:
                    yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[dict[str, Any]]:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        item: dict[str, Any] = {
            "url": response.url,
            "status": response.status,
            "content_type": content_type,
        }
        if response.status == 200 and content_type.startswith("text/html"):
            soup = BeautifulSoup(response.body, "lxml")
            item["title"] = str(soup.title.get_text()) if soup.title is not None else None
            for tag in soup(["script", "style"]):
                tag.decompose()
            item["text"] = soup.get_text(" ")
            item["links"] = [
                response.urljoin(str(a["href"]))
                for a in soup.select("a[href]")
                if isinstance(a, Tag)
            ]
        yield item
