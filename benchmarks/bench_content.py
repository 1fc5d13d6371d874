"""Main-content quality and cost: parcrawl's content engines on the article-extraction pages.

For each engine: precision, recall and F1 of its ``content`` against the true article bodies
(the dataset's own ``score.py``: 4-word shingles, averaged over pages), and the worker CPU
time a page costs (``time.process_time``), Markdown and metadata included. trafilatura's
default ``extract()`` and the record's whole-page ``text`` (today's output) run in the same
process for reference. No network.

By default it calls the engine functions directly on the pages. ``--crawl`` crawls them
instead, through a loopback server, with ``parcrawl crawl --content precise`` and ``fast``
and a Scrapy + trafilatura spider (``content_crawl.py`` says what it measures).

Usage: ``python benchmarks/bench_content.py [--dataset DIR] [--per-page] [--repeat N]
[--crawl [--copies N]]``
(DIR defaults to ``../shared/datasets/article-extraction`` from the repository, or from a
folder above it).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from pipelines.worker import decode_html, parse_page_lxml
from pipelines.worker.content import extract_content

REPO = Path(__file__).resolve().parent.parent
DATASET_PATH = Path("shared", "datasets", "article-extraction")
WORST_SHOWN = 5
HTML = {"content-type": "text/html; charset=utf-8"}

Extractor = Callable[[str, str], str]


def default_dataset() -> Path:
    """``../shared/datasets/article-extraction`` from the repository, or from a folder above
    it (a git worktree sits one level deeper than the main checkout)."""
    for folder in REPO.parents:
        if (folder / DATASET_PATH).is_dir():
            return folder / DATASET_PATH
    return REPO.parent / DATASET_PATH


def engines() -> dict[str, Extractor]:
    """The extractions compared, by the name printed: each returns a page's main text."""
    import trafilatura  # noqa: PLC0415 (the reference; the engines import it themselves)

    return {
        "precise": lambda html, url: extract_content(html, url, engine="precise").content,
        "precise, no images": lambda html, url: (
            extract_content(html, url, engine="precise", images=False).content
        ),
        "fast": lambda html, url: extract_content(html, url, engine="fast").content,
        "fast, text only": lambda html, url: (
            extract_content(html, url, engine="fast", markdown=False).content
        ),
        "trafilatura extract()": lambda html, url: trafilatura.extract(html, url=url) or "",
        "record text (today)": lambda html, url: (
            parse_page_lxml(url, html.encode(), HTML)["text"] or ""
        ),
    }


def load_scorer(dataset: Path) -> ModuleType:
    """The dataset's ``score.py``, imported from where it lies (it is the metric: not copied)."""
    spec = importlib.util.spec_from_file_location("article_extraction_score", dataset / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no score.py in {dataset}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_pages(dataset: Path) -> dict[str, str]:
    """Every page of the dataset by its id, decoded as a worker decodes a fetched page."""
    pages = {}
    for path in sorted((dataset / "html").glob("*.html.gz")):
        body = gzip.decompress(path.read_bytes())
        pages[path.name.split(".")[0]] = decode_html(body, HTML["content-type"])[0]
    return pages


def measure(
    extractor: Extractor, pages: dict[str, str], urls: dict[str, str], repeat: int
) -> tuple[dict[str, str], float]:
    """Each page's extracted text, and the fewest CPU milliseconds a page took over the runs."""
    extractor(next(iter(pages.values())), "http://example.com/")  # imports, warm caches
    best_ms = float("inf")
    texts: dict[str, str] = {}
    for _ in range(repeat):
        started = time.process_time()
        texts = {page: extractor(html, urls[page]) for page, html in pages.items()}
        best_ms = min(best_ms, (time.process_time() - started) / len(pages) * 1000)
    return texts, best_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--per-page", action="store_true", help="the 5 worst pages per engine")
    parser.add_argument("--only", action="append", help="run only this engine (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; the fastest counts")
    parser.add_argument("--crawl", action="store_true", help="crawl the pages (loopback) instead")
    parser.add_argument("--copies", type=int, default=1, help="--crawl: serve each page N times")
    parser.add_argument(
        "--site",
        choices=("articles", "pydocs"),
        default="articles",
        help="--crawl: the article pages (scored) or the Python docs (speed and memory only)",
    )
    parser.add_argument(
        "--pydocs-dir",
        type=Path,
        default=Path("/usr/share/doc/python3.11/html"),
        help="--site pydocs",
    )
    parser.add_argument(
        "--workers", default="2", help="--crawl: parcrawl's parse processes, e.g. 1,2 for both"
    )
    args = parser.parse_args()
    workers = [int(count) for count in args.workers.split(",")]
    scorer = load_scorer(args.dataset)
    truth = json.loads((args.dataset / "ground-truth.json").read_text(encoding="utf-8"))
    pages = load_pages(args.dataset)
    if args.crawl:
        from content_crawl import crawl_mode, docs_mode  # noqa: PLC0415 (psutil: crawls alone)

        with tempfile.TemporaryDirectory(prefix="bench-content-") as tmp:
            if args.site == "pydocs":
                return docs_mode(args.pydocs_dir, only=args.only, tmp=Path(tmp), workers=workers)
            return crawl_mode(
                pages,
                truth,
                scorer,
                copies=args.copies,
                only=args.only,
                tmp=Path(tmp),
                workers=workers,
            )
    urls = {page: truth[page].get("url") or "http://example.com/" for page in pages}
    print(f"{len(pages)} pages from {args.dataset}")
    print(f"{'engine':24s} {'F1':>6s} {'prec.':>6s} {'recall':>6s} {'CPU ms/page':>12s}")
    worst: dict[str, list[tuple[float, str]]] = {}
    for name, extractor in engines().items():
        if args.only and name not in args.only:
            continue
        texts, cpu_ms = measure(extractor, pages, urls, args.repeat)
        result = scorer.score({page: truth[page] for page in pages}, texts)
        print(
            f"{name:24s} {result['f1']:6.3f} {result['precision']:6.3f} "
            f"{result['recall']:6.3f} {cpu_ms:12.1f}",
            flush=True,
        )
        ranked = sorted((f1, page) for page, f1 in result["per_page"].items())
        worst[name] = ranked[:WORST_SHOWN]
    if args.per_page:
        for name, pages_f1 in worst.items():
            print(f"\nworst pages, {name}:")
            for f1, page in pages_f1:
                print(f"  {f1:.3f}  {page}  {urls[page]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
