"""What a rendered page may fetch, and from where: every request it makes is answered here.

Its document is the one the crawl already fetched (never asked for again); a navigation
elsewhere is refused; blocked types, other origins, private addresses and requests past
the cap are refused and counted; the rest go through the crawl's own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from crawler.models import FetchFailure, FetchResult, Headers
from crawler.settings import RenderSettings
from crawler.urls import host_key

if TYPE_CHECKING:
    from playwright.async_api import Route, WebSocketRoute

    from crawler.fetch import Fetcher, Relayed

log = logging.getLogger(__name__)

Refusal = Literal["type", "origin", "private", "cap", "navigation"]
"""Why a page's request was not answered (the keys of ``RenderedPage.blocked``)."""

UNTOUCHED_SCHEMES = frozenset({"data", "blob", "about"})
"""Made inside the browser, never on the network: passed as they are."""

DOCUMENT_HEADERS_DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})
"""The fetched document's body is decoded: headers about its encoding would mislead."""

PRIVATE_CODES = frozenset({"private_address"})
"""Fetch failures meaning the crawl's client refused a private address at connect time."""


class RequestGuard:
    """The requests of one page: served, or refused and counted by reason."""

    def __init__(
        self,
        result: FetchResult,
        settings: RenderSettings,
        *,
        fetcher: Fetcher,
        allow_private: bool,
    ) -> None:
        self._result = result
        self._fetcher = fetcher
        self._allow_private = allow_private
        self._block = frozenset(settings.block)
        self._origins = {host_key(result.final_url)} | {
            host_key(origin) for origin in settings.allow_origins
        }
        self._max_requests = settings.max_requests
        self._document_served = False
        self._asked = 0
        self.served = 0
        """Requests answered through the crawl's client (the document not counted)."""
        self.blocked: Counter[str] = Counter()
        self._open = 0
        self._last_activity = time.monotonic()
        self._activity = asyncio.Event()
        self._relays: set[asyncio.Future[Relayed | FetchFailure]] = set()

    async def settled(self, quiet_s: float, cap_s: float) -> None:
        """Return once no request of the page has been open for ``quiet_s`` (its network
        is idle), or after ``cap_s`` whatever it does (a page that polls forever)."""
        loop = asyncio.get_running_loop()
        cap = loop.time() + cap_s
        while (left := cap - loop.time()) > 0:
            quiet = time.monotonic() - self._last_activity
            if self._open == 0 and quiet >= quiet_s:
                return
            self._activity.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left if self._open else min(left, quiet_s - quiet)):
                    await self._activity.wait()

    def _busy(self, change: int) -> None:
        self._open += change
        self._last_activity = time.monotonic()
        self._activity.set()

    async def handle(self, route: Route) -> None:
        """Answer one request of the page: the document, the crawl's answer, or a refusal.

        The boundary of a request: whatever goes wrong aborts it, and never the crawl.
        """
        from playwright.async_api import Error  # noqa: PLC0415 (an optional extra)

        request = route.request
        self._busy(+1)
        try:
            if request.is_navigation_request() and request.frame.parent_frame is None:
                await self._navigate(route)
                return
            if urlsplit(request.url).scheme in UNTOUCHED_SCHEMES:
                await route.continue_()
                return
            if (reason := self.refusal(request.url, request.resource_type)) is not None:
                await self._refuse(route, reason)
                return
            # request.headers leaves out the cookies the browser sends (document.cookie's)
            cookies = await request.header_value("cookie")
            relayed = asyncio.ensure_future(
                self._fetcher.passthrough(
                    request.method,
                    request.url,
                    request.headers,
                    request.post_data_buffer,
                    cookies=cookies,
                    check_redirect=self._vet,
                )
            )
            self._relays.add(relayed)
            try:
                await asyncio.wait([relayed])
            finally:
                relayed.cancel()  # when this handler itself was cancelled
                self._relays.discard(relayed)
            if relayed.cancelled():
                return  # the page is done: nobody waits for the answer
            answer = relayed.result()
            if isinstance(answer, FetchFailure):
                if answer.code in PRIVATE_CODES:
                    self.blocked["private"] += 1
                log.debug("render request failed %s: %s", request.url, answer.message)
                await route.abort("failed")
                return
            status, headers, body = answer
            self.served += 1
            await route.fulfill(status=status, headers=_joined(headers), body=body)
        except Error:  # the page closed, crashed or timed out meanwhile, most likely
            with contextlib.suppress(Error):
                await route.abort("failed")
        except Exception:  # the boundary: one request, never the page or the crawl
            log.warning("render request %s failed unexpectedly", request.url, exc_info=True)
            with contextlib.suppress(Error):
                await route.abort("failed")
        finally:
            self._busy(-1)

    def close(self) -> None:
        """The page is done (rendered, timed out, crashed): its requests still going
        through the crawl's client are cancelled rather than left to their timeout."""
        for relayed in self._relays:
            relayed.cancel()

    async def refuse_socket(self, socket: WebSocketRoute) -> None:
        """A WebSocket never opens: it would bypass the crawl's client."""
        self.blocked["type"] += 1
        with contextlib.suppress(Exception):
            await socket.close()

    def refusal(self, url: str, resource_type: str) -> Refusal | None:
        """Why a request of the page may not go, or None; counts it toward the cap."""
        if resource_type in self._block:
            return "type"
        if urlsplit(url).scheme not in ("http", "https") or host_key(url) not in self._origins:
            return "origin"
        if not self._allow_private and self._fetcher.address_guard.refusal(url) is not None:
            return "private"
        self._asked += 1
        return "cap" if self._asked > self._max_requests else None

    async def _navigate(self, route: Route) -> None:
        if self._document_served:  # a script's location = ...: the crawl follows links
            # 204 No Content: the browser stays on the page (aborted, it would show an
            # error page, or leave the first navigation waiting for its load event)
            self.blocked["navigation"] += 1
            await route.fulfill(status=204)
            return
        self._document_served = True
        result = self._result
        headers = tuple(
            (name, value) for name, value in result.headers if name not in DOCUMENT_HEADERS_DROPPED
        )
        await route.fulfill(status=result.status or 200, headers=_joined(headers), body=result.body)

    async def _vet(self, target: str) -> FetchFailure | None:
        """A redirect of a relayed request: the same origin and address rules as a request."""
        reason = self.refusal(target, "redirect")
        if reason is None:
            return None
        self.blocked[reason] += 1
        return FetchFailure("render_blocked", f"a redirect to {target} is refused: {reason}")

    async def _refuse(self, route: Route, reason: Refusal) -> None:
        self.blocked[reason] += 1
        log.debug("render refused %s: %s", route.request.url, reason)
        await route.abort("blockedbyclient")


def _joined(headers: Headers) -> dict[str, str]:
    """Headers as the browser takes them: one value per name (Set-Cookie lines apart)."""
    joined: dict[str, str] = {}
    for name, value in headers:
        if name in joined:
            joined[name] += ("\n" if name == "set-cookie" else ", ") + value
        else:
            joined[name] = value
    return joined
