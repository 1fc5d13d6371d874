"""Scope in a real site crawl: an http->https upgrade stays on the site, another port does not.

TLS cannot be served on loopback without certificates, so that site is mocked with respx;
the others are real loopback servers that count what they receive.
"""

from __future__ import annotations

import pytest
import respx

from tests.support.crawling import run_crawl
from tests.support.routes import RouteServer, page


async def test_an_http_seed_upgraded_to_https_crawls_its_https_site_and_no_other_port():
    with respx.mock(assert_all_called=False) as router:
        for origin in ("http://site.test", "https://site.test", "https://site.test:8443"):
            router.get(f"{origin}/robots.txt").respond(404)
        router.get("http://site.test/").respond(301, headers={"Location": "https://site.test/"})
        router.get("https://site.test/").respond(
            200,
            html="<a href='/docs'>docs</a> <a href='http://site.test/old'>an old link</a>"
            " <a href='https://site.test:8443/admin'>another port</a>",
        )
        router.get("https://site.test/docs").respond(200, html="<title>docs</title>")
        router.get("http://site.test/old").respond(
            301, headers={"Location": "https://site.test/new"}
        )
        router.get("https://site.test/new").respond(200, html="<title>new</title>")
        other_port = router.get("https://site.test:8443/admin").respond(200, html="admin")
        records, stats = await run_crawl(["http://site.test/"], follow=True, workers=0)

    finals = {r["url"]: (r["final_url"], r["error"]) for r in records}
    assert finals == {
        "http://site.test/": ("https://site.test/", None),
        "https://site.test/docs": ("https://site.test/docs", None),
        "http://site.test/old": ("https://site.test/new", None),
    }
    assert not other_port.called
    assert stats.skipped["offsite"] == 1


@pytest.mark.slow
async def test_a_followed_link_to_another_port_of_the_seed_host_is_not_crawled():
    with RouteServer({"/page": page("other")}) as other_port, RouteServer() as site:
        site.routes["/"] = page(
            f"<a href='{other_port.url('/page')}'>other port</a><a href='/own'>own</a>"
        )
        site.routes["/own"] = page("<title>own</title>")
        records, stats = await run_crawl([site.url("/")], follow=True, workers=0)

    assert other_port.requests == []
    assert {r["url"] for r in records} == {site.url("/"), site.url("/own")}
    assert stats.skipped["offsite"] == 1


async def test_an_allow_domain_with_a_port_adds_that_port_to_the_crawl():
    with RouteServer({"/page": page("other")}) as other_port, RouteServer() as site:
        site.routes["/"] = page(f"<a href='{other_port.url('/page')}'>other port</a>")
        records, _ = await run_crawl(
            [site.url("/")],
            follow=True,
            scope={"allow_domains": [other_port.base_url.removeprefix("http://")]},
            workers=0,
        )

    assert {r["url"] for r in records} == {site.url("/"), other_port.url("/page")}
