"""URL rules: which strings are crawlable URLs, their canonical form, and their host key.

Scope rules (what to follow) belong to the frontier's callers, not here.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

CRAWLABLE_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
FORBIDDEN_HOST_CHARS = frozenset("<>\\^|\"'`{}")


class InvalidUrl(ValueError):
    """A string that is not an absolute http(s) URL; the message says why."""


def normalize_seed(text: str) -> str:
    """Return ``text`` as a fetchable URL (percent-encoded, IDNA host).

    Raises:
        InvalidUrl: when it is not an absolute http(s) URL with a host.
    """
    candidate = text.strip()
    try:
        parts = urlsplit(candidate)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise InvalidUrl(f"not a valid URL: {candidate!r} ({exc})") from exc
    if parts.scheme.lower() not in CRAWLABLE_SCHEMES:
        raise InvalidUrl(f"not an http(s) URL: {candidate!r}")
    if not parts.hostname:
        raise InvalidUrl(f"URL has no host: {candidate!r}")
    if any(char.isspace() or char in FORBIDDEN_HOST_CHARS for char in parts.hostname):
        raise InvalidUrl(f"URL host is not valid: {candidate!r}")
    del port
    try:
        return str(safe_url_string(candidate))
    except (ValueError, UnicodeError) as exc:
        raise InvalidUrl(f"not a valid URL: {candidate!r} ({exc})") from exc


def canonical_url(url: str) -> str:
    """The form two spellings of one page share: the crawl's dedup key.

    Lower-case scheme and host, IDNA host, default port and fragment dropped, query
    arguments sorted, percent-encoding normalized (w3lib's canonicalize_url, plus the port).
    """
    canonical = str(canonicalize_url(url))
    parts = urlsplit(canonical)
    default_port = DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return canonical
    if port is not None and port == default_port:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host if not parts.username else parts.netloc.rsplit("@", 1)[0] + "@" + host
        canonical = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return canonical


def url_key(url: str) -> bytes:
    """The 16-byte seen-set key of ``url``: a digest of its canonical form."""
    return hashlib.blake2b(canonical_url(url).encode(), digest_size=16).digest()


def host_key(url: str) -> str:
    """The politeness key of ``url``: scheme, host and port, as in ``https://example.org:443``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    return f"{scheme}://{ascii_host(parts.hostname or '')}:{port}"


def ascii_host(host: str) -> str:
    """``host`` lower-cased, in its ASCII (IDNA) spelling, without a trailing dot.

    Links straight from a page may spell a host in Unicode; seeds are already ASCII. Both
    must land on one politeness slot and one scope decision.
    """
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host
