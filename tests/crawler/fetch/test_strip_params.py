"""strip_params: tracking and session parameters neither split one page into many URLs nor
reach the records, whether they come with a seed, a link or a redirect."""

from __future__ import annotations

import pytest

from crawler.urls import ParamFilter
from tests.support.crawling import run_crawl
from tests.support.routes import Reply, RouteServer, page

STRIP = ["utm_*", "fbclid", "sessionid"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/p?utm_source=x&id=2&utm_medium=y", "https://a.example/p?id=2"),
        ("https://a.example/p?fbclid=abc", "https://a.example/p"),
        ("https://a.example/p?id=2&sessionid=9&b=1", "https://a.example/p?id=2&b=1"),
        ("https://a.example/p?utm%5Fsource=x&id=1", "https://a.example/p?id=1"),  # decoded name
        ("https://a.example/p?UTM_SOURCE=x", "https://a.example/p?UTM_SOURCE=x"),  # case counts
        ("https://a.example/p?fbclid2=x&xfbclid=y", "https://a.example/p?fbclid2=x&xfbclid=y"),
        ("https://a.example/p?z=1&a=2", "https://a.example/p?z=1&a=2"),  # order kept
        ("https://a.example/p?utm_x=1#top", "https://a.example/p#top"),
        ("https://a.example/p", "https://a.example/p"),
    ],
)
def test_matching_parameters_are_dropped_and_the_rest_kept_as_written(url, expected):
    assert ParamFilter(STRIP)(url) == expected


def test_no_patterns_is_a_filter_that_does_nothing():
    none = ParamFilter()
    assert not none
    url = "https://a.example/p?utm_source=x"
    assert none(url) is url


async def test_a_crawl_fetches_and_records_each_page_once_without_its_tracking_parameters():
    routes = {
        "/": page(
            '<a href="/a?utm_source=mail&utm_medium=x">1</a> <a href="/a?fbclid=XYZ">2</a>'
            '<a href="/a">3</a> <a href="/b?id=2&sessionid=s3">4</a> <a href="/go">5</a>'
        ),
        "/a": page("<title>A</title>"),
        "/b": page("<title>B</title>"),
        "/go": lambda _path: Reply(302, headers={"Location": "/c?utm_campaign=z"}),
        "/c": page("<title>C</title>"),
    }
    with RouteServer(routes) as site:
        records, _ = await run_crawl(
            [site.url("/?utm_source=newsletter")],
            workers=0,
            follow=True,
            fetch={"strip_params": STRIP},
        )
        fetched = site.page_requests
    by_url = {record["url"]: record for record in records}
    assert set(by_url) == {site.url(p) for p in ("/", "/a", "/b?id=2", "/go")}
    assert by_url[site.url("/go")]["final_url"] == site.url("/c")
    assert sorted(fetched) == ["/", "/a", "/b?id=2", "/c", "/go"]  # each page once


async def test_without_strip_params_the_parameters_stay():
    routes = {"/": page('<a href="/a?utm_source=x">1</a>'), "/a": page("<title>A</title>")}
    with RouteServer(routes) as site:
        records, _ = await run_crawl([site.url("/")], workers=0, follow=True)
    assert {record["url"] for record in records} == {site.url("/"), site.url("/a?utm_source=x")}


async def test_pages_a_sitemap_lists_are_fetched_and_recorded_without_their_tracking_parameters():
    listed = ["/?utm_source=sitemap", "/a?utm_source=x&id=1", "/a?id=1&fbclid=y", "/b?sessionid=s9"]
    with RouteServer() as site:
        entries = "".join(
            f"<url><loc>{site.url(path).replace('&', '&amp;')}</loc></url>" for path in listed
        )
        site.routes.update(
            {
                "/robots.txt": page(
                    f"Sitemap: {site.url('/sitemap.xml')}\n", content_type="text/plain"
                ),
                "/sitemap.xml": page(
                    f'<?xml version="1.0"?><urlset>{entries}</urlset>',
                    content_type="application/xml",
                ),
                "/": page("<title>home</title>"),
                "/a": page("<title>A</title>"),
                "/b": page("<title>B</title>"),
            }
        )
        records, stats = await run_crawl(
            [site.url("/")], workers=0, sitemaps=True, fetch={"strip_params": STRIP}
        )
        fetched = [path for path in site.page_requests if path != "/sitemap.xml"]
    # The seed's page and /a are each listed twice: one record and one request each, bare.
    assert sorted(record["url"] for record in records) == [
        site.url(path) for path in ("/", "/a?id=1", "/b")
    ]
    assert sorted(fetched) == ["/", "/a?id=1", "/b"]
    assert stats.sitemap_urls == 2
