"""The plain data that crosses the process boundary: requests, fetch results and records.

Everything here pickles cheaply (str, bytes, int, tuples, dicts): no httpx or bs4 objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict

Headers = tuple[tuple[str, str], ...]
"""Response headers as (lower-case name, value) pairs, in the order received."""


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One URL to fetch, with where it came from and which attempt this is (1 = first).

    ``not_before`` (Unix time, 0 for none) is when a retry may go, kept across restarts.
    """

    url: str
    depth: int = 0
    referrer: str | None = None
    attempt: int = 1
    not_before: float = 0.0

    def retried(self, not_before: float) -> FetchRequest:
        """The same request, one attempt later, not to go before ``not_before``."""
        return FetchRequest(self.url, self.depth, self.referrer, self.attempt + 1, not_before)


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """Why a URL produced no usable page: a stable ``code`` and a human ``message``."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class WireExchange:
    """One HTTP request and its response as they went over the wire, for a WARC archive.

    Kept only when an archive asks for them (``--warc``). ``response_head`` is the status
    line and headers as received; ``body`` the payload as received: still content-encoded,
    the transfer coding (chunks) removed. ``truncated`` says why ``body`` is not all of it:
    ``length`` (past ``max_bytes``), ``unread`` (a type or status whose body is not read).
    """

    url: str
    date: str
    request_head: bytes
    response_head: bytes
    body: bytes
    truncated: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the fetcher got for one request: the raw body and the response facts.

    ``body`` is empty when nothing needed reading (errors, non-HTML); ``size`` is still the
    response's size when known.
    """

    request: FetchRequest
    final_url: str
    status: int | None
    headers: Headers
    content_type: str | None
    body: bytes
    size: int | None
    elapsed_ms: float
    fetched_at: str
    failure: FetchFailure | None = None
    body_kept: bool = False
    """True when the body was read for parsing (an accepted media type)."""
    exchanges: tuple[WireExchange, ...] = ()
    """Each hop's request and response as on the wire; only when an archive asks."""
    http_version: str | None = None
    """The protocol of the last response (``HTTP/1.1``, ``HTTP/2``); None when none came."""
    archived_as: str | None = None
    """The WARC record id of the page's response, when an archive wrote it whole."""
    rendered: bool | None = None
    """True when ``body`` is the DOM a browser rendered; None when the crawl renders nothing."""
    render_reason: str | None = None
    """Why the page was rendered (``sample``, ``empty_root``...) or not (``static_html``...)."""
    render_failure: FetchFailure | None = None
    """A render that failed (``render_timeout``, ``render_crash``): the record's error, its
    fields read from the page as fetched."""
    answer_ms: float | None = None
    """The server's answer time for the last hop: its request head sent to its response
    head (the body's download aside); None when the transport does not tell (a mock)."""

    @classmethod
    def unfetched(cls, request: FetchRequest, failure: FetchFailure) -> FetchResult:
        """The result of a request refused before any byte was sent."""
        return cls(request, request.url, None, (), None, b"", None, 0.0, utc_now(), failure)

    @property
    def parseable(self) -> bool:
        """True when the body was read whole and should go to the parse workers."""
        return self.failure is None and self.body_kept

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


def utc_now() -> str:
    """Now, as the records write time: ISO 8601 in UTC, milliseconds, ending in ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def media_type(content_type: str | None) -> str:
    """The bare, lower-case media type of a Content-Type value ("" when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


class PageFields(TypedDict):
    """What parsing one HTML page yields."""

    title: str | None
    description: str | None
    lang: str | None
    canonical: str | None
    text: str | None
    word_count: int | None
    links: list[str] | None
    sha256: str | None
    links_dropped: NotRequired[int | None]
    """Links on the page not in ``links``: invalid, or past the per-page cap."""
    content: NotRequired[str | None]
    """With a content engine: the main content as text, paragraphs split by blank lines."""
    markdown: NotRequired[str | None]
    """With a content engine: the main content as Markdown."""
    meta: NotRequired[dict[str, Any] | None]
    """With a content engine: the page's metadata (a PDF's document information)."""
    failure: NotRequired[dict[str, str]]
    """A reading of the page that failed but kept its other fields (``content_timeout``):
    the record's ``error``. Never a key of the record itself."""


CONTENT_KEYS = ("content", "markdown", "meta")
"""The keys a content engine adds to a page's fields, and so to its record."""


class Record(PageFields):
    """One line of output: the fetch facts of a URL and, for HTML pages, its parsed fields.

    Field names are stable; later features add keys, never rename them.
    """

    url: str
    final_url: str | None
    status: int | None
    content_type: str | None
    bytes: int | None
    elapsed_ms: float | None
    fetched_at: str | None
    depth: int
    referrer: str | None
    attempts: int
    error: dict[str, str] | None
    http_version: NotRequired[str | None]
    """``HTTP/1.1`` or ``HTTP/2``: the protocol of the last response; None when none came."""
    rendered: NotRequired[bool]
    """Only in a crawl that may render: True when the fields come from the rendered DOM."""
    render_reason: NotRequired[str]
    """Only in a crawl that may render: why the page was rendered or not."""
    fields: NotRequired[dict[str, Any]]
    change: NotRequired[str | None]
    """Only in a recrawl: ``new``, ``changed``, ``unchanged``, ``gone``; None when unknown."""
    markdown_file: NotRequired[str | None]
    """With a Markdown folder: the page's file, relative to the folder; None: no file."""


EMPTY_PAGE_FIELDS = PageFields(
    title=None,
    description=None,
    lang=None,
    canonical=None,
    text=None,
    word_count=None,
    links=None,
    sha256=None,
)


def record_from(
    result: FetchResult,
    page: PageFields = EMPTY_PAGE_FIELDS,
    failure: FetchFailure | None = None,
) -> Record:
    """Build the output record of ``result``, with parsed ``page`` fields when there are some.

    ``failure`` overrides the fetch's own failure (a page that fetched but failed to parse);
    a failed render (``result.render_failure``), then a content engine's failure
    (``page["failure"]``), becomes the error with the fields kept.
    """
    failure = failure or result.failure or result.render_failure
    request = result.request
    record = Record(
        url=request.url,
        final_url=result.final_url,
        status=result.status,
        content_type=result.content_type,
        bytes=result.size,
        elapsed_ms=result.elapsed_ms,
        fetched_at=result.fetched_at,
        depth=request.depth,
        referrer=request.referrer,
        attempts=request.attempt,
        title=page["title"],
        description=page["description"],
        lang=page["lang"],
        canonical=page["canonical"],
        text=page["text"],
        word_count=page["word_count"],
        links=page["links"],
        sha256=page["sha256"],
        links_dropped=page.get("links_dropped"),
        error=failure.as_dict() if failure else page.get("failure"),
        http_version=result.http_version,
    )
    if result.render_reason is not None:  # a crawl that may render says what it did
        record["rendered"] = bool(result.rendered)
        record["render_reason"] = result.render_reason
    if "content" in page:  # a content engine read the page
        for key in CONTENT_KEYS:
            record[key] = page.get(key)  # type: ignore[literal-required]
    return record


def value_at(record: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (``fields.price``, ``error.code``) in ``record``.

    None when any part is missing or a part on the way is not a dict; steps and the CSV
    columns name record values this same way.
    """
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
