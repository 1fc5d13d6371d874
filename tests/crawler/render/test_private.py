"""A page of a public crawl may not reach private addresses through its scripts: not by
address (refused before any request), not by a name resolving to one (refused by the
crawl's client at connect time); both counted ``private``, the server never asked."""

from __future__ import annotations

import socket

import pytest

from crawler.models import FetchRequest, FetchResult, utc_now
from tests.support.rendering import started_pool
from tests.support.routes import RouteServer, page

PUBLIC_PAGE = "http://93.184.216.34/start"


def public_page(html: str) -> FetchResult:
    """A page as a public crawl fetched it (its document is never fetched again)."""
    body = html.encode()
    headers = (("content-type", "text/html; charset=utf-8"),)
    return FetchResult(
        FetchRequest(PUBLIC_PAGE), PUBLIC_PAGE, 200, headers, "text/html", body,
        len(body), 1.0, utc_now(), body_kept=True,
    )  # fmt: skip


@pytest.mark.slow
async def test_private_addresses_are_refused_by_address_and_by_name():
    name = socket.gethostname()  # a name, not an IP literal, resolving to this machine
    with RouteServer({"/secret.js": page("window.leak = 1")}) as intranet:
        by_name = intranet.base_url.replace("127.0.0.1", name)
        html = f"""<html><body><p>public</p>
<script src="{intranet.url("/secret.js")}"></script>
<script>fetch("{by_name}/secret.js").catch(() => {{}})</script></body></html>"""
        # Their origins allowed, so that it is the address that refuses them.
        origins = [intranet.base_url, by_name]
        async with started_pool(allow_private=False, allow_origins=origins) as (browser, _):
            rendered = await browser.render(public_page(html))

    assert rendered.failure is None
    assert rendered.html is not None
    assert "<p>public</p>" in rendered.html
    assert rendered.blocked == {"private": 2}
    assert rendered.requests == 0
    assert intranet.requests == []
