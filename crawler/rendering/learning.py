"""Which fetched pages go to the browser: the crawl's render mode, the rules per URL and, in
``auto`` mode, what each host has shown so far (a sample rendered, then a verdict).

It decides and learns; it does not render (``crawler.render``'s pool does) and does not say
why a page looks built by script (``crawler.rendering.detect`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crawler.frontier.recent import RecentlyUsed
from crawler.models import FetchResult, media_type
from crawler.rendering.detect import LITTLE, NOSCRIPT, PageShape, script_built
from crawler.settings import RenderRules, RenderSettings
from crawler.urls import host_key

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

PROBE = "probe"
ALWAYS = "always"
NEVER = "never"
RULE = "rule"
HOST_DYNAMIC = "host_dynamic"
HOST_STATIC = "host_static"
STATIC_HTML = "static_html"
NOT_HTML = "not_html"
NOT_OK = "not_ok"

TEXT_GAIN = 200
"""Characters of visible text a render must add (and a fifth more than the page had) to
count as adding: a date or a cookie notice filled in by script is not the page."""

LINK_GAIN = 3
"""New links a render must add to count as adding (one is enough on a page that had none)."""

WEAK_SIGNS = frozenset({NOSCRIPT, LITTLE})
"""What the detector says of a page that may just hold a widget built by script (a search
box, a map) or be a stub: on a host whose first pages looked static, not worth a browser.
An empty application root or framework markers say the page itself is the script's."""

LEARNED_HOSTS = 10_000
"""Hosts whose learning is kept, those last decided: a crawl of a list over millions of
hosts keeps its memory flat. A host forgotten learns again if it comes back (at most
``sample`` renders more)."""

LEARNING = "learning"
STATIC = "static"
DYNAMIC = "dynamic"
MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to render a page, why (its record's ``render_reason``) and what to wait for.

    ``learn``: what the render adds teaches the host's verdict: a flagged page of the
    host's sample (rendered for its record), or a probe (a page that looks static,
    rendered beside the crawl only to check the guess: its record is the page as fetched).
    """

    render: bool
    reason: str
    wait_for: str | None = None
    learn: bool = False

    @property
    def probe(self) -> bool:
        """Render beside the crawl, to learn only: the record is the page as fetched."""
        return self.learn and not self.render


@dataclass(slots=True)
class _Host:
    """What one host has shown: renders handed out to learn, their outcomes, the verdict."""

    sampled: int = 0
    probed: int = 0
    opening: list[bool] = field(default_factory=list)
    """Whether the detector flagged each of the host's first pages (``sample`` of them)."""
    looked_static: int = 0
    """Pages the detector passed as static, so far."""
    outcomes: list[bool | None] = field(default_factory=list)
    verdict: str = LEARNING


def adds(static: PageShape, rendered: PageShape) -> bool:
    """True when a rendered page holds more than its static HTML: more text, or new links.

    Compared loosely, never byte for byte: a render that only fills in a date, a cookie
    banner or a button's label adds nothing a crawl wants.
    """
    gain = rendered.text - static.text
    if gain >= TEXT_GAIN and gain >= static.text // 5:
        return True
    new_links = len(rendered.links - static.links)
    return new_links >= LINK_GAIN or (new_links > 0 and not static.links)


