"""URL rules: which strings are crawlable URLs, their canonical form, and their host key.

Scope rules (what to follow) belong to the frontier's callers, not here.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

from crawler.errors import InvalidUrl as InvalidUrl  # noqa: PLC0414 (re-exported: raised here)

CRAWLABLE_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
FORBIDDEN_HOST_CHARS = frozenset("<>\\^|\"'`{}")
MAX_PORT = 65535
MAX_SHOWN_CHARS = 200
MAX_URL_CHARS = 32 * 1024
"""Longer is no URL a server means (browsers stop near 2 MB, servers near 8 KB)."""

_ALREADY_SAFE = re.compile(
    r"https?://[a-z0-9._-]+(?::(?P<port>[1-9][0-9]*))?(?:/[A-Za-z0-9!$%&()*+,./:;=?@_~-]*)?\Z"
)
"""URLs ``safe_url_string`` returns unchanged: lower-case ASCII host, no credentials, no
brackets, a port without leading zeros, a path (or nothing) before any query, and only
characters it never escapes. Most links of most pages are of this form."""


def normalize_seed(text: str) -> str:
    """Return ``text`` as a fetchable URL (percent-encoded, IDNA host), credentials kept.

    The fetcher takes the credentials off as the seed enters the crawl (``split_credentials``).

    Raises:
        InvalidUrl: when it is not an absolute http(s) URL with a host and a valid port.
    """
    return _fetchable(text.strip(), keep_credentials=True)


def request_url(text: str, base: str | None = None) -> str:
    """``text`` (a link or a Location, resolved against ``base``) as it would be requested.

    Percent-encoded, IDNA host, without fragment and without credentials: a page's or a
    server's URL must not carry a password into records and logs.

    Raises:
        InvalidUrl: when it is not an absolute http(s) URL with a host and a valid port.
    """
    candidate = text.strip()
    if base is not None:
        try:
            candidate = urljoin(base, candidate)
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket
            raise InvalidUrl(f"not a valid URL: {_shown(candidate)} ({exc})") from exc
    return _fetchable(candidate, keep_credentials=False)


def as_request_url(url: str) -> str:
    """``request_url(url)``, at a fraction of its cost when ``url`` is in that form already.

    For links the parse workers normalized already, checked again on the event loop in
    case a custom parse function or step handed back something else.

    Raises:
        InvalidUrl: as ``request_url``.
    """
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return request_url(url)
    port = _port_text(parts.netloc)
    if (
        url.isascii()
        and parts.scheme in CRAWLABLE_SCHEMES
        and not _bad_host(hostname)
        and (port is None or _valid_port(port))
        and "@" not in parts.netloc
        and not parts.fragment
        and not any(char.isspace() for char in url)
    ):
        return url
    return request_url(url)


def _fetchable(candidate: str, *, keep_credentials: bool) -> str:
    if _plain(candidate):
        return candidate  # every check of ``_checked`` passes and changes nothing
    return _checked(candidate, keep_credentials=keep_credentials)


def _plain(url: str) -> bool:
    """True when ``url`` is an http(s) URL already in the form ``_checked`` would give it."""
    if len(url) > MAX_URL_CHARS or url.endswith("?") or "xn--" in url:
        return False  # urlunsplit drops an empty query; IDNA labels are left to w3lib
    match = _ALREADY_SAFE.match(url)
    if match is None:
        return False
    port = match["port"]
    return port is None or int(port) <= MAX_PORT


def _checked(candidate: str, *, keep_credentials: bool) -> str:
    """``candidate`` checked part by part and made safe by w3lib (``_fetchable``'s long way)."""
    if len(candidate) > MAX_URL_CHARS:
        raise InvalidUrl(f"URL too long: {_shown(candidate)}")
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname
    except ValueError as exc:
        raise InvalidUrl(f"not a valid URL: {_shown(candidate)} ({exc})") from exc
    if parts.scheme.lower() not in CRAWLABLE_SCHEMES:
        raise InvalidUrl(f"not an http(s) URL: {_shown(candidate)}")
    if not hostname:
        raise InvalidUrl(f"URL has no host: {_shown(candidate)}")
    if _bad_host(hostname):
        raise InvalidUrl(f"URL host is not valid: {_shown(candidate)}")
    if (port := _port_text(parts.netloc)) is not None and not _valid_port(port):
        raise InvalidUrl(f"not a valid URL: {_shown(candidate)} (port {port[:20]!r})")
    netloc = parts.netloc if keep_credentials else parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    if already_safe(bare):
        return bare  # what safe_url_string would return, at a tenth of its cost
    try:
        safe = str(safe_url_string(bare))
    except (ValueError, UnicodeError) as exc:
        raise InvalidUrl(f"not a valid URL: {_shown(candidate)} ({exc})") from exc
    if not safe.isascii() or _bad_host(urlsplit(safe).hostname):
        raise InvalidUrl(f"not a valid URL: {_shown(candidate)}")
    return safe


def already_safe(url: str) -> bool:
    """True when ``safe_url_string(url)`` is ``url`` itself, known without calling it.

    False says nothing: the URL may still come back unchanged. IDNA labels (``xn--``) are
    left to w3lib.
    """
    return _ALREADY_SAFE.match(url) is not None and "xn--" not in url


def _bad_host(hostname: str | None) -> bool:
    return not hostname or any(c.isspace() or c in FORBIDDEN_HOST_CHARS for c in hostname)


def _port_text(netloc: str) -> str | None:
    """The port as written (``"abc"``, ``"99999"``), or None when the URL names none."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        _, _, after = hostport.partition("]")
        return after[1:] if after.startswith(":") else None
    _, colon, port = hostport.partition(":")
    return port if colon and port else None


def _valid_port(text: str) -> bool:
    # Stricter than urllib: no sign, no Unicode digits, no port 0 (nothing listens there).
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_PORT


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and the (decoded) user and password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return bare, (unquote(user), unquote(password))


def masked(url: str) -> str:
    """``url`` with its password shown as ``***`` (as wget does), for messages and logs."""
    scheme, colon_slashes, rest = url.partition("://")
    if not colon_slashes:
        return url
    authority_end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1:
            authority_end = min(authority_end, index)
    authority = rest[:authority_end]
    if "@" not in authority:
        return url
    userinfo, _, hostport = authority.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    hidden = f"{user}:***" if has_password else user
    return f"{scheme}://{hidden}@{hostport}{rest[authority_end:]}"


def _shown(text: str) -> str:
    """``text`` for an error message: password masked, length bounded."""
    shown = masked(text)
    if len(shown) > MAX_SHOWN_CHARS:
        return repr(shown[:MAX_SHOWN_CHARS]) + f" ({len(shown)} characters)"
    return repr(shown)


def canonical_url(url: str) -> str:
    """The form two spellings of one page share: the crawl's dedup key.

    Lower-case scheme and host, IDNA host, default port and fragment dropped, query
    arguments sorted, percent-encoding normalized (w3lib's canonicalize_url, plus the port).
    """
    try:
        canonical = str(canonicalize_url(url))
    except ValueError:  # an invalid port or IPv6 literal: such a URL is only ever itself
        return url
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


class ParamFilter:
    """Drops query parameters whose names match glob patterns (``utm_*``, ``fbclid``).

    Tracking and session parameters would make one page many URLs and carry into records.
    Applied to a URL as it enters the crawl (a seed, a link, a sitemap's page, a redirect
    target), so the seen set and the records see the same bare URL. Names match
    case-sensitively after percent-decoding; the other parameters keep their order and
    spelling. With no patterns it costs one truth test per URL.
    """

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns = tuple(patterns)
        self._match = (
            re.compile("|".join(fnmatch.translate(p) for p in self.patterns)).match
            if self.patterns
            else None
        )

    def __bool__(self) -> bool:
        return self._match is not None

    def __call__(self, url: str) -> str:
        """``url`` without the matching parameters (its query dropped if none is left)."""
        match = self._match
        if match is None or "?" not in url:
            return url
        base, _, rest = url.partition("?")
        query, hash_mark, fragment = rest.partition("#")
        kept = [
            part for part in query.split("&") if not match(unquote_plus(part.partition("=")[0]))
        ]
        if len(kept) == query.count("&") + 1:
            return url
        new_query = "&".join(kept)
        return base + ("?" + new_query if new_query else "") + hash_mark + fragment


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
