"""The "naive asyncio + httpx + bs4" reference crawler that `bench_crawl.py` measures against.

One process, one event loop, one ``httpx.AsyncClient``, a ``Semaphore(16)``; every HTML page
is parsed with BeautifulSoup on the event loop itself. Not part of parcrawl: a yardstick only.

Usage: ``python benchmarks/naive_crawler.py URLS_FILE OUT_JSONL``
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import httpx
from bs4 import BeautifulSoup, Tag

CONCURRENCY = 16
TIMEOUT_S = 30.0
INVISIBLE = ("script", "style", "noscript", "template")
SKIPPED_LINK_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:", "ftp:", "file:")


def parse(url: str, body: bytes) -> dict[str, Any]:
    """The same bs4 work per page as parcrawl: title, visible text and absolute links.

    Text of ``<body>`` without script/style/noscript/template, whitespace-normalised; every
    http(s) ``a``/``area`` href absolute, fragment dropped, page order, each once.
    """
    soup = BeautifulSoup(body, "lxml")
    title = " ".join(soup.title.get_text().split()) or None if soup.title is not None else None
    for tag in soup(list(INVISIBLE)):
        tag.decompose()
    visible = soup.body if soup.body is not None else soup
    words = visible.get_text(" ").split()
    links: dict[str, None] = {}
    for anchor in soup.find_all(["a", "area"], href=True):
        href = str(anchor["href"]).strip() if isinstance(anchor, Tag) else ""
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        links[urljoin(url, href).partition("#")[0]] = None
    return {"title": title, "text": " ".join(words), "links": list(links)}


async def fetch_one(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, url: str, out: IO[str]
) -> None:
    async with gate:
        record: dict[str, Any] = {"url": url}
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        else:
            content_type = response.headers.get("content-type", "")
            record |= {"status": response.status_code, "content_type": content_type}
            if response.status_code == 200 and content_type.startswith("text/html"):
                record |= parse(str(response.url), response.content)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


async def crawl(urls: list[str], output: Path) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    with output.open("w", encoding="utf-8") as out:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client, asyncio.TaskGroup() as group:
            for url in urls:
                group.create_task(fetch_one(client, gate, url, out))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: naive_crawler.py URLS_FILE OUT_JSONL", file=sys.stderr)
        return 2
    urls = [line.strip() for line in Path(argv[0]).read_text().splitlines() if line.strip()]
    asyncio.run(crawl(urls, Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
