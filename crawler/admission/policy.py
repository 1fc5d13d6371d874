"""Admission: which URLs a crawl may fetch, at each of the three doors a URL comes through.

Links found on pages (scope), each request as its turn comes (robots.txt), and each redirect
hop (scope, robots.txt, already crawled). It counts and optionally logs every refusal; it
does not queue or fetch anything itself.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from crawler.admission.addresses import AddressGuard
from crawler.admission.robots import ROBOTS_HOSTS, RobotsCache, RobotsVerdict
from crawler.admission.scope import Scope, Skip, site_key
from crawler.errors import InvalidUrl
from crawler.frontier import Frontier, Turn
from crawler.frontier.recent import RecentKeys
from crawler.models import FetchFailure, FetchRequest, Record
from crawler.urls import as_request_url, url_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Admission's answer for one request: fetch it, skip it, or record why it was not fetched.

    ``skip`` is the reason code of a silent refusal (counted in ``Admission.skipped``, no
    record); ``failure`` is the error a record carries instead of a fetch. At most one is set.
    """

    failure: FetchFailure | None = None
    skip: str | None = None

    @property
    def fetch(self) -> bool:
        """True when the request may be fetched."""
        return self.failure is None and self.skip is None


FETCH = Verdict()


class Admission:
    """Decides for the engine; ``skipped`` counts refusals by reason code.

    Args:
        scope: link rules; None for a URL-list crawl, where seeds are taken as given and
            redirects may go anywhere.
        robots: the robots.txt cache; None when robots.txt is ignored.
        frontier: for the seen set (a redirect to an already-crawled URL stops there) and
            to apply a host's Crawl-delay.
        log_skipped: log every refused URL with its reason.
    """

    def __init__(
        self,
        *,
        scope: Scope | None,
        robots: RobotsCache | None,
        frontier: Frontier,
        guard: AddressGuard | None = None,
        log_skipped: bool = False,
        strip: Callable[[str], str] | None = None,
    ) -> None:
        self._scope = scope
        self._strip = strip  # drops strip_params from links, as the fetcher does from seeds
        self._guard = guard
        self._robots = robots
        self._frontier = frontier
        self._log_skipped = log_skipped
        # Bounded: forgetting a host only reads its Crawl-delay again (applied twice: harmless)
        self._delay_known = RecentKeys(ROBOTS_HOSTS)
        # Redirect targets each request in progress marked seen, so that its retry may
        # follow its own chain again (only requests that were redirected are here).
        self._reached: dict[str, set[bytes]] = {}
        self.skipped: Counter[str] = Counter()

    @property
    def follows_links(self) -> bool:
        """True for a site crawl: links found on pages are queued."""
        return self._scope is not None

    def add_seed(self, url: str) -> None:
        """A seed's host is in scope by default (and a private seed allows private hosts)."""
        if self._scope is not None:
            self._scope.add_seed(url)
        if self._guard is not None:
            self._guard.note_seed(url)

    def sitemap_page_in_scope(self, url: str, site: str) -> bool:
        """A page a sitemap of ``site`` lists must be in scope like a link; on that site
        (``site_key``) when the crawl follows no links and so has no scope of its own.
        """
        if self._scope is None:
            return self._admit(None if site_key(url) == site else Skip.OFFSITE, url)
        return self._admit(self._scope.check(url, 0), url)

    def links_to_follow(self, records: Iterable[Record]) -> list[FetchRequest]:
        """The in-scope links of ``records``, as requests one hop deeper."""
        scope = self._scope
        if scope is None:
            return []
        requests = []
        for record in records:
            links = record["links"]
            if not links:
                continue
            depth = record["depth"] + 1
            referrer = record["url"]
            for link in links:
                try:  # a custom parse or step may hand back anything as a link
                    url = as_request_url(link)
                    if self._strip is not None:
                        url = self._strip(url)
                    reason = scope.check(url, depth)
                except (InvalidUrl, TypeError, AttributeError):
                    self._skip("invalid_url", str(link)[:200])
                    continue
                if reason is None:
                    requests.append(FetchRequest(url, depth, referrer))
                else:
                    self._skip(reason, url)
        return requests

    async def may_fetch(self, request: FetchRequest) -> Verdict:
        """Whether ``request`` may be fetched now (fetching robots.txt first if needed).

        A link robots.txt forbids is skipped and counted. A URL the user listed (a seed, a
        URL-list line) gets a ``robots_disallowed`` record instead, and so does every URL of
        a host whose robots.txt could not be read (off limits for now, not by its rules).
        """
        if self._guard is not None and (reason := self._guard.refusal(request.url)):
            return Verdict(FetchFailure("private_address", reason))
        robots = self._robots
        if robots is None:
            return FETCH
        verdict = await robots.verdict(request.url)
        if verdict is RobotsVerdict.DISALLOWED:
            if _asked_for(request):
                self._log_skip("robots", request.url)
                return Verdict(FetchFailure("robots_disallowed", "robots.txt disallows it"))
            self._skip("robots", request.url)
            return Verdict(skip="robots")
        if verdict is RobotsVerdict.UNAVAILABLE:
            code, reason = await robots.unavailable_reason(request.url)
            where = robots.robots_url(request.url)
            message = f"{where} could not be fetched ({reason}): host not crawled"
            return Verdict(FetchFailure(code, message))
        await self._apply_crawl_delay(robots, request.url)
        return FETCH

    async def vet_redirect(self, request: FetchRequest, target: str) -> FetchFailure | None:
        """None when the redirect from ``request`` to ``target`` may be followed."""
        if self._guard is not None and (reason := self._guard.refusal(target)):
            return FetchFailure("private_address", f"redirect to {target}: {reason}")
        if (skip := self._redirect_skip(request, target)) is not None:
            return FetchFailure("redirect_out_of_scope", f"redirect to {target}: {skip}")
        if self._robots is not None:
            verdict = await self._robots.verdict(target)
            if verdict is RobotsVerdict.DISALLOWED:
                return FetchFailure("robots_disallowed", f"redirect to {target}: robots.txt")
            if verdict is RobotsVerdict.UNAVAILABLE:
                code, reason = await self._robots.unavailable_reason(target)
                where = self._robots.robots_url(target)
                return FetchFailure(code, f"redirect to {target}: {where} unreadable ({reason})")
        key = url_key(target)
        reached = self._reached.get(request.url)
        if reached is not None and key in reached:
            return None  # an earlier attempt of this very request got here: not a duplicate
        if not await self._frontier.mark_seen(target):
            return FetchFailure("duplicate", f"redirect to {target}, crawled already")
        self._reached.setdefault(request.url, set()).add(key)
        return None

    def _redirect_skip(self, request: FetchRequest, target: str) -> Skip | None:
        if self._scope is not None:
            return self._scope.check(target, request.depth)
        # Without a scope (no --follow) a URL the user listed may be redirected anywhere, but
        # a sitemap's page (the only other kind then) stays on its site, as its sitemap did.
        if not _asked_for(request) and site_key(target) != site_key(request.url):
            return Skip.OFFSITE
        return None

    def settled(self, request: FetchRequest) -> None:
        """``request`` will not be attempted again: forget where its redirects led."""
        if self._reached:
            self._reached.pop(request.url, None)

    def _admit(self, reason: str | None, url: str) -> bool:
        if reason is None:
            return True
        self._skip(reason, url)
        return False

    def _skip(self, reason: str, url: str) -> None:
        self.skipped[str(reason)] += 1
        self._log_skip(reason, url)

    def _log_skip(self, reason: str, url: str) -> None:
        if self._log_skipped:
            log.warning("skipped %s: %s", url, reason)

    async def wait_turn(self, url: str) -> Turn:
        """Wait until a request to ``url``'s host may start (delay, Crawl-delay, holds).

        For pages, their redirect hops and sitemaps. A redirect or a sitemap may lead to a
        host not contacted yet: its Crawl-delay is read first. (robots.txt itself goes
        straight to the frontier's gate: it is what this would wait for.)
        """
        if self._robots is not None:
            await self._apply_crawl_delay(self._robots, url)
        return await self._frontier.wait_turn(url)

    async def _apply_crawl_delay(self, robots: RobotsCache, url: str) -> None:
        key = robots.robots_url(url).encode()
        if key in self._delay_known:
            return
        delay_s = await robots.crawl_delay_s(url)
        if await robots.verdict(url) is RobotsVerdict.UNAVAILABLE:
            return  # no Crawl-delay to read yet: ask again once robots.txt is fetched again
        # Known only once applied: a caller arriving while robots.txt is still being
        # fetched must not go ahead of the Crawl-delay. Applying it twice is harmless.
        self._delay_known.add(key)
        if delay_s:
            await self._frontier.set_delay(url, delay_s)


def _asked_for(request: FetchRequest) -> bool:
    """True for a seed or URL-list line (not a link, not a sitemap entry)."""
    return request.depth == 0 and request.referrer is None
