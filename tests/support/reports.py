"""Records for report tests, as a crawl writes them: one call, only the facts a test varies."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """``records`` as a crawl's JSON Lines output at ``path``."""
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


def rec(
    url: str,
    *,
    status: int | None = 200,
    code: str | None = None,
    elapsed_ms: float | None = 100.0,
    size: int | None = 2000,
    depth: int = 1,
    referrer: str | None = None,
    content_type: str | None = "text/html; charset=utf-8",
    second: int = 0,
    title: str | None = "A title",
    description: str | None = None,
    links: list[str] | None = None,
    final_url: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A record fetched ``second`` s past 12:00:00 (or at ``fetched_at=...``); an error ``code``
    clears the page fields, as a failed record has none."""
    error = {"code": code, "message": f"{code} happened"} if code else None
    return {
        "url": url,
        "final_url": final_url or url,
        "status": status,
        "content_type": content_type,
        "bytes": size,
        "elapsed_ms": elapsed_ms,
        "fetched_at": f"2026-05-01T12:00:{second:02d}.000Z",
        "depth": depth,
        "referrer": referrer,
        "attempts": 1,
        "title": title if error is None else None,
        "description": description,
        "lang": "en",
        "canonical": None,
        "text": "words",
        "word_count": 1,
        "links": links if error is None else None,
        "sha256": None,
        "error": error,
        **extra,
    }
