"""The two main-content engines and the one call that runs either within a time limit.

``precise`` is trafilatura (the best F1 of the libraries measured on the article benchmark,
with its precision setting); ``fast`` is this package's own pruning (``boilerplate``) with
html-to-markdown (Rust) for the Markdown: a few milliseconds a page, metadata included.
Both return the same ``PageContent``; ``benchmarks/bench_content.py`` measures them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from lxml import etree

from crawler.errors import ContentError, UsageError
from pipelines.worker.content.boilerplate import main_content
from pipelines.worker.content.extras import optional_module
from pipelines.worker.content.meta import page_base, page_meta, with_detected_language
from pipelines.worker.content.model import DEFAULT_ENGINE, ENGINES, Engine, PageContent, PageMeta
from pipelines.worker.content.time_limit import time_limit
from pipelines.worker.content.tree import block_text, parse_html, remove_keeping_tail

MAX_MARKDOWN_ELEMENTS = 20_000
"""Past this many elements in the main content, the fast engine's Markdown is its text:
html-to-markdown's time grows with the square of a paragraph's inline elements, in Rust,
where no time limit can interrupt it (a paragraph of 200,000 links takes it 25 s)."""

_ELEMENT_COUNT = etree.XPath("count(.//*)")
_BLANK_LINES = re.compile(r"\n{3,}")
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


def extract_content(
    html: str,
    url: str,
    *,
    engine: Engine = DEFAULT_ENGINE,
    time_limit_s: float | None = None,
    images: bool = True,
    markdown: bool = True,
) -> PageContent:
    """A page's main content as text and Markdown, and its metadata.

    Args:
        html: the decoded page (``pipelines.worker.decode_html``).
        url: the page's URL: relative links and images resolve against it (or its
            ``<base href>``).
        engine: ``precise`` (trafilatura: best quality) or ``fast`` (a few milliseconds).
        time_limit_s: the most wall-clock time the engine may take on this page; None for
            no limit. Enforced in a process's main thread (see ``time_limit``).
        images: keep the content's images in the Markdown. With ``precise`` it costs a
            little precision: trafilatura then keeps the text of blocks around images.
        markdown: False leaves ``markdown`` empty, for a crawl that keeps only the text:
            it saves the ``fast`` engine a fifth of its time (``precise`` renders both from
            one extraction and saves little).

    Raises:
        ContentError: the engine cannot read the page, whatever its library raised.
        ContentTimeLimit: the engine ran past ``time_limit_s`` (a ``ContentError``).
        UsageError: the ``content`` extra is not installed, or an unknown engine.
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown content engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "fast":
        return _guarded("fast", time_limit_s, lambda: fast_content(html, url, markdown=markdown))
    return _guarded(
        "precise",
        time_limit_s,
        lambda: precise_content(html, url, images=images, markdown=markdown),
    )


def fast_content_of_tree(
    tree: etree._Element,
    url: str,
    meta: PageMeta,
    *,
    time_limit_s: float | None = None,
    markdown: bool = True,
) -> PageContent:
    """The ``fast`` engine on a tree parsed already: a worker's own, so a page is parsed once.

    Args:
        tree: the page's root (``lxml.etree``); pruned in place.
        meta: its metadata, read before anything pruned the tree (JSON-LD is in scripts).

    Raises:
        ContentError, ContentTimeLimit, UsageError: as ``extract_content``.
    """
    return _guarded("fast", time_limit_s, lambda: _fast(tree, url, meta, markdown=markdown))


def _guarded(
    engine: str, time_limit_s: float | None, run: Callable[[], PageContent]
) -> PageContent:
    """``run()`` within the time limit, any library error wrapped as a ``ContentError``."""
    try:
        with time_limit(time_limit_s):
            return run()
    except (ContentError, UsageError):
        raise
    except Exception as exc:  # the libraries' own errors, wrapped as the docstring says
        detail = str(exc).splitlines()[0] if str(exc) else "no message"
        raise ContentError(f"the {engine} engine failed: {type(exc).__name__}: {detail}") from exc


