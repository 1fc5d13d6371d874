"""The crawl's cookies: which ones the shared client keeps (per origin), and the ``Cookie``
header of a request that also carries a site's configured cookies (``[[fetch.sites]]``).

Which cookies a site is configured with is :mod:`crawler.settings.sites`'s.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Mapping
from http import cookiejar
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy

import httpx

_REQUEST_PORT: Callable[[urllib.request.Request], str] = getattr(cookiejar, "request_port")  # noqa: B009


class OriginCookiePolicy(DefaultCookiePolicy):
    """Cookies go back only to the host and port that set them.

    The standard rules match cookies by domain and ignore ports, so one shared client
    would hand a cookie set by one site to another service on the same host.
    """

    def set_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        if not super().set_ok(cookie, request):
            return False
        if not all(part.isascii() for part in (cookie.name, cookie.value or "", cookie.path)):
            return False  # it could never be sent back: a header is ASCII
        cookie.port = _REQUEST_PORT(request)
        cookie.port_specified = True
        return True


def cookie_header(
    jar: CookieJar, url: str, configured: Mapping[str, str], browser: str = ""
) -> str:
    """The ``Cookie`` header for ``url``: the cookies ``jar`` holds for it, then those of
    ``browser`` (a rendered page's own ``Cookie`` header), then ``configured``.

    A request that carries its own ``Cookie`` header gets none from httpx's jar, so sending
    the configured cookies alone would drop those the site set (its session) on every
    request to it. All go; each replaces the cookies of the same name before it: a page's
    script (``document.cookie``) set its cookies after the site's responses did, and a
    configured cookie is the operator's word over both.

    Raises:
        httpx.InvalidURL: ``url`` cannot be requested at all.
    """
    # The URL as httpx will request it, so the jar matches the cookies it would send. The
    # stand-in request is only read by the jar, never opened.
    probe = urllib.request.Request(str(httpx.URL(url)))  # noqa: S310
    jar.add_cookie_header(probe)
    pairs = _pairs(probe.get_header("Cookie") or "")
    for layer in (_pairs(browser), [f"{name}={value}" for name, value in configured.items()]):
        if layer:
            pairs = [*_without(pairs, {_name(pair) for pair in layer}), *layer]
    return "; ".join(pairs)


def cookie_names(set_cookies: list[str]) -> frozenset[str]:
    """The names of the cookies ``Set-Cookie`` header lines set."""
    return frozenset(_name(line.partition(";")[0]) for line in set_cookies) - {""}


def without_cookies(header: str, names: frozenset[str]) -> str:
    """A ``Cookie`` header less the cookies named ``names``."""
    return "; ".join(_without(_pairs(header), names))


def _pairs(header: str) -> list[str]:
    return [pair for part in header.split(";") if _name(pair := part.strip())]


def _name(pair: str) -> str:
    return pair.partition("=")[0].strip()


def _without(pairs: list[str], names: set[str] | frozenset[str]) -> list[str]:
    kept_pairs: list[str] = []
    kept = True
    for pair in pairs:
        name = _name(pair)
        # An RFC 2965 cookie's $Path/$Domain follow it: they go or stay with it.
        if name.startswith("$") and name != "$Version":
            if kept:
                kept_pairs.append(pair)
            continue
        kept = name not in names
        if kept:
            kept_pairs.append(pair)
    return kept_pairs
