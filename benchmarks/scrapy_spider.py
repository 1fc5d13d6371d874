"""Scrapy peers doing parcrawl's work per page, for `bench_crawl.py` to measure.

Reads a URL list (``-a urls=FILE``), fetches each URL once and yields one item per URL:
title, visible text and absolute links for HTML pages, the status for everything else.
``-a parser=parsel`` (the default) parses with Scrapy's own selectors, as most Scrapy users
write a spider; ``-a parser=bs4`` hands the body to BeautifulSoup(lxml) instead.

The work is parcrawl's: the title whitespace-normalised; the text of ``<body>`` (the whole
document when there is none) without script/style/noscript/template, whitespace-normalised;
every ``a``/``area`` href made absolute, page order, each once, fragments and non-http
schemes skipped.

Usage: ``scrapy runspider benchmarks/scrapy_spider.py -a urls=FILE [-a parser=parsel|bs4]
-s FEEDS='{"out.jsonl": {"format": "jsonl"}}' -s CONCURRENT_REQUESTS=16 -s LOG_LEVEL=ERROR``
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response

PARSERS = ("parsel", "bs4")
SKIPPED_LINK_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:", "ftp:", "file:")
INVISIBLE = ("script", "style", "noscript", "template")
# Text nodes of the body that no invisible element holds; the document's when no body.
VISIBLE_TEXT_XPATH = (
    "(//body|/html[not(body)])[1]//text()[not("
    + " or ".join(f"ancestor::{name}" for name in INVISIBLE)
    + ")]"
)


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

    def __init__(self, urls: str = "", parser: str = "parsel", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if parser not in PARSERS:
            raise ValueError(f"parser must be one of {', '.join(PARSERS)}, not {parser!r}")
        self.url_file = Path(urls)
        self.parser = parser

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
            if self.parser == "parsel":
                item |= parse_with_selectors(response)
            else:
                item |= parse_with_bs4(response)
        yield item


def parse_with_selectors(response: Response) -> dict[str, Any]:
    """Title, text and links with Scrapy's selectors (parsel over lxml)."""
    title = " ".join(" ".join(response.css("title::text").getall()).split()) or None
    words = " ".join(response.xpath(VISIBLE_TEXT_XPATH).getall()).split()
    hrefs = response.xpath("//a/@href | //area/@href").getall()
    return {"title": title, "text": " ".join(words), "links": absolute_links(response, hrefs)}


def parse_with_bs4(response: Response) -> dict[str, Any]:
    """Title, text and links with BeautifulSoup(lxml), as a Scrapy user reaching for bs4 would."""
    from bs4 import BeautifulSoup, Tag  # noqa: PLC0415 (only this peer pays for bs4)

    soup = BeautifulSoup(response.body, "lxml")
    title = " ".join(soup.title.get_text().split()) or None if soup.title is not None else None
    for tag in soup(list(INVISIBLE)):
        tag.decompose()
    visible = soup.body if soup.body is not None else soup
    words = visible.get_text(" ").split()
    hrefs = [str(a["href"]) for a in soup.find_all(["a", "area"], href=True) if isinstance(a, Tag)]
    return {"title": title, "text": " ".join(words), "links": absolute_links(response, hrefs)}


def absolute_links(response: Response, hrefs: Iterable[str]) -> list[str]:
    """Every http(s) href made absolute, fragment dropped, page order, each once."""
    links: dict[str, None] = {}
    for raw in hrefs:
        href = raw.strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        links[response.urljoin(href).partition("#")[0]] = None
    return list(links)
