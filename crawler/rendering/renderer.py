"""The renderer the engine hands every fetched page to: it asks the policy, sends the pages
that need it to the browser pool, and returns each page with what was done to it.

It owns what a render does to a page's result (the rendered DOM as its body, the facts for
its record), the render counts in the stats and the WARC conversion record; not the browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from crawler.errors import OutputError
from crawler.fetch import internal_failure, log_internal
from crawler.models import FetchResult, Headers
from crawler.rendering.detect import page_shape
from crawler.rendering.learning import Decision, RenderPolicy, adds
from crawler.stats import Stats
from crawler.urls import host_key

if TYPE_CHECKING:  # playwright and warcio are imported only by crawls that use them
    from crawler.archive import Archive
    from crawler.render import RenderedPage

log = logging.getLogger(__name__)

MAX_PROBES = 8
"""Probes rendered beside the crawl at once, at most; past it a later page probes."""

RENDERED_TYPE = "text/html; charset=utf-8"
"""A rendered page's content type: the DOM is serialized as UTF-8, whatever the page was."""


class PageRenderer(Protocol):
    """What the engine asks of rendering: a fetched page's result, rendered or not."""

    async def render(
        self, result: FetchResult, *, on_render: Callable[[], Awaitable[None]] | None = None
    ) -> FetchResult:
        """``result``, its body the rendered DOM when the page was rendered; never raises
        for one page (a failed render is the record's error). ``on_render`` is awaited
        first when the page will be rendered for its record: it will be long in coming."""
        ...

    async def aclose(self) -> None:
        """The crawl is over: what still renders only to learn is dropped."""
        ...


class Browser(Protocol):
    """The browser pool as the renderer uses it (``crawler.render.BrowserPool``)."""

    async def render(self, result: FetchResult, *, wait_for: str | None = None) -> RenderedPage:
        """The DOM of ``result``'s page once its scripts ran; never raises."""
        ...


class BrowserRenderer:
    """Renders the pages its policy picks in ``browser`` and says why for every page.

    Args:
        browser: the started browser pool.
        policy: which pages to render (mode, rules, what each host has shown).
        stats: the crawl's stats: pages rendered per host, failures, subresources.
        archive: the crawl's WARC archive: a rendered DOM becomes a ``conversion`` record
            referring to the page's response.
    """

    def __init__(
        self,
        browser: Browser,
        policy: RenderPolicy,
        *,
        stats: Stats,
        archive: Archive | None = None,
    ) -> None:
        self._browser = browser
        self._policy = policy
        self._stats = stats
        self._archive = archive
        self._probes: set[asyncio.Task[None]] = set()

    async def render(
        self, result: FetchResult, *, on_render: Callable[[], Awaitable[None]] | None = None
    ) -> FetchResult:
        """``result`` rendered if its page needs it, with ``rendered`` and ``render_reason``;
        ``on_render`` is awaited first when it will be (the frontier lets its level go on).

        A failed render keeps the page as fetched, its error ``render_timeout`` or
        ``render_crash`` (``render_failure``).

        An unexpected error is that URL's record (``internal``), as in the fetcher.

        Raises:
            OutputError: the WARC archive cannot be written (the crawl ends).
        """
        try:
            return await self._render(result, on_render)
        except OutputError:
            raise
        except Exception as exc:  # the boundary: one page's render never ends the crawl
            failure = internal_failure(exc)
            log_internal(result.request.url, failure)
            return replace(result, failure=failure, body_kept=False)

    async def _render(
        self, result: FetchResult, on_render: Callable[[], Awaitable[None]] | None
    ) -> FetchResult:
        decision = self._policy.decide(result)
        if decision.probe:
            self._probe(result, decision)
        if not decision.render:
            return replace(result, rendered=False, render_reason=decision.reason)
        if on_render is not None:
            await on_render()
        page = await self._rendered(result, decision)
        stats = self._stats
        url = result.final_url
        if page.failure is not None or page.html is None:
            self._policy.learn(url, decision, None)
            failure = page.failure
            stats.render_failures[failure.code if failure is not None else "render_crash"] += 1
            log.info("render of %s failed: %s", url, failure.message if failure else "no DOM")
            return replace(
                result, rendered=False, render_reason=decision.reason, render_failure=failure
            )
        body = page.html.encode("utf-8", "replace")
        await self._learn(result, decision, page.html)
        stats.rendered[host_key(url)] += 1
        if self._archive is not None:
            await self._archive.add_conversion(url, result.archived_as, body)
        return replace(
            result,
            body=body,
            content_type=RENDERED_TYPE,
            headers=_retyped(result.headers),
            rendered=True,
            render_reason=decision.reason,
        )

    async def aclose(self) -> None:
        """Cancel the probes still rendering: the crawl is over, nothing waits to learn."""
        probes, self._probes = list(self._probes), set()
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)

    async def _rendered(self, result: FetchResult, decision: Decision) -> RenderedPage:
        """The browser's render of ``result``, its requests counted."""
        page = await self._browser.render(result, wait_for=decision.wait_for)
        self._stats.render_requests += page.requests
        self._stats.render_blocked.update(page.blocked)
        return page

    def _probe(self, result: FetchResult, decision: Decision) -> None:
        """Render a probe beside the crawl, to learn from: its record goes on now."""
        if len(self._probes) >= MAX_PROBES:
            self._policy.forgo(result.final_url, decision)
            return
        probe = asyncio.create_task(self._learn_by_probe(result, decision))
        self._probes.add(probe)
        probe.add_done_callback(self._probes.discard)

    async def _learn_by_probe(self, result: FetchResult, decision: Decision) -> None:
        url = result.final_url
        try:
            page = await self._rendered(result, decision)
            self._stats.render_probes += 1
            if page.html is None:
                self._policy.learn(url, decision, None)
                return
            await self._learn(result, decision, page.html)
        except Exception:  # the boundary of a task nobody awaits: logged, learns nothing
            log.exception("probe render of %s failed", url)

    async def _learn(self, result: FetchResult, decision: Decision, rendered: str) -> None:
        """Tell the policy whether the render added to the static page, when that teaches it."""
        if not decision.learn:
            return
        # Two parses of a page: off the event loop, which fetches meanwhile.
        added = await asyncio.to_thread(_adds, result.body, rendered, result.final_url)
        self._policy.learn(result.final_url, decision, added)


def _retyped(headers: Headers) -> Headers:
    """The response headers, their Content-Type the rendered DOM's: the page is read with
    them, and a charset the server named would misread the DOM's UTF-8."""
    kept = tuple((name, value) for name, value in headers if name != "content-type")
    return (*kept, ("content-type", RENDERED_TYPE))


def _adds(static: bytes, rendered: str, url: str) -> bool:
    return adds(page_shape(static, url), page_shape(rendered, url))
