"""Where a page's Markdown file goes: a URL mapped to a relative path, safe whatever it holds.

The path mirrors the URL (host, then its path, ``.md`` at the end) as far as that is safe on
every common file system; any part that had to change (case, odd characters, a query, a
reserved or over-long name) keeps a readable form and gains ``~`` and a digest of what it
was. A name without ``~`` is the URL's own text, so two URLs never share a file (barring a
64-bit digest collision), even where ``Docs`` and ``docs`` are one file to the system.
A pure function: it writes nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import SplitResult, unquote, urlsplit

from crawler.errors import InvalidUrl
from crawler.urls import ascii_host

MAX_NAME_BYTES = 100
"""The readable part of a name, in UTF-8 bytes: with ``~``, the digest and ``.md`` it stays
far below the 255 bytes that ext4, APFS and NTFS allow."""

MAX_DEPTH = 24
MAX_PATH_BYTES = 1024
"""Past these many folders or bytes, the rest of the URL's path folds into the file's name:
Windows and some archive tools fail on longer paths."""

DIGEST_CHARS = 16
INDEX = "index"
SUFFIX = ".md"
MARK = "~"

_PLAIN = re.compile(r"[a-z0-9_](?:[a-z0-9._-]*[a-z0-9_-])?")
"""A name kept as the URL spells it: lowercase ASCII, no leading dot or dash, no trailing dot."""
_PLAIN_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_UNSAFE = re.compile(r"[^\w.-]+")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{device}{n}" for device in ("com", "lpt") for n in (*"0123456789", "¹", "²", "³")}
)
"""Device names Windows reserves, alone or before any extension (``nul.txt`` too)."""


def markdown_path(url: str) -> str:
    """The relative path (``/``-separated) of the Markdown file for ``url``.

    ``https://example.org/docs/intro`` gives ``example.org/docs/intro.md``; a trailing slash
    gives ``index.md``. Another scheme than https, a port, a query or any name that is not
    plain lowercase ASCII adds ``~`` and a digest to the part concerned. Fragments and
    credentials take no part (the crawler drops them before it fetches), and a host is
    one folder however it is spelt (``Example.ORG``, ``bücher.example`` or its IDNA form).

    Raises:
        InvalidUrl: ``url`` is not an absolute http(s) URL with a host.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl(f"not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidUrl(f"not an absolute http(s) URL: {url[:200]!r}")
    segments = parts.path.split("/")[1:] if parts.path else [""]
    folders, last = segments[:-1], segments[-1]
    query = parts.query if "?" in url.partition("#")[0] else None
    names = [_host_folder(parts, port)] + [_folder_name(folder) for folder in folders]
    names.append(_file_name(last, query))
    if len(names) - 2 > MAX_DEPTH or len("/".join(names).encode()) > MAX_PATH_BYTES:
        names = _folded(names, segments, query)
    return "/".join(names)


def _host_folder(parts: SplitResult, port: int | None) -> str:
    # one folder per host as DNS and the crawler see it: any case, Unicode or IDNA spelling
    host = ascii_host(parts.hostname or "")
    if parts.scheme == "https" and port is None and _is_plain(host, _PLAIN_HOST):
        return host
    readable = host if port is None else f"{host}_{port}"
    identity = f"{parts.scheme.lower()}://{host}:{port or ''}"
    return _changed(readable, identity)


def _folder_name(raw: str) -> str:
    # a folder named like a page's file ("x.md") would stand where that file must go
    if _is_plain(raw, _PLAIN) and not raw.endswith(SUFFIX):
        return raw
    return _changed(unquote(raw), raw)


def _file_name(raw: str, query: str | None) -> str:
    if query is None:
        if not raw:
            return INDEX + SUFFIX
        if raw != INDEX and _is_plain(raw, _PLAIN):  # "index" is the trailing slash's
            return raw + SUFFIX
        return _changed(unquote(raw), raw) + SUFFIX
    readable = f"{unquote(raw) or INDEX}_{unquote(query)}"
    return _changed(readable, f"{raw}?{query}") + SUFFIX


def _folded(names: list[str], segments: list[str], query: str | None) -> list[str]:
    """The path cut to fit: the first folders kept, the whole URL path in the file's digest."""
    kept = [names[0]]
    budget = MAX_PATH_BYTES // 2
    for name in names[1 : 1 + MAX_DEPTH // 2]:
        if len("/".join([*kept, name]).encode()) > budget:
            break
        kept.append(name)
    rest = "/".join(segments) + (f"?{query}" if query is not None else "")
    return [*kept, _changed(unquote(segments[-1]) or INDEX, f"/{rest}") + SUFFIX]


def _is_plain(name: str, pattern: re.Pattern[str]) -> bool:
    return (
        len(name) <= MAX_NAME_BYTES
        and pattern.fullmatch(name) is not None
        and not _is_reserved(name)
    )


def _is_reserved(name: str) -> bool:
    return name.split(".", 1)[0].casefold() in _WINDOWS_RESERVED


def _changed(readable: str, identity: str) -> str:
    """A safe, readable form of ``readable``, marked with a digest of ``identity``."""
    text = unicodedata.normalize("NFC", readable).casefold()
    text = _UNSAFE.sub("_", text.replace("\x00", "_")).lstrip(".-")
    text = _truncated(text, MAX_NAME_BYTES).rstrip(". ")
    if not text or _is_reserved(text):
        text = f"_{text}"
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{text}{MARK}{digest[:DIGEST_CHARS]}"


def _truncated(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")
