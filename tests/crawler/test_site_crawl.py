"""Site crawls (--follow) end to end: reachable set, depth, dedup, robots.txt, traps, sitemaps."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter, deque

import httpx
import pytest
import respx

from crawler.demo import SiteServer, SyntheticSite
from tests.support.crawling import run_crawl
from tests.support.routes import Reply, RouteServer, page

NON_HTML_SUFFIXES = (".pdf", ".csv", ".png")


def bfs_depths(site: SyntheticSite, max_depth: int | None = None) -> dict[str, int]:
    """Every path a site crawl from / should fetch, with its link distance from /."""
    depths = {"/": 0}
    queue = deque(["/"])
    while queue:
        path = queue.popleft()
        if max_depth is not None and depths[path] >= max_depth:
            continue
        for target in site.links_of(path):
            if target.endswith(NON_HTML_SUFFIXES) or target in depths:
                continue
            depths[target] = depths[path] + 1
            queue.append(target)
    return depths


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_a_site_crawl_fetches_exactly_the_reachable_pages_once():
    site = SyntheticSite(pages=250, seed=3)
    expected = bfs_depths(site)
    with SiteServer(site) as server:
        records, stats = await run_crawl(
            [server.url("/")], follow=True, workers=2, fetch={"concurrency": 8}
        )
        base = server.base_url
    urls = Counter(r["url"] for r in records)
    assert max(urls.values()) == 1
    assert set(urls) == {base + path for path in expected}
    assert {r["url"]: r["depth"] for r in records} == {
        base + path: depth for path, depth in expected.items()
    }
    assert stats.skipped["extension"] > 0  # the site's PDFs, CSVs and PNGs
    referrers = {r["url"]: r["referrer"] for r in records}
    assert referrers[base + "/"] is None
    assert all(referrers[base + p] for p in expected if p != "/")


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_max_depth_is_exact():
    site = SyntheticSite(pages=400, seed=5)
    expected = bfs_depths(site, max_depth=2)
    assert len(expected) < len(bfs_depths(site))  # the limit really cuts something
    with SiteServer(site) as server:
        records, stats = await run_crawl(
            [server.url("/")], follow=True, scope={"max_depth": 2}, workers=2
        )
        base = server.base_url
    assert {r["url"]: r["depth"] for r in records} == {
        base + path: depth for path, depth in expected.items()
    }
    assert stats.skipped["depth"] > 0


async def test_spellings_of_one_page_and_a_redirect_to_it_are_fetched_once():
    site = "http://site.test"
    home = page(
        "<a href='/p?a=1&b=2'>1</a> <a href='/p?b=2&a=1#top'>2</a>"
        "<a href='http://SITE.test:80/p?a=1&b=2'>3</a> <a href='/old'>4</a>"
    )
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{site}/robots.txt").respond(404)
        router.get(f"{site}/").mock(side_effect=lambda request: _reply(home(request.url.path)))
        target = router.get(url__regex=r"^http://site\.test/p\?").respond(
            200, html="<title>P</title>"
        )
        router.get(f"{site}/old").respond(301, headers={"Location": "/p?b=2&a=1"})
        records, _ = await run_crawl([f"{site}/"], follow=True, workers=0)
    assert target.call_count == 1
    by_url = {r["url"]: r for r in records}
    assert len(records) == 3  # /, /p and /old
    old = by_url[f"{site}/old"]
    if old["error"] is not None:  # /p was crawled first: /old says where it led
        assert old["error"]["code"] == "duplicate"
        assert old["status"] == 301


def _reply(reply: Reply) -> httpx.Response:
    return httpx.Response(
        reply.status, content=reply.body, headers={"content-type": reply.content_type}
    )


async def test_robots_txt_disallowed_paths_are_never_requested():
    routes = {
        "/robots.txt": page("User-agent: *\nDisallow: /private\n", content_type="text/plain"),
        "/": page("<a href='/private/a'>a</a> <a href='/public/b'>b</a> <a href='/private'>c</a>"),
        "/public/b": page("<a href='/private/d'>d</a>"),
        "/private/a": page("secret"),
    }
    with RouteServer(routes) as server:
        records, stats = await run_crawl([server.url("/")], follow=True, workers=0)
        requested = list(server.requests)
    assert not [path for path in requested if path.startswith("/private")]
    assert requested.count("/robots.txt") == 1
    assert sorted(r["url"] for r in records) == [server.url("/"), server.url("/public/b")]
    assert stats.skipped["robots"] == 3


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
async def test_crawl_delay_spaces_requests_to_the_host():
    links = "".join(f"<a href='/p{n}'>{n}</a>" for n in range(4))
    routes = {
        "/robots.txt": page("User-agent: *\nCrawl-delay: 0.4\n", content_type="text/plain"),
        "/": page(links),
        **{f"/p{n}": page(f"<title>{n}</title>") for n in range(4)},
    }
    with RouteServer(routes) as server:
        await run_crawl([server.url("/")], follow=True, workers=0, fetch={"per_host": 4})
        times = [t for t, path in server.request_times if path != "/robots.txt"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 5
    assert min(gaps) >= 0.35  # 0.4 s, less the server's and the clock's slack


@pytest.mark.slow
async def test_a_robots_txt_server_error_blocks_the_host_and_a_404_allows_it():
    blocked = {"/robots.txt": lambda _p: Reply(status=503), "/": page("<a href='/x'>x</a>")}
    with RouteServer(blocked) as server:
        records, _ = await run_crawl([server.url("/")], follow=True, workers=0)
        assert server.requests == ["/robots.txt"]
    assert [r["error"]["code"] for r in records] == ["robots_unavailable"]

    allowed = {"/": page("<a href='/x'>x</a>"), "/x": page("<title>x</title>")}
    with RouteServer(allowed) as server:  # no /robots.txt route: 404
        records, _ = await run_crawl([server.url("/")], follow=True, workers=0)
    assert sorted(r["url"] for r in records) == [server.url("/"), server.url("/x")]


async def test_an_infinite_calendar_ends_with_a_bounded_number_of_pages():
    def calendar(raw_path: str) -> Reply:
        month = int(raw_path.rsplit("=", 1)[1]) if "=" in raw_path else 0
        html = f"<a href='/cal?m={month + 1}'>next</a> <a href='/cal?m={month - 1}'>prev</a>"
        return Reply(body=html.encode())

    with RouteServer({"/cal": calendar}) as server:
        records, stats = await run_crawl(
            [server.url("/cal")],
            follow=True,
            scope={"max_query_variants": 25},
            workers=0,
        )
    assert len(records) == 26  # the seed, then 25 query variants of /cal
    assert stats.skipped["query_variants"] > 0


async def test_max_pages_stops_the_crawl():
    site = SyntheticSite(pages=200)
    with SiteServer(site) as server:
        records, stats = await run_crawl(
            [server.url("/")], follow=True, scope={"max_pages": 30}, workers=2
        )
    assert len(records) == 30
    assert stats.stop_reason == "max_pages"
    assert not stats.interrupted


async def test_a_sitemap_index_with_a_gzipped_child_seeds_the_crawl():
    child = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{base}/only-in-sitemap</loc></url></urlset>"
    )
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{base}/child.xml.gz</loc></sitemap></sitemapindex>"
    )
    routes: dict = {"/": page("<title>home</title>"), "/only-in-sitemap": page("<title>S</title>")}
    with RouteServer(routes) as server:
        base = server.base_url
        routes["/robots.txt"] = page(f"Sitemap: {base}/index.xml\n", content_type="text/plain")
        routes["/index.xml"] = page(index.format(base=base), content_type="application/xml")
        gzipped = gzip.compress(child.format(base=base).encode())
        routes["/child.xml.gz"] = lambda _p: Reply(body=gzipped, content_type="application/gzip")
        server.routes.update(routes)
        records, stats = await run_crawl([server.url("/")], sitemaps=True, workers=0)
    assert sorted(r["title"] for r in records) == ["S", "home"]
    assert stats.sitemap_urls == 1


async def test_a_hostile_sitemap_is_rejected_and_the_crawl_goes_on():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol3;</loc></url>'
        "</urlset>"
    )
    routes = {
        "/": page("<title>home</title>"),
        "/sitemap.xml": page(bomb, content_type="application/xml"),
    }
    with RouteServer(routes) as server:
        records, stats = await run_crawl([server.url("/")], sitemaps=True, workers=0)
    assert [r["title"] for r in records] == ["home"]
    assert stats.sitemap_errors == 1


@pytest.mark.slow
async def test_retry_after_holds_one_host_while_others_go_on():
    calls = Counter()

    def busy(_path: str) -> Reply:
        calls["busy"] += 1
        return Reply(status=429, headers={"Retry-After": "1"}) if calls["busy"] == 1 else Reply()

    with (
        RouteServer({"/busy": busy, "/a": page("a")}) as held,
        RouteServer({f"/b{n}": page("b", delay_s=0.1) for n in range(8)}) as other,
    ):
        urls = [held.url("/busy"), held.url("/a")] + [other.url(f"/b{n}") for n in range(8)]
        records, _ = await run_crawl(urls, workers=0, fetch={"per_host": 1})
        held_times = [t for t, path in held.request_times if path != "/robots.txt"]
        other_times = [t for t, path in other.request_times if path != "/robots.txt"]
    assert len(records) == 10
    assert held_times[1] - held_times[0] >= 0.95  # nothing more to that host for 1 s
    during_hold = [t for t in other_times if held_times[0] < t < held_times[1]]
    assert len(during_hold) >= 3  # the other host was not held back
