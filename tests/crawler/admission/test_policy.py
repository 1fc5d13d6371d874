"""Tests for crawler.admission.policy: the verdict at each door a URL comes through (links,
its turn to be fetched, each redirect hop), and the refusals it counts."""

from __future__ import annotations

import asyncio
from typing import Any

from crawler.admission import AddressGuard, Admission, RobotsCache, RobotsResponse, Scope
from crawler.frontier import LocalFrontier
from crawler.models import FetchRequest, Record
from crawler.settings import RobotsSettings, ScopeSettings

ROBOTS = b"User-agent: *\nDisallow: /private\nCrawl-delay: 2\n"


class Robots:
    """A robots.txt fetch answering ``status`` and ``body`` for every host."""

    def __init__(self, status: int | None = 200, body: bytes = ROBOTS) -> None:
        self.status = status
        self.body = body
        self.calls: list[str] = []

    async def __call__(self, url: str) -> RobotsResponse:
        self.calls.append(url)
        error = ("connect", "refused") if self.status is None else None
        return RobotsResponse(self.status, self.body, error)


def admission(
    *,
    robots: Robots | None = None,
    scope: dict[str, Any] | None = None,
    frontier: LocalFrontier | None = None,
    seeds: tuple[str, ...] = ("http://a.test/",),
    guard: AddressGuard | None = None,
) -> Admission:
    cache = (
        RobotsCache(robots, user_agent="parcrawl", settings=RobotsSettings())
        if robots is not None
        else None
    )
    made = Admission(
        scope=Scope(ScopeSettings(**scope)) if scope is not None else None,
        robots=cache,
        frontier=frontier or LocalFrontier(per_host=2),
        guard=guard,
    )
    for seed in seeds:
        made.add_seed(seed)
    return made


def page(url: str, links: list[str], depth: int = 0) -> Record:
    return Record(url=url, links=links, depth=depth)  # type: ignore[typeddict-item]


async def test_a_url_robots_txt_allows_may_be_fetched() -> None:
    verdict = await admission(robots=Robots()).may_fetch(FetchRequest("http://a.test/page"))
    assert verdict.fetch
    assert verdict.failure is None


async def test_a_link_robots_txt_forbids_is_skipped_and_counted_without_a_record() -> None:
    policy = admission(robots=Robots())
    link = FetchRequest("http://a.test/private/x", depth=1, referrer="http://a.test/")
    verdict = await policy.may_fetch(link)
    assert not verdict.fetch
    assert verdict.skip == "robots"
    assert verdict.failure is None
    assert policy.skipped == {"robots": 1}


async def test_a_url_the_user_listed_that_robots_txt_forbids_gets_a_record_saying_so() -> None:
    policy = admission(robots=Robots())
    verdict = await policy.may_fetch(FetchRequest("http://a.test/private/listed"))
    assert verdict.failure is not None
    assert verdict.failure.code == "robots_disallowed"
    assert verdict.skip is None
    assert policy.skipped == {}


async def test_an_unreadable_robots_txt_keeps_the_host_off_limits_with_the_reason() -> None:
    verdict = await admission(robots=Robots(status=None)).may_fetch(
        FetchRequest("http://a.test/page")
    )
    assert verdict.failure is not None
    assert verdict.failure.code == "connect"
    assert "http://a.test/robots.txt could not be fetched" in verdict.failure.message


async def test_a_private_address_is_refused_before_robots_txt_is_asked() -> None:
    robots = Robots()
    guard = AddressGuard()
    policy = admission(robots=robots, guard=guard, seeds=("http://public.example/",))
    verdict = await policy.may_fetch(FetchRequest("http://127.0.0.1/"))
    assert verdict.failure is not None
    assert verdict.failure.code == "private_address"
    assert robots.calls == []


async def test_without_robots_txt_every_url_may_be_fetched() -> None:
    assert (await admission().may_fetch(FetchRequest("http://a.test/private/x"))).fetch


def test_links_in_scope_become_requests_one_hop_deeper_and_the_rest_are_counted() -> None:
    policy = admission(scope={})
    links = ["http://a.test/next", "http://elsewhere.test/", "mailto:someone@a.test", 7]
    requests = policy.links_to_follow([page("http://a.test/", links, depth=1)])  # type: ignore[list-item]
    assert requests == [FetchRequest("http://a.test/next", 2, "http://a.test/")]
    assert policy.skipped["offsite"] == 1
    assert sum(policy.skipped.values()) == 3


def test_a_url_list_crawl_follows_no_links() -> None:
    policy = admission()
    assert not policy.follows_links
    assert policy.links_to_follow([page("http://a.test/", ["http://a.test/next"])]) == []


async def test_a_redirect_to_a_url_crawled_already_stops_there_but_a_retry_may_follow_it() -> None:
    frontier = LocalFrontier(per_host=2)
    policy = admission(frontier=frontier)
    first = FetchRequest("http://a.test/old")
    assert await policy.vet_redirect(first, "http://a.test/new") is None
    assert await policy.vet_redirect(first, "http://a.test/new") is None  # its own retry
    other = FetchRequest("http://a.test/also-old")
    duplicate = await policy.vet_redirect(other, "http://a.test/new")
    assert duplicate is not None
    assert duplicate.code == "duplicate"
    policy.settled(first)
    again = await policy.vet_redirect(first, "http://a.test/new")
    assert again is not None  # settled: its redirects are forgotten, the target stays seen
    assert again.code == "duplicate"


async def test_a_redirect_out_of_scope_or_forbidden_by_robots_txt_is_refused() -> None:
    policy = admission(robots=Robots(), scope={})
    request = FetchRequest("http://a.test/")
    offsite = await policy.vet_redirect(request, "http://elsewhere.test/")
    assert offsite is not None
    assert offsite.code == "redirect_out_of_scope"
    private = await policy.vet_redirect(request, "http://a.test/private/x")
    assert private is not None
    assert private.code == "robots_disallowed"


async def test_a_crawl_delay_from_robots_txt_spaces_the_hosts_requests() -> None:
    clock_now = [0.0]
    frontier = LocalFrontier(per_host=2, clock=lambda: clock_now[0])
    policy = admission(robots=Robots(), frontier=frontier)
    assert (await policy.may_fetch(FetchRequest("http://a.test/1"))).fetch
    await (await frontier.wait_turn("http://a.test/1")).sent()
    assert not await _starts_now(frontier, "http://a.test/2")
    clock_now[0] = 3.0  # past 2 s x the jitter's 1.5
    assert await _starts_now(frontier, "http://a.test/2")


async def _starts_now(frontier: LocalFrontier, url: str) -> bool:
    try:
        await asyncio.wait_for(frontier.wait_turn(url), 0.05)
    except TimeoutError:
        return False
    return True
