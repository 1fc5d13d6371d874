"""A crawl of a loopback site with known broken links: its report lists exactly those
targets, each with exactly the pages linking to it; records say how each URL was reached."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from lxml import html as lxml_html

from crawler import crawl
from crawler.outputs import open_outputs, read_records
from tests.support.routes import Reply, RouteServer, page


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def links(*hrefs: str) -> str:
    return "<title>t</title>" + "".join(f'<a href="{href}">x</a>' for href in hrefs)


@pytest.mark.slow
def test_report_lists_exactly_the_broken_targets_with_exactly_their_referrers(
    tmp_path: Path,
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/nobody-listens"
    routes = {
        "/": page(links("/a", "/b", "/missing", "/moved", "/server-error", "/moved-ok")),
        "/a": page(links("/missing", "/b", "/")),
        "/b": page(links("/server-error", dead, "/a#frag")),
        "/moved": lambda _path: Reply(status=301, headers={"Location": "/gone"}),
        "/moved-ok": lambda _path: Reply(status=302, headers={"Location": "/a"}),
        "/server-error": lambda _path: Reply(status=500, body=b"oops"),
    }
    output, report = tmp_path / "crawl.jsonl", tmp_path / "out" / "report.html"
    with RouteServer(routes) as server:
        result = crawl(
            server.url("/"),
            follow=True,
            workers=0,
            fetch={"retries": 0, "connect_timeout_s": 2.0},
            scope={"allow_domains": ["127.0.0.1"]},
            output={"jsonl": str(output), "report": str(report)},
        )
        base = server.base_url

    by_url = result.by_url()
    # How each URL was reached: first found on the home page, one hop down; a redirect
    # keeps the requested URL's depth and referrer, and says where it ended.
    assert (by_url[f"{base}/a"]["depth"], by_url[f"{base}/a"]["referrer"]) == (1, f"{base}/")
    moved = by_url[f"{base}/moved"]
    assert (moved["depth"], moved["referrer"], moved["status"]) == (1, f"{base}/", 404)
    assert moved["final_url"] == f"{base}/gone"
    assert by_url[dead]["referrer"] == f"{base}/b"
    assert by_url[dead]["depth"] == 2

    page_html = lxml_html.fromstring(report.read_bytes())
    listed = {
        row.get("data-target"): sorted(li.get("data-referrer") for li in row.iter("li"))
        for row in page_html.xpath('//table[@id="broken-links"]//tr[@data-target]')
    }
    assert listed == {
        f"{base}/missing": [f"{base}/", f"{base}/a"],
        f"{base}/moved": [f"{base}/"],
        f"{base}/server-error": [f"{base}/", f"{base}/b"],
        dead: [f"{base}/b"],
    }
    # The report read the very records the crawl wrote.
    assert len(list(read_records(open_outputs([output])))) == len(result.records)