class RenderPolicy:
    """Decides, page by page, whether to render; in ``auto`` mode it learns per host.

    ``auto``: a page is rendered when the detector says it looks built by script; a
    host's first ``sample`` such renders are compared with their static HTML. All added
    text or links, and none of the host's pages looked static: an application, every page
    of it goes to the browser (``host_dynamic``). None added: the host is rendered no more
    (``host_static``). Otherwise the detector decides page by page. A render that failed
    teaches nothing.

    A host whose first ``sample`` pages looked static is taken for a static site: a page
    of it with only a weak sign (a ``<noscript>`` asking for JavaScript, little text) is
    a widget's page (a search page, a map) and is not rendered (``host_static``); an
    empty application root or framework markers still are. So a static site costs a scan
    of each page's bytes, and no browser starts for it.

    The detector can miss a page built by script. ``probe`` (off by default) renders a
    host's first pages that look static beside the crawl, their records the pages as
    fetched: one that gains text or links sends the host's every page to the browser.

    Args:
        settings: the ``[render]`` section (mode, sample, probe, rules).
        detect: says why a static page looks built by script, or None.
        max_hosts: hosts whose learning is kept (``LEARNED_HOSTS``).
    """

    def __init__(
        self,
        settings: RenderSettings,
        *,
        detect: Callable[[bytes], str | None] = script_built,
        max_hosts: int = LEARNED_HOSTS,
    ) -> None:
        self._mode = settings.mode
        self._rules = RenderRules(settings)
        self._sample = settings.sample
        self._probes = settings.probe
        self._detect = detect
        self._hosts: RecentlyUsed[_Host] = RecentlyUsed(max_hosts)

    def decide(self, result: FetchResult) -> Decision:
        """Whether to render ``result``'s page, and why (never raises for a page's bytes)."""
        if not result.parseable or media_type(result.content_type) not in HTML_TYPES:
            return Decision(False, NOT_HTML)
        if result.status != 200:
            return Decision(False, NOT_OK)
        url = result.final_url
        mode, wait_for = self._rules.choice(url)
        ruled = mode != self._mode
        if mode == ALWAYS:
            return Decision(True, RULE if ruled else ALWAYS, wait_for)
        if mode == NEVER:
            return Decision(False, RULE if ruled else NEVER)
        host = self._hosts.used(host_key(url), _Host)
        if host.verdict == DYNAMIC:
            return Decision(True, HOST_DYNAMIC, wait_for)
        if host.verdict == STATIC:
            return Decision(False, HOST_STATIC)
        learning = host.verdict == LEARNING
        reason = self._detect(result.body)
        if len(host.opening) < self._sample:
            host.opening.append(reason is not None)
        if reason is not None:
            opened_static = len(host.opening) == self._sample and not any(host.opening)
            if reason in WEAK_SIGNS and opened_static:
                return Decision(False, HOST_STATIC)
            sample = learning and host.sampled < self._sample
            host.sampled += sample
            return Decision(True, reason, wait_for, sample)
        host.looked_static += 1
        if learning and host.probed < self._probes:
            host.probed += 1
            return Decision(False, PROBE, wait_for, learn=True)
        return Decision(False, STATIC_HTML)

    def forgo(self, url: str, decision: Decision) -> None:
        """A probe that could not be rendered (too many at once): a later page probes."""
        host = self._hosts.get(host_key(url))
        if host is not None and decision.probe:
            host.probed -= 1

    def learn(self, url: str, decision: Decision, added: bool | None) -> None:
        """What a render ``decision`` led to: it ``added`` to the static page or not; None:
        the render failed."""
        host = self._hosts.get(host_key(url))
        if host is None or not decision.learn:
            return
        if decision.probe:  # the detector missed a page built by script: it will again
            if added:
                host.verdict = DYNAMIC
            return
        host.outcomes.append(added)
        if len(host.outcomes) >= self._sample and host.verdict == LEARNING:
            host.verdict = _verdict(host.outcomes, static_pages=host.looked_static)

    def verdict(self, url: str) -> str:
        """What auto mode has learnt of ``url``'s host: learning, static, dynamic or mixed."""
        host = self._hosts.get(host_key(url))
        return host.verdict if host is not None else LEARNING


def _verdict(outcomes: list[bool | None], *, static_pages: int) -> str:
    """The host's verdict from its sample's ``outcomes`` and the pages of it that looked
    static so far: flagged pages that gain only say the guess is right, so a host goes
    straight to the browser only when none of its pages looked static (an application)."""
    known = [added for added in outcomes if added is not None]
    if known and all(known):
        return DYNAMIC if static_pages == 0 else MIXED
    if known and not any(known):
        return STATIC
    return MIXED
