"""One fetch as it goes, hop by hop: status, headers, the phase a timeout hit, the wire.

What the fetcher knows of a request so far (for the record even if it fails), and the
request and response heads as they crossed the wire (for WARC); not the fetching itself.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from crawler.errors import FetchError, InvalidUrl
from crawler.models import Headers, WireExchange, utc_now
from crawler.settings.sites import SENSITIVE_HEADER
from crawler.urls import ParamFilter, request_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
BODILESS_STATUSES = frozenset({204, 304})
"""Responses that end at their headers whatever they declare (RFC 9112, 6.3), as 1xx do."""


class Exchange:
    """What is known so far about one fetch, hop by hop, for the record even if it fails."""

    def __init__(self, url: str, started_at: str = "") -> None:
        self.url = url
        self.started_at = started_at
        self.status: int | None = None
        self.http_version: str | None = None
        self.headers: Headers = ()
        self.content_type: str | None = None
        self.body = b""
        self.size: int | None = None
        self.body_kept = False
        self.phase: str | None = None
        self.location: str | None = None
        self.wire: list[WireExchange] | None = None  # only when an archive asks
        self.answer_ms: float | None = None
        self._sent_at: float | None = None

    def capture(self, response: httpx.Response, body: bytes, truncated: str | None) -> None:
        """Keep this hop's request and response as they went over the wire (for WARC).

        A response that cannot have a body is whole at its headers: a 304 without a
        ``Content-Length`` (most servers send none) was read entirely, not cut short.
        """
        if not _may_have_body(response):
            truncated = None
        if self.wire is None:
            self.wire = []
        self.wire.append(
            WireExchange(
                str(response.request.url),
                self.started_at,
                _request_head(response),
                _response_head(response),
                body,
                truncated,
            )
        )
        self.started_at = utc_now()

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: the phase a request is in (to name a timeout), and a
        redirect's raw Location (httpx raises on a bad one before handing the response)."""
        if event.endswith(".started"):
            self.phase = event.removesuffix(".started")
            if event.endswith("send_request_headers.started"):
                self._sent_at = time.perf_counter()
        elif event.endswith("receive_response_headers.complete"):
            if self._sent_at is not None:  # the answer time: what the autothrottle watches
                self.answer_ms = round((time.perf_counter() - self._sent_at) * 1000, 1)
            # HTTP/1.1 returns (version, status, reason, headers), HTTP/2 (status, headers).
            returned = info.get("return_value") or (None, ())
            status, headers = returned[-3 if len(returned) == 4 else 0], returned[-1]
            if status in REDIRECT_STATUSES:
                self.status = status
                for name, value in headers:
                    if name.lower() == b"location":
                        self.location = value.decode("latin-1")

    def saw(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.http_version = response.http_version
        self.headers = _plain_headers(response.headers)
        self.content_type = response.headers.get("content-type")
        self.size = _declared_length(response.headers)


ARCHIVE_DROPPED_HEADERS = frozenset({b"authorization", b"proxy-authorization"})
"""Request headers an archive never keeps: a seed's password stays out of every file; so
are those whose names say they hold a secret (``fetch.sites`` cookies, API keys)."""


def _request_head(response: httpx.Response) -> bytes:
    """The request line and headers as sent, credentials left out."""
    request = response.request
    lines = [b"%s %s %s" % (request.method.encode(), request.url.raw_path, _version(response))]
    lines += [
        name + b": " + value
        for name, value in request.headers.raw
        if name.lower() not in ARCHIVE_DROPPED_HEADERS
        and not SENSITIVE_HEADER.search(name.decode("latin-1"))
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _response_head(response: httpx.Response) -> bytes:
    """The status line and headers as received.

    The body is kept without its transfer coding (chunks), so a ``Transfer-Encoding``
    header is kept under the name replay tools know, ``X-Archive-Orig-Transfer-Encoding``.
    """
    status = b"%s %d %s" % (
        _version(response),
        response.status_code,
        response.reason_phrase.encode("latin-1", "replace"),
    )
    lines = [status.rstrip()]
    for name, value in response.headers.raw:
        kept = b"X-Archive-Orig-Transfer-Encoding" if name.lower() == b"transfer-encoding" else name
        lines.append(kept + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _may_have_body(response: httpx.Response) -> bool:
    status = response.status_code
    if status < 200 or status in BODILESS_STATUSES:
        return False
    return response.request.method != "HEAD"


def _version(response: httpx.Response) -> bytes:
    return (response.http_version or "HTTP/1.1").encode("ascii", "replace")


def _plain_headers(headers: httpx.Headers) -> Headers:
    return tuple((name.lower(), value) for name, value in headers.multi_items())


def _declared_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length")
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is true, int("²") fails
        return None
    return int(text)


def redirect_target(response: httpx.Response, strip: ParamFilter | None = None) -> str | None:
    """The absolute URL a redirect points to (``strip``'s parameters dropped), or None when
    ``response`` is no redirect."""
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location", "").strip()
    if not location:
        return None
    try:
        target = request_url(location, base=str(response.url))
    except InvalidUrl as exc:
        raise FetchError("bad_redirect", f"unusable Location header: {exc}") from exc
    return strip(target) if strip else target
