"""Pages built by script, rendered in the real Chromium: what the user gets (the text and
links that exist only after the scripts ran) and what the page may fetch (through the
crawl's client; no images, no other origins, no navigation away, a cap per page)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from crawler.fetch import Fetcher
from crawler.render import BrowserPool
from tests.support.rendering import fetched, started_pool
from tests.support.routes import Reply, RouteServer, page

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP = """<!doctype html><html><head><title>App</title>
<link rel="preload" href="/font.woff2" as="font" crossorigin>
<style>@font-face { font-family: F; src: url(/face.woff2); } body { font-family: F; }</style>
</head><body><div id="app">Loading...</div><img src="/logo.png">
<script src="/app.js"></script></body></html>"""

APP_JS = """
fetch('/data.json').then(r => r.json()).then(data => {
  const app = document.getElementById('app');
  app.innerHTML = '<h1>' + data.title + '</h1>' +
    data.links.map(l => '<a href="' + l + '">' + l + '</a>').join(' ');
  const done = document.createElement('p'); done.id = 'done'; app.appendChild(done);
});
"""
DATA = {"title": "Built by script", "links": ["/one", "/two"]}


def script(source: str):
    return page(source, content_type="text/javascript")


@pytest.fixture(scope="module")
def other() -> Iterator[RouteServer]:
    """Another origin (another port), allowed by the pool's ``allow_origins``."""
    with RouteServer({"/lib.js": script("window.lib = 'from the allowed origin';")}) as server:
        yield server


@pytest.fixture(scope="module")
def stranger() -> Iterator[RouteServer]:
    """Another origin the pool does not allow."""
    with RouteServer({"/track.js": script("window.tracked = true;")}) as server:
        yield server


class Gauge:
    """A route that takes a while, counting how many requests it serves at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0
        self.most = 0

    def route(self, _path: str) -> Reply:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        time.sleep(0.3)
        with self._lock:
            self._now -= 1
        return Reply(body=b"{}", content_type="application/json")


gauge = Gauge()

INLINE = """<html><body><script src="data:text/javascript,document.body.dataset.ran = 'yes'">
</script><script>fetch('data:application/json,{"n": 7}').then(r => r.json())
.then(d => { document.body.dataset.n = d.n; })</script></body></html>"""
OPENER = "<html><body><p>opener</p><script>window.open('/popup')</script></body></html>"


def consenting(name: str, value: str, api: str) -> str:
    """A page whose script sets a cookie, then shows what an API gated on it answers."""
    return f"""<html><body><p id="answer">none</p><script>
document.cookie = "{name}={value}; path=/";
fetch("{api}").then(r => r.text()).then(t => {{
  document.getElementById("answer").textContent = t;
  const done = document.createElement("p"); done.id = "done"; document.body.appendChild(done);
}});</script></body></html>"""


def with_cookie(name: str, value: str) -> Reply:
    """An answer that sets a cookie in the crawl's jar (the browser never sees it)."""
    return Reply(body=b"<p>in</p>", headers={"Set-Cookie": f"{name}={value}; Path=/"})


@pytest.fixture(scope="module")
def site(other: RouteServer, stranger: RouteServer) -> Iterator[RouteServer]:
    with_others = f"""<html><body><p id="out">none</p>
<script src="{other.url("/lib.js")}"></script><script src="{stranger.url("/track.js")}"></script>
<script>document.getElementById('out').textContent = window.lib + ' / ' + !!window.tracked;
</script></body></html>"""
    many = (
        "<html><body><script>for (let i = 0; i < 9; i++) fetch('/n/' + i);</script></body></html>"
    )
    away = "<html><body><p>stay</p><script>location.href = '/elsewhere';</script></body></html>"
    late = (
        "<html><body><script>setTimeout(() => { const p = document.createElement('p');"
        " p.id = 'late'; p.textContent = 'arrived'; document.body.appendChild(p); }, 300);"
        "</script></body></html>"
    )
    polling = "<html><body><p>live</p><script>setInterval(() => fetch('/poll'), 100);</script>"
    routes = {
        "/hold": page("<html><body><script>fetch('/slow')</script><p>held</p></body></html>"),
        "/slow": gauge.route,
        "/opener": page(OPENER),
        "/inline": page(INLINE),
        "/popup": page("<p>popup</p>"),
        "/app": page(APP),
        "/app.js": script(APP_JS),
        "/data.json": page(json.dumps(DATA), content_type="application/json"),
        "/others": page(with_others),
        "/many": page(many),
        "/away": page(away),
        "/elsewhere": page("<p>elsewhere</p>"),
        "/late": page(late),
        "/polling": page(polling),
        "/poll": page("{}", content_type="application/json"),
        "/login": lambda _: with_cookie("session", "s1"),
        "/consent": page(consenting("consent", "yes", "/api/items")),
        "/api/items": page("the items", content_type="text/plain"),
        "/light": lambda _: with_cookie("theme", "light"),
        "/dark": page(consenting("theme", "dark", "/api/theme")),
        "/api/theme": page("themed", content_type="text/plain"),
    }
    routes.update({f"/n/{i}": page("{}", content_type="application/json") for i in range(9)})
    with RouteServer(routes) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool(other: RouteServer) -> AsyncIterator[tuple[BrowserPool, Fetcher]]:
    async with started_pool(
        allow_origins=[other.base_url], max_requests=5, idle_cap_s=1.0, timeout_s=10
    ) as started:
        yield started


