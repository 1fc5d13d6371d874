"""A browser's request relayed through the crawl's own client, so that a rendered page's
scripts, styles and XHR get the crawl's proxy, TLS trust, cookie jar, address guard,
per-site headers and User-Agent, and none of the browser's own network. The browser's own
cookies (those its scripts set) go along with the jar's, on that request only.

It sends one request and follows its redirects, each hop vetted by the caller; which
requests may go at all is the caller's (``crawler.render``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from crawler.errors import BodyTooLarge, FetchError
from crawler.fetch.bodies import decoded_body
from crawler.fetch.cookies import cookie_names, without_cookies
from crawler.fetch.exchange import redirect_target
from crawler.fetch.failures import classify_httpx_error
from crawler.models import FetchFailure, Headers
from crawler.urls import host_key

Relayed = tuple[int, Headers, bytes]
"""A relayed response: its status, headers (lower-case names) and decoded body."""

Extras = Callable[[str, str], dict[str, Any]]
"""The ``auth`` and ``headers`` the crawl adds to a request to a URL (its site rules), the
browser's ``Cookie`` header for it merged with the crawl's jar ("" for none)."""

Vet = Callable[[str], Awaitable[FetchFailure | None]]
"""Awaited with each redirect target: None to follow, or the ``FetchFailure`` why not."""

BROWSER_ONLY_HEADERS = frozenset(
    {
        # the crawl's own: its User-Agent, its encodings (decoded here); the browser's cookies
        # go merged with the crawl's jar (``cookies``), never as a header of their own
        "user-agent",
        "cookie",
        "accept-encoding",
        # hop by hop, or set by httpx for the body it sends
        "host",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
    }
)
"""Request headers of the browser's that the relay does not send on."""

ENCODED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
"""Response headers describing the body as sent: the browser gets it decoded."""

REDIRECT_TO_GET = frozenset({301, 302, 303})
"""Redirects after which a browser sends GET without a body (307 and 308 keep both)."""


async def relay(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    extras: Extras,
    max_bytes: int,
    timeout_s: float,
    max_redirects: int,
    vet: Vet | None = None,
    cookies: str = "",
) -> Relayed | FetchFailure:
    """Send the browser's request to ``url`` and answer it, or say why it could not be.

    ``cookies`` is the ``Cookie`` header the browser would send (``headers`` often lacks
    it): ``extras`` merges it with the crawl's jar, so a cookie a script set reaches the
    server without the jar ever keeping it.

    Redirects are followed here (a browser does not re-ask for a fulfilled redirect's
    target, it fetches it on its own network), each target first passed to ``vet``.
    Never raises for the request's own failure: a network error, a timeout, a body past
    ``max_bytes`` or a refused redirect is the returned ``FetchFailure``.
    """
    sent = {k: v for k, v in headers.items() if not _browser_only(k)}
    try:
        async with asyncio.timeout(timeout_s):
            for _ in range(max_redirects + 1):
                extra = extras(url, cookies)
                request_headers = {**sent, **(extra.get("headers") or {})}
                async with client.stream(
                    method, url, headers=request_headers, content=body, auth=extra.get("auth")
                ) as response:
                    target = redirect_target(response)
                    if target is None:
                        data = await decoded_body(response, max_bytes)
                        return response.status_code, _decoded_headers(response), data
                    if response.status_code in REDIRECT_TO_GET and method != "HEAD":
                        method, body = "GET", None
                    cookies = _cookies_after(cookies, url, target, response)
                if vet is not None and (refusal := await vet(target)) is not None:
                    return refusal
                url = target
            return FetchFailure("too_many_redirects", f"more than {max_redirects} redirects")
    except BodyTooLarge:
        return FetchFailure("too_large", f"body exceeds max_bytes ({max_bytes} bytes)")
    except FetchError as exc:
        return FetchFailure(exc.code, exc.message)
    except TimeoutError:
        return FetchFailure("timeout", f"no complete response in {timeout_s:g} s")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return classify_httpx_error(exc)


def _cookies_after(cookies: str, url: str, target: str, redirect: httpx.Response) -> str:
    """The browser's cookies for a redirect's ``target``: none on another origin (they are
    the page's origin's), and none the redirect set itself (the server's are then newer,
    and in the jar)."""
    if not cookies or host_key(target) != host_key(url):
        return ""
    return without_cookies(cookies, cookie_names(redirect.headers.get_list("set-cookie")))


def _browser_only(name: str) -> bool:
    lowered = name.lower()
    # client hints name the browser (HeadlessChrome): the crawl's User-Agent speaks for it
    return lowered in BROWSER_ONLY_HEADERS or lowered.startswith(("sec-ch-", ":"))


def _decoded_headers(response: httpx.Response) -> Headers:
    return tuple(
        (name.lower(), value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ENCODED_HEADERS
    )
