"""Tests for crawler.seeds.seeder: a site's sitemaps never send the crawl to another site.

Each test serves the crawled site and "other" sites on real loopback sockets (another
address, another port of the same address) that count what they receive.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support.crawling import run_crawl
from tests.support.routes import Reply, Route, RouteServer, page

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def urlset(*locs: str) -> str:
    entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return f'<?xml version="1.0"?><urlset xmlns="{NS}">{entries}</urlset>'


def sitemap_index(*locs: str) -> str:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex xmlns="{NS}">{entries}</sitemapindex>'


def xml(text: str) -> Route:
    return page(text, content_type="application/xml")


def moved(target: str) -> Route:
    reply = Reply(status=301, headers={"Location": target})
    return lambda _path: reply


def other_site() -> RouteServer:
    """A site that would gladly serve robots.txt, a sitemap and pages: if it were asked."""
    server = RouteServer()
    server.routes.update(
        {
            "/robots.txt": page("User-agent: *\nAllow: /\n", content_type="text/plain"),
            "/sitemap.xml": xml(urlset("/page")),
            "/page": page("<title>other</title>"),
        }
    )
    return server


@pytest.fixture
def others() -> Iterator[tuple[RouteServer, RouteServer]]:
    """Another host (127.0.0.2) and another port of the crawled site's host."""
    with ExitStack() as stack:
        other_host = stack.enter_context(RouteServer(host="127.0.0.2"))
        other_port = stack.enter_context(RouteServer())
        for server in (other_host, other_port):
            server.routes.update(other_site().routes)
        yield other_host, other_port


@pytest.mark.parametrize("follow", [False, True])
async def test_sitemaps_never_make_the_crawl_request_another_site(
    others: tuple[RouteServer, RouteServer], follow: bool
) -> None:
    other_host, other_port = others
    elsewhere = [server.url("/sitemap.xml") for server in others]
    with RouteServer() as site:
        site.routes.update(
            {
                # robots.txt names the site's own index and another host's sitemap.
                "/robots.txt": page(
                    f"Sitemap: {site.url('/index.xml')}\nSitemap: {elsewhere[0]}\n",
                    content_type="text/plain",
                ),
                # The index lists its own child, another port's sitemap, and its own URL
                # that redirects to another host's sitemap.
                "/index.xml": xml(
                    sitemap_index(site.url("/child.xml"), elsewhere[1], site.url("/moved.xml"))
                ),
                "/moved.xml": moved(elsewhere[0]),
                # The child lists a page of the site, pages of the others, and a page of the
                # site that redirects to another host.
                "/child.xml": xml(
                    urlset(
                        site.url("/listed"),
                        other_host.url("/page"),
                        other_port.url("/page"),
                        site.url("/hop"),
                    )
                ),
                "/": page("<title>home</title>"),
                "/listed": page("<title>listed</title>"),
                "/hop": moved(other_host.url("/page")),
            }
        )
        records, stats = await run_crawl([site.url("/")], sitemaps=True, follow=follow, workers=0)

    assert other_host.requests == []
    assert other_port.requests == []
    outcomes = {r["url"]: r["title"] or r["error"]["code"] for r in records}
    assert outcomes == {
        site.url("/"): "home",
        site.url("/listed"): "listed",
        site.url("/hop"): "redirect_out_of_scope",
    }
    # Refused sitemaps: the other host's Sitemap: line, the other port's, the redirected one.
    assert stats.sitemap_errors == 3
    assert stats.skipped["offsite"] == 2  # the two pages of the other sites
    assert stats.sitemap_urls == 2


async def test_a_refused_sitemap_is_named_with_why_in_the_log(
    others: tuple[RouteServer, RouteServer], caplog: pytest.LogCaptureFixture
) -> None:
    other_host, _ = others
    with RouteServer() as site:
        site.routes["/robots.txt"] = page(
            f"Sitemap: {other_host.url('/sitemap.xml')}\n", content_type="text/plain"
        )
        site.routes["/"] = page("<title>home</title>")
        await run_crawl([site.url("/")], sitemaps=True, workers=0)

    assert other_host.requests == []
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"sitemap {other_host.url('/sitemap.xml')} skipped: "
        f"not on the site of {site.base_url}: not fetched"
    ]
