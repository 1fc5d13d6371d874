"""The renderer in the engine, with a stand-in browser (the real one: tests/e2e/test_render_cli):
what a render does to a page's record, its links, the stats; what a failed one does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.assembly import build_engine
from crawler.fetch import Fetcher
from crawler.models import FetchFailure, FetchResult, Record
from crawler.settings import build_settings
from crawler.stats import Stats
from pipelines.sinks import MemorySink
from pipelines.stage import ProcessStage
from tests.support.rendering import eventually
from tests.support.routes import RouteServer, page

SHELL = "<title>Shell</title><div id=root></div><script src=/app.js></script>"


@dataclass(frozen=True)
class Rendered:
    html: str | None
    failure: FetchFailure | None = None
    requests: int = 2
    blocked: dict[str, int] = field(default_factory=lambda: {"origin": 1})
    elapsed_ms: float = 5.0


class StandInBrowser:
    """Builds every page into one linking to ``/built``; ``/stuck`` times out. ``echo``:
    gives the page back as it came instead (a static page, rendered)."""

    def __init__(self, *, echo: bool = False) -> None:
        self.rendered: list[str] = []
        self.echo = echo

    async def render(self, result: FetchResult, *, wait_for: str | None = None) -> Rendered:
        url = result.final_url
        self.rendered.append(url)
        if url.endswith("/stuck"):
            return Rendered(None, FetchFailure("render_timeout", "no DOM within 1 s"))
        if self.echo:
            return Rendered(result.body.decode())
        built = url.rpartition("/")[2] or "home"
        return Rendered(
            f"<html><head><title>Built {built}</title></head><body>"
            f"<p>{'text built by script ' * 20}</p><a href='/built'>more</a></body></html>"
        )


async def crawl_with(
    browser: StandInBrowser, urls: list[str], **values: Any
) -> tuple[dict[str, Record], Stats]:
    settings = build_settings({"workers": 0, **values})
    sink = MemorySink()

    async def seeds() -> AsyncIterator[str]:
        for url in urls:
            yield url

    async with Fetcher(settings.fetch) as fetcher, ProcessStage(0) as stage:
        engine = build_engine(
            settings,
            fetcher=fetcher,
            stage=stage,
            sinks=[sink],
            browser=browser,  # type: ignore[arg-type]
        )
        stats = await engine.run(seeds())
    return {record["url"]: record for record in sink.records}, stats


async def test_a_rendered_page_is_parsed_from_its_dom_and_its_links_followed() -> None:
    routes = {"/": page(SHELL), "/built": page(SHELL), "/stuck": page(SHELL)}
    with RouteServer(routes) as server:
        browser = StandInBrowser()
        records, stats = await crawl_with(
            browser, [server.url("/"), server.url("/stuck")], follow=True, render="always"
        )
    home = records[server.url("/")]
    assert (home["rendered"], home["render_reason"], home["title"]) == (
        True,
        "always",
        "Built home",
    )
    assert home["content_type"] == "text/html; charset=utf-8"
    assert records[server.url("/built")]["title"] == "Built built"  # found through the DOM
    stuck = records[server.url("/stuck")]
    assert stuck["error"] == {"code": "render_timeout", "message": "no DOM within 1 s"}
    assert (stuck["rendered"], stuck["title"]) == (False, "Shell")
    assert sum(stats.rendered.values()) == 2
    assert stats.render_failures == {"render_timeout": 1}
    assert stats.render_requests == 6
    assert stats.render_blocked == {"origin": 3}
    assert stats.errors == {"render_timeout": 1}
    assert any(line.startswith("render: 2 pages rendered") for line in stats.summary_lines())


async def test_auto_mode_renders_nothing_of_a_static_site_unless_asked_to_probe() -> None:
    text = "<p>" + "plain static text " * 60 + "</p>"
    routes = {"/": page(text + "".join(f"<a href=/{n}>{n}</a>" for n in range(1, 6)))}
    routes |= {f"/{n}": page(text) for n in range(1, 6)}
    with RouteServer(routes) as server:
        browser = StandInBrowser(echo=True)
        records, stats = await crawl_with(
            browser, [server.url("/")], follow=True, render="auto", fetch={"concurrency": 1}
        )
        assert [r["render_reason"] for r in records.values()] == ["static_html"] * 6
        assert browser.rendered == []
        assert not any(line.startswith("render") for line in stats.summary_lines())

        probing = StandInBrowser(echo=True)
        records, stats = await crawl_with(
            probing,
            [server.url("/")],
            follow=True,
            render={"mode": "auto", "probe": 2},
            fetch={"concurrency": 1},
        )
    reasons = sorted(record["render_reason"] for record in records.values())
    assert reasons == ["probe"] * 2 + ["static_html"] * 4
    assert not any(record["rendered"] for record in records.values())  # records as fetched
    assert len(probing.rendered) == 2


async def test_a_page_being_rendered_lets_the_crawl_go_a_level_deeper() -> None:
    # / links to /slow (rendered: its render waits until /deep/2, a level deeper, is
    # fetched) and /1 -> /deep/2: without leaving its level the crawl would never get there
    routes = {
        "/": page("<a href=/slow>slow</a><a href=/1>one</a>"),
        "/slow": page(SHELL),
        "/1": page("<p>" + "text " * 600 + "</p><a href=/deep/2>deeper</a>"),
        "/deep/2": page("<p>" + "text " * 600 + "</p>"),
    }
    with RouteServer(routes) as server:
        browser = WaitingBrowser(until=lambda: "/deep/2" in server.page_requests)
        records, _ = await crawl_with(
            browser, [server.url("/")], follow=True, render={"mode": "auto", "timeout_s": 5}
        )
    assert records[server.url("/slow")]["rendered"] is True
    assert records[server.url("/deep/2")]["depth"] == 2


async def test_a_crawl_that_never_renders_keeps_its_records_as_ever() -> None:
    # (given a browser all the same: the renderer is built only when a page may render)
    with RouteServer({"/": page(SHELL)}) as server:
        records, stats = await crawl_with(StandInBrowser(), [server.url("/")])
    assert "rendered" not in records[server.url("/")]
    assert not any(line.startswith("render") for line in stats.summary_lines())


class WaitingBrowser(StandInBrowser):
    """Renders a page only once ``until`` holds (within 10 s, else the test fails)."""

    def __init__(self, *, until: Callable[[], bool]) -> None:
        super().__init__()
        self.until = until

    async def render(self, result: FetchResult, *, wait_for: str | None = None) -> Rendered:
        await eventually(self.until)
        return await super().render(result, wait_for=wait_for)


class BrokenBrowser(StandInBrowser):
    async def render(self, result: FetchResult, *, wait_for: str | None = None) -> Rendered:
        raise RuntimeError("a bug in the pool")


async def test_an_unexpected_error_in_a_render_is_that_pages_record() -> None:
    with RouteServer({"/": page(SHELL)}) as server:
        records, stats = await crawl_with(BrokenBrowser(), [server.url("/")], render="always")
    assert records[server.url("/")]["error"]["code"] == "internal"
    assert stats.errors == {"internal": 1}
