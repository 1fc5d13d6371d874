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

COMPLETE = "document.readyState === 'complete'"
POLL_MS = 50
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


async def render_steps(
    page: Page,
    url: str,
    settings: RenderSettings,
    wait_for: str | None,
    settled: Callable[[float, float], Awaitable[None]],
) -> str:
    """Navigate ``page`` to ``url`` (answered by its route), wait, and return its DOM.

    Waits for the document to be complete (its load event); with ``wait = "networkidle"``
    then for its network to be idle (``settled``: no request open for ``IDLE_S``), at most
    ``idle_cap_s``: a page that polls forever is read when the cap is reached; then for
    ``wait_for`` to be in the DOM. Unbounded but for Playwright's own timeouts: the caller
    bounds the whole.

    Raises:
        playwright.async_api.Error: the page failed (its tab crashed, a selector that is
            not CSS); its ``TimeoutError`` when ``wait_for`` never appears.
    """
    page.set_default_timeout(settings.timeout_s * 1000)
    # Playwright's own load and network-idle events never come once a navigation the
    # route refused (a script's location = ...) interrupted the first: the page's own
    # readyState and the route's count of requests say the same and always arrive.
    await page.goto(url, wait_until="commit")
    await page.wait_for_function(COMPLETE, polling=POLL_MS)
    if settings.wait == "networkidle":
        await settled(IDLE_S, settings.idle_cap_s)
    if wait_for is not None:
        await page.wait_for_selector(f"css={wait_for}", state="attached")
    return await page.content()
