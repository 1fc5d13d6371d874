"""Loopback sites for rendering tests: an application whose pages are built by script (their
text and links exist only once ``/app.js`` has run), and a plain static site.

Each is a ``RouteServer``: its own host (127.0.0.1 and a port), its own request log.
"""

from __future__ import annotations

import json

from tests.support.routes import Route, RouteServer, page

SHELL = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Loading</title></head>"
    '<body><div id="root"></div><script src="/app.js"></script></body></html>'
)
"""Every page of the application as fetched: an empty root and the script bundle."""

APP_JS = """
fetch('/api' + location.pathname)
  .then(function (response) { return response.json(); })
  .then(function (data) {
    document.title = data.title;
    var links = data.links.map(function (href) {
      return '<li><a href="' + href + '">' + href + '</a></li>';
    }).join('');
    document.getElementById('root').innerHTML =
      '<h1>' + data.title + '</h1><p class="price">' + data.price + '</p>' +
      '<p>' + data.text + '</p><ul>' + links + '</ul>';
  });
"""

FOREVER = (
    "<!doctype html><html><head><title>Busy</title></head><body><div id='root'></div>"
    "<script>for (;;) {}</script></body></html>"
)
"""A page whose script never ends: its render times out."""

APP_PAGES = 5
"""Pages of the application: ``/`` and ``/p/1`` ... ``/p/4``, each linking to the next."""

STATIC_PAGES = 8

PROSE = " ".join(
    ["Static pages carry their whole text in the HTML a server sends, so a crawler reads"] * 8
)


def _data(index: int) -> dict[str, object]:
    links = [f"/p/{index + 1}"] if index + 1 < APP_PAGES else ["/forever"]
    return {
        "title": f"Product {index}",
        "price": f"{10 + index}.00 EUR",
        "text": f"Product {index} is built in the browser. " * 12,
        "links": links,
    }


def _json(value: object) -> Route:
    return page(json.dumps(value), content_type="application/json")


def app_routes() -> dict[str, Route]:
    """The application: shells, its script, the data each page is built from."""
    routes: dict[str, Route] = {
        "/app.js": page(APP_JS, content_type="text/javascript"),
        "/forever": page(FOREVER),
        "/": page(SHELL),
        "/api/": _json(_data(0)),
    }
    for index in range(1, APP_PAGES):
        routes[f"/p/{index}"] = page(SHELL)
        routes[f"/api/p/{index}"] = _json(_data(index))
    return routes


def static_routes() -> dict[str, Route]:
    """A static site: every page's text and links in its HTML (and a script, as most have)."""
    routes: dict[str, Route] = {}
    for index in range(STATIC_PAGES):
        links = "".join(f'<a href="/s/{n}">page {n}</a> ' for n in range(1, STATIC_PAGES))
        html = (
            f"<!doctype html><html><head><title>Static {index}</title>"
            "<script>window.analytics = [];</script></head>"
            f"<body><h1>Static {index}</h1><p class='price'>{index}.50 EUR</p>"
            f"<p>{PROSE}</p><nav>{links}</nav></body></html>"
        )
        routes["/" if index == 0 else f"/s/{index}"] = page(html)
    return routes


def app_server() -> RouteServer:
    return RouteServer(app_routes())


def static_server() -> RouteServer:
    return RouteServer(static_routes())
