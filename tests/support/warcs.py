"""Reading WARC files back as a replay tool would, with every digest checked (warcio)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass
class WarcRecord:
    type: str
    headers: dict[str, str]
    status: int | None
    http_headers: dict[str, str]
    payload: bytes
    """The block after the HTTP headers, as stored: content-encoded bytes as sent."""


def read_warc(path: Path) -> list[WarcRecord]:
    """Every record of ``path``; fails on a torn record or a digest that does not match."""
    records = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            payload = record.raw_stream.read()
            assert record.digest_checker.passed is not False, record.digest_checker.problems
            http = record.http_headers
            status = None
            if http is not None and record.rec_type in ("response", "revisit"):
                status = int(http.get_statuscode())
            records.append(
                WarcRecord(
                    record.rec_type,
                    dict(record.rec_headers.headers),
                    status,
                    dict(http.headers) if http is not None else {},
                    payload,
                )
            )
    return records


def of_type(records: list[WarcRecord], kind: str) -> list[WarcRecord]:
    return [record for record in records if record.type == kind]
