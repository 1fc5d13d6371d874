"""The report's charts as Vega-Lite specs (plain dicts) over data aggregated already.

It owns what each chart shows; Vega-Lite (inlined by ``render``) draws them in the browser.
A chart with nothing to show is left out, and the page says so instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH = "container"
HEIGHT = 220
FEW_TICKS = 3
"""Below this largest count a count axis gets its ticks listed (see ``_records``)."""


def charts(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The specs by chart name, for the sections of ``data`` (``sections.build``)."""
    content = data["content"]
    specs = {
        "timeline": _timeline(data["timeline"]["rows"]),
        "host_rates": _per_host(data["host_rates"]["rows"], "pages_per_s", "pages/s"),
        "autothrottle": _per_host(
            data.get("autothrottle", {}).get("changes", []), "limit", "requests at once", step=True
        ),
        "statuses": _bars(
            [{"label": row["status"], "count": row["count"]} for row in data["statuses"]],
            "HTTP status",
            color="#4c78a8",
        ),
        "errors": _bars(
            [{"label": row["code"], "count": row["count"]} for row in data["errors"]],
            "error code",
            color="#e45756",
        ),
        "response_times": _histogram(data["response_times"]["histogram"], "response time"),
        "content_types": _bars(
            [{"label": label, "count": count} for label, count in content["types"]["rows"]],
            "content type",
            color="#72b7b2",
        ),
        "sizes": _histogram(content["sizes"], "page size"),
        "depths": _bars(
            [{"label": str(row["depth"]), "count": row["count"]} for row in content["depths"]],
            "depth (link hops from a seed)",
            color="#54a24b",
            sort_by_count=False,
        ),
        "hosts": _bars(
            [{"label": host, "count": count} for host, count, _ in content["hosts"]["rows"]],
            "host",
            color="#b279a2",
        ),
    }
    return {name: spec for name, spec in specs.items() if spec is not None}


def _base(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "config": {"view": {"stroke": None}},
    }


def _timeline(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    values = [
        {"time": row["time"], "series": series, "value": row[key]}
        for row in rows
        for series, key in (("pages/s", "pages_per_s"), ("errors/s", "errors_per_s"))
    ]
    return {
        **_base(values),
        "mark": {"type": "line", "point": len(rows) <= 60, "interpolate": "monotone"},
        "encoding": {
            "x": _time_axis(rows),
            "y": {"field": "value", "type": "quantitative", "title": "per second"},
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "scale": {"domain": ["pages/s", "errors/s"], "range": ["#4c78a8", "#e45756"]},
            },
            "tooltip": [
                {
                    "field": "time",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdatehoursminutesseconds",
                },
                {"field": "series", "type": "nominal"},
                {"field": "value", "type": "quantitative", "format": ".2f"},
            ],
        },
    }


def _per_host(
    rows: list[dict[str, Any]], field: str, title: str, *, step: bool = False
) -> dict[str, Any] | None:
    """One line per host over time: its pages/s, or (``step``) the autothrottle's limit,
    which holds from each change to the next."""
    if not rows:
        return None
    mark = {"type": "line", "point": len(rows) <= 60 or step}
    mark["interpolate"] = "step-after" if step else "monotone"
    return {
        **_base(rows),
        "mark": mark,
        "encoding": {
            "x": _time_axis(rows),
            "y": {"field": field, "type": "quantitative", "title": title},
            "color": {"field": "host", "type": "nominal", "title": None},
            "tooltip": [
                {
                    "field": "time",
                    "type": "temporal",
                    "timeUnit": "utcyearmonthdatehoursminutesseconds",
                },
                {"field": "host", "type": "nominal"},
                {"field": field, "type": "quantitative", "format": ".2f"},
                *(
                    [{"field": "delay_s", "type": "quantitative", "title": "added delay s"}]
                    if step
                    else []
                ),
            ],
        },
    }


def _time_axis(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The x channel of a chart over time: UTC, labelled as ``_time_format`` says."""
    return {
        "field": "time",
        "type": "temporal",
        "title": "time (UTC)",
        "scale": {"type": "utc"},
        "axis": {"format": _time_format(rows), "labelOverlap": True},
    }


def _time_format(rows: list[dict[str, Any]]) -> str:
    """Axis labels a reader can place: clock seconds, with milliseconds for a short crawl.

    Vega's default multi-format labels a sub-minute axis ``.950``, which reads as nothing.
    """
    first = datetime.fromisoformat(rows[0]["time"])
    last = datetime.fromisoformat(rows[-1]["time"])
    span_s = (last - first).total_seconds()
    if span_s < 10:
        return "%H:%M:%S.%L"
    if span_s < 2 * 86400:
        return "%H:%M:%S"
    return "%Y-%m-%d %H:%M"


def _bars(
    values: list[dict[str, Any]], title: str, *, color: str, sort_by_count: bool = True
) -> dict[str, Any] | None:
    if not values:
        return None
    return {
        **_base(values),
        "height": max(HEIGHT // 2, 18 * len(values)),
        "mark": {"type": "bar", "color": color, "tooltip": True},
        "encoding": {
            "y": {
                "field": "label",
                "type": "nominal",
                "title": title,
                "sort": "-x" if sort_by_count else None,
            },
            "x": _records(values),
        },
    }


def _records(values: list[dict[str, Any]]) -> dict[str, Any]:
    """The count channel, ticked in whole records (Vega's default for a small crawl: 0, 0.5,
    1, 1.5).

    ``tickMinStep`` alone lets Vega ask for span + 1 ticks, which for a largest count of 1
    or 2 still falls on halves; those few ticks are given outright.
    """
    axis: dict[str, Any] = {"tickMinStep": 1, "format": ",d"}
    top = max(row["count"] for row in values)
    if top < FEW_TICKS:
        axis["values"] = list(range(top + 1))
    return {"field": "count", "type": "quantitative", "title": "records", "axis": axis}


def _histogram(bins: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
    if not any(row["count"] for row in bins):
        return None
    return {
        **_base(bins),
        "mark": {"type": "bar", "color": "#f58518", "tooltip": True},
        "encoding": {
            "x": {
                "field": "bin",
                "type": "ordinal",
                "title": title,
                "sort": {"field": "order"},
                "axis": {"labelAngle": -30},
            },
            "y": _records(bins),
        },
    }
