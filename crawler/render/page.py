"""One page rendered: the steps from an open tab to its DOM (navigate to the fetched
document, wait as the settings say, read the content), and what a render gives back.

It neither bounds nor cleans up after the steps: the pool does, as only it can tell a
timeout from a crash and close a hung tab.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crawler.models import FetchFailure
from crawler.settings import RenderSettings

if TYPE_CHECKING:
    from playwright.async_api import Page

COMPLETE = """() => document.readyState === 'complete' ||
  new Promise(done => addEventListener('load', () => done(true), {once: true}))"""
"""Resolves once the document is complete: at its load event, or at once if it was."""
IDLE_S = 0.5
"""Network idle: no request of the page open for this long (Playwright's measure too)."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """What rendering one page gave: its DOM, or why none.

    ``failure`` is ``render_timeout`` (not rendered within ``timeout_s``) or
    ``render_crash`` (its tab or the browser crashed; the message says which). ``blocked``
    counts the requests refused, by reason: ``type``, ``origin``, ``private``, ``cap`` and
    ``navigation``.
    """

    html: str | None
    failure: FetchFailure | None
    requests: int
    """Requests of the page (scripts, XHR, styles) answered through the crawl's client."""
    blocked: dict[str, int] = field(default_factory=dict)
    elapsed_ms: float = 0.0


class PageSteps:
    """The steps of rendering one open page, and which it is at: what a timeout's message
    names (a script looping while the page loads, or a ``wait_for`` that never came)."""

    def __init__(
        self,
        page: Page,
        settings: RenderSettings,
        settled: Callable[[float, float], Awaitable[None]],
    ) -> None:
        self._page = page
        self._settings = settings
        self._settled = settled
        self.stage = "opening the page"

    async def run(self, url: str, wait_for: str | None) -> str:
        """Navigate to ``url`` (answered by the page's route), wait, and return the DOM.

        Waits for the document to be complete (its load event); with ``wait =
        "networkidle"`` then for its network to be idle (``settled``: no request open for
        ``IDLE_S``), at most ``idle_cap_s``: a page that polls forever is read when the cap
        is reached; then for ``wait_for`` to be in the DOM. Unbounded but for Playwright's
        own timeouts: the caller bounds the whole.

        Raises:
            playwright.async_api.Error: the page failed (its tab crashed, a selector that
                is not CSS); its ``TimeoutError`` when ``wait_for`` never appears.
        """
        page, settings = self._page, self._settings
        self.stage = "loading"
        page.set_default_timeout(settings.timeout_s * 1000)
        # Playwright's own load and network-idle events never come once a navigation the
        # route refused (a script's location = ...) interrupted the first: the page's own
        # readyState and the route's count of requests say the same and always arrive.
        await page.goto(url, wait_until="commit")
        await page.evaluate(COMPLETE)
        if settings.wait == "networkidle":
            self.stage = "waiting for network idle"
            await self._settled(IDLE_S, settings.idle_cap_s)
        if wait_for is not None:
            self.stage = f"waiting for {wait_for}"
            await page.wait_for_selector(f"css={wait_for}", state="attached")
        self.stage = "reading the page"
        return await page.content()
