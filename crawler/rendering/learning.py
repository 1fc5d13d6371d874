"""Which fetched pages go to the browser: the crawl's render mode, the rules per URL and, in
``auto`` mode, what each host has shown so far (a sample rendered, then a verdict).

It decides and learns; it does not render (``crawler.render``'s pool does) and does not say
why a page looks built by script (``crawler.rendering.detect`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crawler.models import FetchResult, media_type
from crawler.rendering.detect import PageShape, script_built
from crawler.settings import RenderRules, RenderSettings
from crawler.urls import host_key

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

SAMPLE = "sample"
ALWAYS = "always"
NEVER = "never"
RULE = "rule"
HOST_DYNAMIC = "host_dynamic"
HOST_STATIC = "host_static"
STATIC_HTML = "static_html"
NOT_HTML = "not_html"
NOT_OK = "not_ok"

QUIET_AFTER = 3
"""On a host found static: flagged pages in a row whose render added nothing, after which
the host's pages are no longer rendered at all (``host_static``)."""

TEXT_GAIN = 200
"""Characters of visible text a render must add (and a fifth more than the page had) to
count as adding: a date or a cookie notice filled in by script is not the page."""

LINK_GAIN = 3
"""New links a render must add to count as adding (one is enough on a page that had none)."""

LEARNING = "learning"
STATIC = "static"
DYNAMIC = "dynamic"
MIXED = "mixed"
QUIET = "quiet"


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to render a page, why (its record's ``render_reason``) and what to wait for.

    ``sample``: the page is one of its host's learning sample: what its render adds
    decides the host's verdict. A sample page not rendered for its record is a probe: it
    goes on as fetched, and is rendered beside the crawl only to learn from.
    """

    render: bool
    reason: str
    wait_for: str | None = None
    sample: bool = False

    @property
    def probe(self) -> bool:
        """Render beside the crawl, to learn only: the record is the page as fetched."""
        return self.sample and not self.render


@dataclass(slots=True)
class _Host:
    """What one host has shown: sample renders handed out and their outcomes, the verdict."""

    sampled: int = 0
    outcomes: list[bool | None] = field(default_factory=list)
    verdict: str = LEARNING
    idle_streak: int = 0


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

    ``auto``: a host's first ``sample`` HTML pages are rendered and compared with their
    static HTML. Those the detector flags are rendered for their records (its reason); the
    others are probes (``sample``): their records are the pages as fetched, and they are
    rendered beside the crawl only to learn from, so that learning never holds the crawl
    back (the frontier goes one level deeper only once a level is done). None added
    anything: the host is static, and only pages the detector flags are rendered, until
    ``QUIET_AFTER`` of them in a row add nothing: then none is (``host_static``). All
    added: every page of the host is rendered (``host_dynamic``). Some did: the detector
    decides page by page (its reason, or ``static_html``). A render that failed teaches
    nothing.

    Args:
        settings: the ``[render]`` section (mode, sample, rules).
        detect: says why a static page looks built by script, or None.
    """

    def __init__(
        self,
        settings: RenderSettings,
        *,
        detect: Callable[[bytes], str | None] = script_built,
    ) -> None:
        self._mode = settings.mode
        self._rules = RenderRules(settings)
        self._sample = settings.sample
        self._detect = detect
        self._hosts: dict[str, _Host] = {}

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
        host = self._hosts.setdefault(host_key(url), _Host())
        if host.verdict == DYNAMIC:
            return Decision(True, HOST_DYNAMIC, wait_for)
        if host.verdict == QUIET:
            return Decision(False, HOST_STATIC)
        reason = self._detect(result.body)
        sample = host.verdict == LEARNING and host.sampled < self._sample
        if sample:
            host.sampled += 1
        if reason is None:
            return Decision(False, SAMPLE if sample else STATIC_HTML, wait_for, sample)
        return Decision(True, reason, wait_for, sample)

    def forgo(self, url: str, decision: Decision) -> None:
        """A probe that could not be rendered (too many at once): a later page samples."""
        host = self._hosts.get(host_key(url))
        if host is not None and decision.sample and host.verdict == LEARNING:
            host.sampled -= 1

    def learns_from(self, decision: Decision) -> bool:
        """True when the render of this decision teaches the host's verdict something: it
        is then worth comparing with the static page."""
        return decision.sample or (
            decision.render and decision.reason not in (ALWAYS, RULE, HOST_DYNAMIC)
        )

    def learn(self, url: str, decision: Decision, added: bool | None) -> None:
        """What a render ``decision`` led to: it ``added`` to the static page or not; None:
        the render failed."""
        host = self._hosts.get(host_key(url))
        if host is None or not self.learns_from(decision):
            return
        if decision.sample:
            host.outcomes.append(added)
            if len(host.outcomes) >= self._sample and host.verdict == LEARNING:
                host.verdict = _verdict(host.outcomes)
            return
        if host.verdict != STATIC or added is None:
            return
        host.idle_streak = 0 if added else host.idle_streak + 1
        if host.idle_streak >= QUIET_AFTER:
            host.verdict = QUIET

    def verdict(self, url: str) -> str:
        """What auto mode has learnt of ``url``'s host: learning, static, dynamic, mixed, or
        quiet (static, and its flagged pages added nothing either)."""
        host = self._hosts.get(host_key(url))
        return host.verdict if host is not None else LEARNING


def _verdict(outcomes: list[bool | None]) -> str:
    known = [added for added in outcomes if added is not None]
    if known and all(known):
        return DYNAMIC
    if known and not any(known):
        return STATIC
    return MIXED
