"""The ``[render]`` section: pages built by script, rendered in Chromium (``parcrawl[render]``),
with the per-URL rules that override it and the matcher that applies them.

It owns the schema and which mode a URL gets; the browser is ``crawler.render``'s, the choice
between a fetched and a rendered page (auto mode's learning) the engine's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from crawler.settings.section import Section, Size
from crawler.settings.sites import url_pattern
from crawler.settings.sizes import SIZE_FORMS
from crawler.urls import ascii_host

RenderMode = Literal["never", "auto", "always"]
"""``never``: pages as fetched; ``auto``: rendered where the host's pages need a script to
show their text (learned from a sample); ``always``: every HTML page rendered."""

RenderWait = Literal["load", "networkidle"]
"""What a render waits for before reading the DOM: the load event, or then network idle."""

BLOCKED_BY_DEFAULT = ("image", "media", "font")
"""Resource types a rendered page never downloads: its text does not need them."""

RESOURCE_TYPES = (
    "document", "stylesheet", "image", "media", "font", "script", "texttrack", "xhr",
    "fetch", "eventsource", "manifest", "other",
)  # fmt: skip
"""The resource types a browser names its requests by (Playwright's); WebSockets are
always refused (they would bypass the crawl's client)."""


class RenderRule(Section):
    """An override for the pages of one site: ``host`` (its subdomains too) or ``match`` (a
    regex searched in the URL), or both (both must hold)."""

    host: str | None = Field(None, min_length=1, description="A host name: it and its subdomains.")
    match: str | None = Field(None, description="A regex searched in the URL.")
    mode: RenderMode | None = Field(None, description="never, auto or always for these pages.")
    wait_for: str | None = Field(
        None, min_length=1, description="A CSS selector to wait for on these pages."
    )

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return url_pattern(value)

    @model_validator(mode="after")
    def _says_where(self) -> RenderRule:
        if self.host is None and self.match is None:
            raise ValueError("a render rule needs host or match (or both)")
        return self


class RenderSettings(Section):
    """Rendering pages in Chromium through Playwright (``pip install 'parcrawl[render]'``)."""

    mode: RenderMode = Field(
        "never",
        description="Render pages in Chromium: never, auto (only pages built by script, "
        "learned per host), always.",
    )
    concurrency: int = Field(2, ge=1, le=32, description="Pages rendered at once.")
    timeout_s: float = Field(
        15.0, gt=0, description="Time to render one page; past it: a render_timeout record."
    )
    wait: RenderWait = Field(
        "networkidle",
        description="Wait for the load event ('load'), or then for network idle "
        "('networkidle', up to idle_cap_s).",
    )
    idle_cap_s: float = Field(
        3.0, ge=0, description="Longest wait for network idle after the load event."
    )
    wait_for: str | None = Field(
        None, min_length=1, description="A CSS selector to wait for on every rendered page."
    )
    rules: list[RenderRule] = Field(
        default_factory=list, description="mode and wait_for per host or URL regex."
    )
    pages_per_context: int = Field(
        50, ge=1, description="A browser context is replaced after this many pages."
    )
    memory_limit: Size = Field(
        1024**3,
        ge=64 * 1024**2,
        description=f"The browser (all its processes) is restarted past this: {SIZE_FORMS}.",
    )
    page_heap: Size = Field(
        256 * 1024**2,
        ge=16 * 1024**2,
        description="A page's script heap at most; past it the tab crashes: render_crash.",
    )
    block: list[str] = Field(
        default_factory=lambda: list(BLOCKED_BY_DEFAULT),
        description="Resource types not downloaded (image, media, font, stylesheet, ...).",
    )
    allow_origins: list[str] = Field(
        default_factory=list,
        description="Other origins a page's requests may reach (default: its own only).",
    )
    max_requests: int = Field(
        100, ge=0, description="Requests one page may make; the rest are blocked."
    )
    browser: str | None = Field(
        None,
        min_length=1,
        description="Path to Chromium (default: chromium, chromium-browser, google-chrome "
        "or google-chrome-stable on PATH).",
    )
    sample: int = Field(
        3,
        ge=1,
        le=1_000,
        description="Auto mode: a host's pages that look built by script, rendered and "
        "compared with their HTML: all gain, every page is rendered; none, none is.",
    )
    probe: int = Field(
        0,
        ge=0,
        le=1_000,
        description="Auto mode: a host's pages that look static, rendered beside the crawl "
        "to check the guess: one that gains sends every page to the browser (0: none).",
    )
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How much lower the browser's CPU priority is than the crawl's (Unix "
        "nice): renders use the CPU the crawl leaves; 0: the same priority.",
    )

    @field_validator("block")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        for kind in value:
            if kind not in RESOURCE_TYPES:
                raise ValueError(f"not a resource type: {kind!r} ({', '.join(RESOURCE_TYPES)})")
        return value

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path
                not in (
                    "",
                    "/",
                )
            ):
                raise ValueError(f"not an origin: {origin!r} (scheme://host[:port])")
        return value


class RenderChoice(NamedTuple):
    """What a URL gets: its render mode and the selector to wait for (``None``: none)."""

    mode: RenderMode
    wait_for: str | None


class RenderRules:
    """The ``[render]`` section asked per URL: its mode and wait_for, with the rules that
    match the URL over them in order (a later rule over an earlier; a rule's unset key
    leaves the value as it was)."""

    def __init__(self, settings: RenderSettings) -> None:
        self._default = RenderChoice(settings.mode, settings.wait_for)
        self._rules = [_matcher(rule) for rule in settings.rules]

    @property
    def renders(self) -> bool:
        """Whether any URL may be rendered: the section's mode, or a rule's, is not never."""
        return self._default.mode != "never" or any(
            rule.mode not in (None, "never") for rule, _ in self._rules
        )

    def choice(self, url: str) -> RenderChoice:
        """The mode and selector for ``url``."""
        if not self._rules:
            return self._default
        mode, wait_for = self._default
        for rule, applies in self._rules:
            if applies(url):
                mode = rule.mode or mode
                wait_for = rule.wait_for or wait_for
        return RenderChoice(mode, wait_for)


def _matcher(rule: RenderRule) -> tuple[RenderRule, Callable[[str], bool]]:
    host = None if rule.host is None else ascii_host(rule.host)
    search = None if rule.match is None else re.compile(rule.match).search

    def applies(url: str) -> bool:
        if host is not None:
            try:
                url_host = ascii_host(urlsplit(url).hostname or "")
            except ValueError:
                return False
            if url_host != host and not url_host.endswith("." + host):
                return False
        return search is None or search(url) is not None

    return rule, applies
