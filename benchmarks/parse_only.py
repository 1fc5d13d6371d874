"""The parse limit for `bench_crawl.py`: parcrawl's parse functions over a site's pages on disk.

No network. Two modes, each printing one JSON line:

- limit (default): ``--workers 0`` parses in this one process (the one-core limit);
  ``--workers N`` maps batches of 16 pages over a ``ProcessPoolExecutor(N)`` (the N-core
  limit). The timed part is pool start-up plus parsing: ``{"pages": ..., "parse_s": ...}``.
- ``--compare``: in this one process, times the fast path against the bs4 path on the same
  pages, and counts the pages whose title, text or links differ between them.

The fast path is ``pipelines.worker.parse_page_lxml`` (lxml's own tree, the default), the
bs4 path ``pipelines.worker.parse_page`` (``--parser bs4``): the two functions a worker runs.

Usage: ``python benchmarks/parse_only.py WWW_DIR BASE_URL [--workers N]``
       ``python benchmarks/parse_only.py WWW_DIR BASE_URL --compare [--limit N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pipelines.worker import parse_page, parse_page_lxml

BATCH_SIZE = 16
HEADERS = {"content-type": "text/html; charset=utf-8"}

Page = tuple[str, bytes]
ParseFunction = Callable[..., Mapping[str, Any]]  # (url, body, headers, **options)


def parse_batch(pages: Sequence[Page]) -> int:
    """Parse every page of the batch with parcrawl's default (fast) path: a worker function."""
    for url, body in pages:
        parse_page_lxml(url, body, HEADERS)
    return len(pages)


def load_pages(www: Path, base_url: str) -> list[Page]:
    """Every ``*.html`` file under ``www`` as (url, body), ``index.html`` as ``/``, sorted."""
    base = base_url.rstrip("/")
    pages = []
    for path in sorted(www.rglob("*.html")):
        relative = path.relative_to(www).as_posix()
        pages.append((f"{base}/{'' if relative == 'index.html' else relative}", path.read_bytes()))
    return pages


def run(pages: list[Page], workers: int) -> int:
    if workers == 0:
        return parse_batch(pages)
    batches = [pages[i : i + BATCH_SIZE] for i in range(0, len(pages), BATCH_SIZE)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(parse_batch, batches))


def time_parse(function: ParseFunction, pages: Sequence[Page]) -> tuple[float, list[Any]]:
    """Seconds to parse every page with ``function`` (one process), and its outputs."""
    outputs = []
    started = time.perf_counter()
    for url, body in pages:
        outputs.append(function(url, body, HEADERS))
    return time.perf_counter() - started, outputs


def compare(pages: list[Page]) -> dict[str, Any]:
    """The fast path against the bs4 path on ``pages``: times and differing fields."""
    fast, fast_name = parse_page_lxml, "pipelines.worker.parse_page_lxml"
    bs4, bs4_name = parse_page, "pipelines.worker.parse_page"
    for url, body in pages[:3]:  # warm-up: imports and caches are not the parse
        fast(url, body, HEADERS)
        bs4(url, body, HEADERS)
    fast_s, fast_out = time_parse(fast, pages)
    bs4_s, bs4_out = time_parse(bs4, pages)
    differ = {"title": 0, "text": 0, "links": 0}
    for mine, theirs in zip(fast_out, bs4_out, strict=True):
        for key in differ:
            if mine.get(key) != theirs.get(key):
                differ[key] += 1
    return {
        "pages": len(pages),
        "fast_impl": fast_name,
        "bs4_impl": bs4_name,
        "fast_s": fast_s,
        "bs4_s": bs4_s,
        "fast_ms_per_page": 1000 * fast_s / len(pages),
        "bs4_ms_per_page": 1000 * bs4_s / len(pages),
        "speedup": bs4_s / fast_s if fast_s else 0.0,
        "pages_differing": differ,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("www", type=Path)
    parser.add_argument("base_url")
    parser.add_argument("--workers", type=int, default=0, help="0 = parse in this process")
    parser.add_argument("--compare", action="store_true", help="fast path against bs4 path")
    parser.add_argument("--limit", type=int, default=0, help="pages compared, spread evenly")
    args = parser.parse_args(argv)
    pages = load_pages(args.www, args.base_url)
    if not pages:
        print(f"no *.html under {args.www}", file=sys.stderr)
        return 1
    if args.compare:
        if args.limit and args.limit < len(pages):
            step = len(pages) / args.limit
            pages = [pages[int(i * step)] for i in range(args.limit)]
        print(json.dumps(compare(pages)))
        return 0
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
