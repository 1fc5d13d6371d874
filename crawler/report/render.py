"""The report page: sections and chart specs through a jinja2 template into one HTML file.

It owns the page's self-containment: Vega, Vega-Lite and vega-embed are inlined from
``vl-convert-python``'s bundle (about 0.9 MB, no CDN), the data as JSON in the page.
"""

from __future__ import annotations

import functools
import json
from typing import Any

TEMPLATE = "report.html.j2"
BUNDLE_SNIPPET = "window.vegaEmbed = vegaEmbed;"
"""The bundle's entry: vega-embed as a global, for the template's plain script."""


@functools.cache
def vega_bundle() -> str:
    """vega, vega-lite and vega-embed as one script that sets ``window.vegaEmbed``.

    Built once per process (about two seconds): the bundler runs in vl-convert's own engine.
    """
    import vl_convert  # noqa: PLC0415  # only a run that writes a report loads its engine

    bundle = vl_convert.javascript_bundle(BUNDLE_SNIPPET)
    # Inside a <script> element only "</script" could end it early.
    return bundle.replace("</script", "<\\/script")


def render(
    data: dict[str, Any],
    specs: dict[str, dict[str, Any]],
    context: dict[str, Any],
    vega_js: str,
) -> str:
    """The report page for ``data`` (``sections.build``), chart ``specs`` (``charts``) and
    the chart runtime ``vega_js`` (``vega_bundle()``)."""
    import jinja2  # noqa: PLC0415  # kept out of every crawl's start-up (about 40 ms)

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("crawler.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        {"count": _count, "human_bytes": _human_bytes, "ms": _ms, "seconds": _seconds}
    )
    return environment.get_template(TEMPLATE).render(
        data=data,
        specs=specs,
        specs_json=_script_json(specs),
        vega_js=vega_js,
        **context,
    )


def _script_json(value: Any) -> str:
    # JSON inside <script type="application/json">: no "<" may close the element early.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _count(value: int | float | None) -> str:
    return "-" if value is None else f"{value:,}"


def _human_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} s"
