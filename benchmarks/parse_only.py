"""The parse limit for `bench_crawl.py`: `pipelines.worker.parse_page` on the site's pages on disk.

No network. ``--workers 0`` parses in this one process (the one-core limit); ``--workers N``
maps batches of 16 pages over a ``ProcessPoolExecutor(N)`` (the N-core limit). Pages are read
into memory first; the timed part is pool start-up plus parsing. Prints one JSON line:
``{"pages": ..., "parse_s": ...}``.

Usage: ``python benchmarks/parse_only.py WWW_DIR BASE_URL [--workers N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pipelines.worker import parse_page

BATCH_SIZE = 16
HEADERS = {"content-type": "text/html; charset=utf-8"}

Page = tuple[str, bytes]


def parse_batch(pages: Sequence[Page]) -> int:
    """Parse every page of the batch; returns how many were parsed (a worker function)."""
    for url, body in pages:
        parse_page(url, body, HEADERS)
    return len(pages)


def load_pages(www: Path, base_url: str) -> list[Page]:
    """The HTML pages `SyntheticSite.write_to` wrote, as (url, body), home page first."""
    base = base_url.rstrip("/")
    pages = [(base + "/", (www / "index.html").read_bytes())]
    for path in sorted((www / "page").glob("*.html")):
        pages.append((f"{base}/page/{path.name}", path.read_bytes()))
    return pages


def run(pages: list[Page], workers: int) -> int:
    if workers == 0:
        return parse_batch(pages)
    batches = [pages[i : i + BATCH_SIZE] for i in range(0, len(pages), BATCH_SIZE)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(parse_batch, batches))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("www", type=Path)
    parser.add_argument("base_url")
    parser.add_argument("--workers", type=int, default=0, help="0 = parse in this process")
    args = parser.parse_args(argv)
    pages = load_pages(args.www, args.base_url)
    started = time.perf_counter()
    parsed = run(pages, args.workers)
    elapsed_s = time.perf_counter() - started
    if parsed != len(pages):
        print(f"parsed {parsed} of {len(pages)} pages", file=sys.stderr)
        return 1
    print(json.dumps({"pages": parsed, "parse_s": elapsed_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
