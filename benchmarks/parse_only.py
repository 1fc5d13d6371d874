"""The parse limit for `bench_crawl.py`: parcrawl's ``parse_page`` over a site's pages on disk.

No network. Two modes, each printing one JSON line:

- limit (default): ``--workers 0`` parses in this one process (the one-core limit);
  ``--workers N`` maps batches of 16 pages over a ``ProcessPoolExecutor(N)`` (the N-core
  limit). The timed part is pool start-up plus parsing: ``{"pages": ..., "parse_s": ...}``.
- ``--compare``: in this one process, times the fast path (fields built from lxml's own tree)
  against the bs4 path (fields built from a BeautifulSoup(lxml) tree) on the same pages, and
  counts the pages whose title, text words or links differ between them.

parcrawl's parse functions are looked up, not imported by name: the package is being
re-laid, so ``pipelines.worker`` and ``pipelines`` (and their ``parse`` modules) are tried in
turn. When parcrawl's ``parse_page`` takes a ``parser`` argument, the fast path is
``parser="lxml"`` and the bs4 path ``parser="bs4"``; without it, the fast path is this
file's reference lxml field builder (``lxml_fields``) and the bs4 path parcrawl's
``parse_page``. The JSON says which were used (``fast_impl``, ``bs4_impl``).

Usage: ``python benchmarks/parse_only.py WWW_DIR BASE_URL [--workers N]``
       ``python benchmarks/parse_only.py WWW_DIR BASE_URL --compare [--limit N]``
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html

BATCH_SIZE = 16
HEADERS = {"content-type": "text/html; charset=utf-8"}
PARSE_MODULES = ("pipelines.worker", "pipelines.worker.parse", "pipelines", "pipelines.parse")
INVISIBLE = ("script", "style", "noscript", "template")
SKIPPED_LINK_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:", "ftp:", "file:")

Page = tuple[str, bytes]
ParseFunction = Callable[..., Mapping[str, Any]]  # (url, body, headers, **options)


def find_parse_page() -> tuple[ParseFunction | None, str]:
    """parcrawl's ``parse_page`` and where it was found (``None, "not found"`` when nowhere)."""
    for name in PARSE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        function = getattr(module, "parse_page", None)
        if callable(function):
            return function, f"{name}.parse_page"
    return None, "not found"


def choose_paths() -> tuple[ParseFunction, str, ParseFunction, str]:
    """(fast function, its name, bs4 function, its name), as the module docstring says."""
    parse_page, where = find_parse_page()
    if parse_page is None:
        return lxml_fields, "benchmarks.parse_only.lxml_fields", bs4_fields, "bs4_fields"
    if "parser" in inspect.signature(parse_page).parameters:
        fast = partial(parse_page, parser="lxml")
        return (
            fast,
            f'{where}(parser="lxml")',
            partial(parse_page, parser="bs4"),
            (f'{where}(parser="bs4")'),
        )
    return lxml_fields, "benchmarks.parse_only.lxml_fields (reference)", parse_page, where


def parse_batch(pages: Sequence[Page]) -> int:
    """Parse every page of the batch with parcrawl's default path (a worker function)."""
    parse_page, _ = find_parse_page()
    if parse_page is None:
        raise SystemExit("parse_only: parcrawl's parse_page not found in " + str(PARSE_MODULES))
    for url, body in pages:
        parse_page(url, body, HEADERS)
    return len(pages)


def lxml_fields(url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Title, visible text and absolute links built from lxml's own tree (reference fast path).

    The same definitions as parcrawl's bs4 path: text of ``<body>`` without
    script/style/noscript/template, whitespace-normalised; ``a``/``area`` hrefs against
    ``<base href>``, fragments and non-http schemes skipped, page order, each once.
    """
    del headers  # the benchmark's pages are all UTF-8
    parser = lxml.html.HTMLParser(encoding="utf-8")
    root = lxml.html.document_fromstring(body, parser=parser)
    title_element = root.find(".//title")
    title = None
    if title_element is not None:
        title = " ".join("".join(map(str, title_element.itertext())).split()) or None
    base = url
    for element in root.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = urljoin(url, href)
            break
    links: dict[str, None] = {}
    for element in root.iter("a", "area"):
        href = (element.get("href") or "").strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        links[urljoin(base, href).partition("#")[0]] = None
    lxml.etree.strip_elements(root, *INVISIBLE, with_tail=False)
    lxml.etree.strip_elements(root, lxml.etree.Comment, with_tail=False)
    visible = root.find("body")
    words = " ".join(map(str, (visible if visible is not None else root).itertext())).split()
    return {"title": title, "text": " ".join(words), "links": list(links)}


def bs4_fields(url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The same fields from a BeautifulSoup(lxml) tree (when parcrawl's is not found)."""
    from bs4 import BeautifulSoup  # noqa: PLC0415 (only needed without parcrawl)

    del headers
    soup = BeautifulSoup(body, "lxml")
    title = " ".join(soup.title.get_text().split()) or None if soup.title is not None else None
    base_tag = soup.find("base", href=True)
    base = urljoin(url, str(base_tag["href"]).strip()) if base_tag is not None else url
    links: dict[str, None] = {}
    for anchor in soup.find_all(["a", "area"], href=True):
        href = str(anchor["href"]).strip()
        if not href or href.startswith("#") or href.lower().startswith(SKIPPED_LINK_SCHEMES):
            continue
        links[urljoin(base, href).partition("#")[0]] = None
    for tag in soup(list(INVISIBLE)):
        tag.decompose()
    visible = soup.body if soup.body is not None else soup
    words = visible.get_text(" ").split()
    return {"title": title, "text": " ".join(words), "links": list(links)}


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
    fast, fast_name, bs4, bs4_name = choose_paths()
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
