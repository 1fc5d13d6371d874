"""What went wrong with a fetch, as a stable failure code and a one-line message.

httpx exceptions become ``FetchFailure``s here; unexpected errors become ``internal`` ones.
"""

from __future__ import annotations

import logging
import ssl

import httpx

from crawler.admission import PRIVATE_REFUSAL
from crawler.fetch.tls import tls_reason
from crawler.models import FetchFailure

log = logging.getLogger(__name__)

TIMEOUT_PHASES = {
    "connection.connect_tcp": "opening the TCP connection",
    "connection.start_tls": "the TLS handshake",
    "http11.send_request_headers": "sending the request",
    "http11.send_request_body": "sending the request",
    "http11.receive_response_headers": "waiting for the response headers",
    "http11.receive_response_body": "reading the response body",
    "http2.send_request_headers": "sending the request",
    "http2.receive_response_headers": "waiting for the response headers",
    "http2.receive_response_body": "reading the response body",
}
"""httpcore's trace events, by what the user would call that phase of a request."""

DNS_FAILURE_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
)


def classify_httpx_error(
    exc: httpx.HTTPError | httpx.InvalidURL, *, phase: str | None = None
) -> FetchFailure:
    """Map an httpx exception to a stable failure code and a short message.

    ``phase`` (an httpcore trace event name) says what a timeout interrupted: httpx raises
    a bare ``ConnectTimeout`` for the TCP connect and the TLS handshake alike.
    """
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        if phase in TIMEOUT_PHASES:
            message = f"timed out during {TIMEOUT_PHASES[phase]}" + (f": {exc}" if str(exc) else "")
        return FetchFailure("timeout", message)
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchFailure("too_many_redirects", message)
    if isinstance(exc, httpx.ConnectError):
        lowered = message.lower()
        if PRIVATE_REFUSAL in lowered:
            return FetchFailure("private_address", message)
        if any(hint in lowered for hint in DNS_FAILURE_HINTS):
            return FetchFailure("dns", message)
        if (ssl_error := _ssl_cause(exc)) is not None:
            return FetchFailure("tls", f"TLS: {tls_reason(ssl_error)}")
        if "ssl" in lowered or "certificate" in lowered:
            return FetchFailure("tls", message)
        return FetchFailure("connect", message)
    if isinstance(exc, httpx.ProxyError):
        return FetchFailure("proxy", message)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchFailure("invalid_url", message)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return FetchFailure("protocol", message)
    if isinstance(exc, httpx.DecodingError):
        return FetchFailure("decode", message)
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return FetchFailure("read", message)
    return FetchFailure("network", message)


def log_internal(url: str, failure: FetchFailure) -> None:
    """One warning line for the user; the traceback only in a debug log (``-v``)."""
    log.warning("unexpected error with %s: %s", url, failure.message)
    log.debug("traceback of the error with %s", url, exc_info=True)


def internal_failure(exc: Exception) -> FetchFailure:
    """The record of an unexpected error: its type and first line, never a traceback."""
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    return FetchFailure("internal", f"{type(exc).__name__}: {first_line}".rstrip(": "))


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