async def test_text_and_links_made_by_script_are_in_the_rendered_page(pool, site):
    browser, fetcher = pool
    result = await fetched(fetcher, site.url("/app"))
    assert b"Built by script" not in result.body

    rendered = await browser.render(result, wait_for="#done")

    assert rendered.failure is None
    assert rendered.html is not None
    assert "<h1>Built by script</h1>" in rendered.html
    assert '<a href="/one">/one</a>' in rendered.html
    assert rendered.requests == 2  # app.js and data.json
    script_headers = dict(site.request_headers)["/app.js"]
    assert script_headers["user-agent"].startswith("parcrawl/")  # the crawl's client
    assert site.requests.count("/app") == 1  # the document was not fetched again


async def test_images_and_fonts_are_never_downloaded(pool, site):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/app")), wait_for="#done")

    assert rendered.blocked.get("type", 0) >= 2  # the image, the fonts
    assert not {"/logo.png", "/font.woff2", "/face.woff2"} & set(site.requests)


async def test_other_origins_are_refused_unless_allowed(pool, site, other, stranger):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/others")))

    assert rendered.html is not None
    assert "from the allowed origin / false" in rendered.html
    assert rendered.blocked == {"origin": 1}
    assert other.requests == ["/lib.js"]
    assert stranger.requests == []


async def test_requests_past_the_cap_are_refused(pool, site):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/many")))

    assert rendered.requests == 5
    assert rendered.blocked == {"cap": 4}
    assert len([path for path in site.requests if path.startswith("/n/")]) == 5


async def test_a_script_navigating_away_leaves_the_page_as_it_was(pool, site):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/away")))

    assert rendered.failure is None
    assert rendered.html is not None
    assert "<p>stay</p>" in rendered.html
    assert rendered.blocked == {"navigation": 1}
    assert "/elsewhere" not in site.requests


async def test_wait_for_waits_for_an_element_a_timer_adds(pool, site):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/late")), wait_for="#late")

    assert rendered.html is not None
    assert '<p id="late">arrived</p>' in rendered.html


@pytest.mark.slow
async def test_a_page_that_polls_forever_is_read_when_the_idle_cap_is_reached(pool, site):
    browser, fetcher = pool
    started = time.monotonic()
    rendered = await browser.render(await fetched(fetcher, site.url("/polling")))

    assert rendered.failure is None
    assert rendered.html is not None
    assert "<p>live</p>" in rendered.html
    assert time.monotonic() - started < 1.0 + 2.0  # idle_cap_s, not timeout_s (10 s)
    assert rendered.requests >= 2


@pytest.mark.slow
async def test_no_more_pages_render_at_once_than_the_concurrency(pool, site):
    browser, fetcher = pool  # concurrency = 2
    results = [await fetched(fetcher, site.url("/hold")) for _ in range(4)]

    rendered = await asyncio.gather(*(browser.render(result) for result in results))

    assert all(page.html is not None and "<p>held</p>" in page.html for page in rendered)
    assert [page.requests for page in rendered] == [1, 1, 1, 1]
    assert gauge.most == 2


async def test_a_popup_fetches_nothing(pool, site):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/opener")))

    assert rendered.html is not None
    assert "<p>opener</p>" in rendered.html
    assert "/popup" not in site.requests


@pytest.mark.slow  # a pool of its own
async def test_a_context_and_what_pages_stored_in_it_go_after_pages_per_context(site):
    counter = """<html><body><script>
const n = Number(localStorage.getItem('n') || 0) + 1; localStorage.setItem('n', n);
document.body.innerHTML = '<p id="n">' + n + '</p>';</script></body></html>"""
    with RouteServer({"/count": page(counter)}) as counting:
        async with started_pool(pages_per_context=2, wait="load") as (browser, fetcher):
            result = await fetched(fetcher, counting.url("/count"))
            counts = [(await browser.render(result)).html for _ in range(5)]

    seen = [html.split('<p id="n">')[1].split("<")[0] if html else None for html in counts]
    assert seen == ["1", "2", "1", "2", "1"]


async def test_data_urls_are_the_pages_own_and_pass(pool, site):
    browser, fetcher = pool
    rendered = await browser.render(await fetched(fetcher, site.url("/inline")))

    assert rendered.html is not None
    assert 'data-ran="yes"' in rendered.html
    assert 'data-n="7"' in rendered.html
    assert rendered.blocked == {}


def cookies_sent(site: RouteServer, path: str) -> list[str]:
    return [headers.get("cookie", "") for sent, headers in site.request_headers if sent == path]


async def test_a_cookie_the_script_set_goes_with_its_requests_with_the_crawls_own(pool, site):
    browser, fetcher = pool
    await fetched(fetcher, site.url("/login"))  # the crawl's jar: session=s1, for the site

    rendered = await browser.render(await fetched(fetcher, site.url("/consent")), wait_for="#done")

    assert rendered.html is not None
    assert '<p id="answer">the items</p>' in rendered.html
    [cookie] = cookies_sent(site, "/api/items")
    assert {"consent=yes", "session=s1"} <= set(cookie.split("; "))
    # sent with the page's request only: the crawl's jar does not take a cookie a script set
    await fetched(fetcher, site.url("/login"))
    assert "consent" not in cookies_sent(site, "/login")[-1]


async def test_a_cookie_in_the_browser_and_the_jar_goes_once_with_the_browsers_value(pool, site):
    browser, fetcher = pool
    await fetched(fetcher, site.url("/light"))  # the crawl's jar: theme=light

    rendered = await browser.render(await fetched(fetcher, site.url("/dark")), wait_for="#done")

    assert rendered.html is not None
    assert '<p id="answer">themed</p>' in rendered.html
    [cookie] = cookies_sent(site, "/api/theme")
    assert cookie.split("; ").count("theme=dark") == 1
    assert "theme=light" not in cookie
