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


def cookie_header(jar: CookieJar, url: str, configured: Mapping[str, str]) -> str:
    """The ``Cookie`` header for ``url``: the cookies ``jar`` holds for it, then ``configured``.

    A request that carries its own ``Cookie`` header gets none from httpx's jar, so sending
    the configured cookies alone would drop those the site set (its session) on every
    request to it. Both go; a configured cookie replaces the site's of the same name.

    Raises:
        httpx.InvalidURL: ``url`` cannot be requested at all.
    """
    # The URL as httpx will request it, so the jar matches the cookies it would send. The
    # stand-in request is only read by the jar, never opened.
    probe = urllib.request.Request(str(httpx.URL(url)))  # noqa: S310
    jar.add_cookie_header(probe)
    pairs: list[str] = []
    kept = True
    for pair in (probe.get_header("Cookie") or "").split("; "):
        name = pair.partition("=")[0].strip()
        if not name:
            continue
        # An RFC 2965 cookie's $Path/$Domain follow it: they go or stay with it.
        if name.startswith("$") and name != "$Version":
            if kept:
                pairs.append(pair)
            continue
        kept = name not in configured
        if kept:
            pairs.append(pair)
    pairs.extend(f"{name}={value}" for name, value in configured.items())
    return "; ".join(pairs)
