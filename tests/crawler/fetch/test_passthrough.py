"""A rendering browser's requests relayed through the crawl's client: its User-Agent and site
headers, not the browser's; bodies decoded and bounded; redirects followed, each vetted."""

from __future__ import annotations

import gzip

from crawler.fetch import Fetcher
from crawler.models import FetchFailure
from crawler.settings import build_settings
from tests.support.routes import Reply, RouteServer, page

BROWSER = {
    "User-Agent": "Mozilla/5.0 HeadlessChrome/156",
    "sec-ch-ua": '"Chromium";v="156"',
    "Cookie": "from=browser",
    "Accept": "application/json",
    "X-Requested-With": "app",
}


def fetcher(**fetch: object) -> Fetcher:
    rule = {"host": "127.0.0.1", "headers": {"X-Site": "yes"}}
    settings = build_settings({"fetch": {"allow_private": True, "sites": [rule], **fetch}})
    return Fetcher(settings.fetch)


async def test_the_crawls_user_agent_and_site_headers_go_the_browsers_own_do_not():
    zipped = gzip.compress(b'{"items": [1, 2]}')
    encoded = {"Content-Encoding": "gzip"}
    reply = Reply(body=zipped, content_type="application/json", headers=encoded)
    with RouteServer({"/api": lambda _: reply}) as server:
        async with fetcher() as crawl:
            answer = await crawl.passthrough("GET", server.url("/api"), BROWSER)

    assert not isinstance(answer, FetchFailure)
    status, headers, body = answer
    assert (status, body) == (200, b'{"items": [1, 2]}')
    assert ("content-type", "application/json") in headers
    assert not any(name in ("content-encoding", "content-length") for name, _ in headers)
    [(_, sent)] = server.request_headers
    assert sent["user-agent"].startswith("parcrawl/")
    assert sent["x-site"] == "yes"
    assert (sent["accept"], sent["x-requested-with"]) == ("application/json", "app")
    assert "sec-ch-ua" not in sent
    assert "cookie" not in sent


async def test_redirects_are_followed_here_each_target_vetted_first():
    moved = Reply(status=302, headers={"Location": "/script.js"})
    routes = {"/old.js": lambda _: moved, "/script.js": page("let a = 1")}
    refused = FetchFailure("origin", "not the page's origin")
    with RouteServer(routes) as server:
        async with fetcher() as crawl:
            followed = await crawl.passthrough("GET", server.url("/old.js"), {})
            vetted: list[str] = []

            async def refuse(url: str) -> FetchFailure:
                vetted.append(url)
                return refused

            stopped = await crawl.passthrough(
                "GET", server.url("/old.js"), {}, check_redirect=refuse
            )

    assert not isinstance(followed, FetchFailure)
    assert followed[0] == 200
    assert followed[2] == b"let a = 1"
    assert stopped == refused
    assert vetted == [server.url("/script.js")]
    assert server.requests == ["/old.js", "/script.js", "/old.js"]


async def test_a_body_past_max_bytes_or_a_dead_server_is_a_failure_not_an_exception():
    with RouteServer({"/big.js": page("x" * 5000)}) as server:
        async with fetcher(max_bytes=1000, retries=0) as crawl:
            big = await crawl.passthrough("GET", server.url("/big.js"), {})
        url = server.url("/")
    async with fetcher(connect_timeout_s=1) as crawl:
        gone = await crawl.passthrough("GET", url, {})  # the server has stopped

    assert isinstance(big, FetchFailure)
    assert big.code == "too_large"
    assert isinstance(gone, FetchFailure)
    assert gone.code == "connect"


async def test_the_browsers_cookies_go_merged_with_the_jars_and_are_never_kept():
    login = Reply(headers={"Set-Cookie": "session=s1; Path=/"})
    routes = {"/login": lambda _: login, "/api": page("{}"), "/after": page("{}")}
    with RouteServer(routes) as server:
        async with fetcher() as crawl:
            await crawl.passthrough("GET", server.url("/login"), {})
            cookies = "consent=yes; session=from-script"
            await crawl.passthrough("GET", server.url("/api"), BROWSER, cookies=cookies)
            await crawl.passthrough("GET", server.url("/after"), {})

    sent = dict(server.request_headers)
    # the browser's value wins a clash (its script's is the newest); "from=browser", the
    # raw Cookie header of BROWSER, is not what the browser sends: it is not forwarded
    assert sorted(sent["/api"]["cookie"].split("; ")) == ["consent=yes", "session=from-script"]
    assert sent["/after"]["cookie"] == "session=s1"  # the jar kept none of the browser's


async def test_a_redirect_keeps_the_browsers_cookies_on_its_origin_less_those_it_sets():
    with RouteServer({"/elsewhere": page("{}")}) as other:
        away = Reply(status=302, headers={"Location": other.url("/elsewhere")})
        moved = Reply(status=302, headers={"Location": "/new", "Set-Cookie": "theme=light"})
        routes = {"/old": lambda _: moved, "/new": page("{}"), "/away": lambda _: away}
        with RouteServer(routes) as server:
            async with fetcher() as crawl:
                cookies = "consent=yes; theme=dark"
                await crawl.passthrough("GET", server.url("/old"), {}, cookies=cookies)
                await crawl.passthrough("GET", server.url("/away"), {}, cookies=cookies)

    sent = dict(server.request_headers)
    assert sorted(sent["/new"]["cookie"].split("; ")) == ["consent=yes", "theme=light"]
    assert "cookie" not in dict(other.request_headers)["/elsewhere"]


async def test_a_sites_configured_cookie_wins_over_the_browsers():
    rule = {"host": "127.0.0.1", "cookies": {"token": "configured"}}
    with RouteServer({"/api": page("{}")}) as server:
        async with fetcher(sites=[rule]) as crawl:
            cookies = "token=from-script; consent=yes"
            await crawl.passthrough("GET", server.url("/api"), {}, cookies=cookies)

    [(_, sent)] = server.request_headers
    assert sorted(sent["cookie"].split("; ")) == ["consent=yes", "token=configured"]