def precise_content(
    html: str, url: str, *, images: bool = True, markdown: bool = True
) -> PageContent:
    """The ``precise`` engine: trafilatura's extraction, favouring precision, no comments.

    One extraction gives both outputs: the Markdown is trafilatura's rendering of its result
    tree, the text the same tree without link and image marks.
    """
    needed_for = "the 'precise' content engine"
    trafilatura = optional_module("trafilatura", needed_for=needed_for)
    trafilatura_xml = optional_module("trafilatura.xml", needed_for=needed_for)
    tree = parse_html(html, html_elements=True)
    meta = page_meta(tree, url)  # before trafilatura, which prunes the tree it is given
    document = trafilatura.bare_extraction(
        tree,
        url=page_base(tree, url),  # trafilatura makes link and image URLs absolute with it
        favor_precision=True,
        include_comments=False,
        include_formatting=True,
        include_links=True,
        include_images=images,
        include_tables=True,
        with_metadata=False,
        deduplicate=False,
    )
    if document is None or document.body is None:
        return PageContent("", "", with_detected_language(meta, ""), "precise")
    body = document.body
    rendered = (
        tidy_markdown(trafilatura_xml.xmltotxt(body, include_formatting=True)) if markdown else ""
    )
    plain = trafilatura_xml.xmltotxt(_without_links_and_images(body), include_formatting=False)
    content = "\n\n".join(line.strip() for line in plain.splitlines() if line.strip())
    return PageContent(content, rendered, with_detected_language(meta, content), "precise")


def fast_content(html: str, url: str, *, markdown: bool = True) -> PageContent:
    """The ``fast`` engine: prune the page's furniture, keep the main block, render it."""
    tree = parse_html(html)
    # before the pruning, which drops the JSON-LD scripts
    return _fast(tree, url, page_meta(tree, url), markdown=markdown)


def _fast(tree: etree._Element, url: str, meta: PageMeta, *, markdown: bool) -> PageContent:
    html_to_markdown = optional_module("html_to_markdown", needed_for="the 'fast' content engine")
    base = page_base(tree, url)
    main = main_content(tree)
    content = block_text(main)
    if not markdown:
        rendered = ""
    elif float(_ELEMENT_COUNT(main)) > MAX_MARKDOWN_ELEMENTS:  # type: ignore[arg-type]
        rendered = tidy_markdown(content)
    else:
        rendered = _markdown_of(html_to_markdown, main, base)
    return PageContent(content, rendered, with_detected_language(meta, content), "fast")


def _markdown_of(html_to_markdown: Any, main: etree._Element, base: str) -> str:
    for link in main.iter("a"):
        if (link.get("href") or "").strip().lower().startswith(("javascript:", "vbscript:")):
            del link.attrib["href"]  # not a link a reader of the Markdown should follow
    fragment = etree.tostring(main, encoding="unicode", method="html")
    converted = html_to_markdown.convert(fragment, _markdown_options(html_to_markdown, base))
    return tidy_markdown(converted.content)


def _markdown_options(html_to_markdown: Any, base: str) -> Any:
    """html-to-markdown's options: ATX headings, fenced code, absolute URLs, no data: blobs."""
    return html_to_markdown.ConversionOptions(
        base_url=base,
        extract_metadata=False,
        inline_data_media="alt_text_only",  # a base64 image is megabytes of noise to a reader
        code_block_style="backticks",
        heading_style="atx",
    )


def _without_links_and_images(body: etree._Element) -> etree._Element:
    """A copy of trafilatura's result tree whose links are plain text and images gone."""
    copy = deepcopy(body)
    for graphic in list(copy.iter("graphic")):
        remove_keeping_tail(graphic)
    etree.strip_tags(copy, "ref")
    return copy


def tidy_markdown(markdown: str) -> str:
    """``markdown`` with runs of blank lines made one, except inside fenced code blocks."""
    # the split keeps each fence mark at an odd index; between an opening and a closing
    # mark is code, whose blank lines are its own
    pieces = _FENCE.split(markdown)
    inside_fence = False
    for index, piece in enumerate(pieces):
        if index % 2:
            inside_fence = not inside_fence
        elif not inside_fence:
            pieces[index] = _BLANK_LINES.sub("\n\n", piece)
    text = "".join(pieces).strip()
    return text + "\n" if text else ""
