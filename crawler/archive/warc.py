"""The WARC archive: each fetch's request and response records, written by warcio in a thread.

The event loop only names the records (ids, digests, revisit or not) and hands them over
through a bounded hand-off; a writer thread builds them with warcio and appends them to the
files, so a slow disk holds back the fetch that waits for room, never the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.recordbuilder import RecordBuilder
from warcio.warcwriter import WARCWriter

from crawler.archive.files import Opener, WarcFiles, open_file
from crawler.errors import OutputError
from crawler.models import FetchResult, WireExchange, utc_now
from crawler.recrawl import Capture, PageMemory
from crawler.settings import Settings
from crawler.version import __version__

log = logging.getLogger(__name__)

WARC_VERSION = "1.1"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL_PROFILE = RecordBuilder.REVISIT_PROFILE_1_1
TRUNCATED = {"length": "length", "unread": "unspecified"}
"""Our reasons for a partial body, as WARC-Truncated says them."""

RENDERED_TYPE = "text/html; charset=utf-8"
"""A conversion record's content: the rendered DOM, serialized as UTF-8 HTML."""

HANDOFF = 64
"""Fetches waiting for the writer thread at most; past that a fetch waits for room."""


@dataclass(frozen=True, slots=True)
class _Revisit:
    profile: str
    previous: PageMemory
    digest: str | None


@dataclass(frozen=True, slots=True)
class _Job:
    """One exchange to write: its response's record id, payload digest and revisit."""

    wire: WireExchange
    record_id: str
    digest: str | None
    revisit: _Revisit | None


@dataclass(frozen=True, slots=True)
class _Conversion:
    """A rendered page's DOM to write: a ``conversion`` record of the page's response."""

    url: str
    refers_to: str | None
    date: str
    html: bytes


class Archive:
    """A crawl's WARC output: ``open``, ``add`` every fetch result, ``close``.

    Args:
        path: the WARC file (``.warc.gz``); numbered files with ``max_size``.
        settings: the crawl's settings, named in each file's ``warcinfo`` record.
        max_size: bytes per file before a new numbered one starts; None for one file.
        append: continue the files of an earlier run (a resumed crawl).
        opener: how files are opened (tests).
    """

    def __init__(
        self,
        path: str | Path,
        settings: Settings,
        *,
        max_size: int | None = None,
        append: bool = False,
        opener: Opener | None = None,
    ) -> None:
        self.path = Path(path)
        self._info = _warcinfo(settings)
        self._max_size = max_size
        self._append = append
        self._opener = opener or open_file
        self._jobs: queue.SimpleQueue[list[_Job] | _Conversion | None] = queue.SimpleQueue()
        self._room: asyncio.Semaphore | None = None
        self._thread: threading.Thread | None = None
        self._files: WarcFiles | None = None
        self._failure: OSError | None = None
        self._reported = False
        self.records = 0
        """Records written so far (the writer thread counts)."""

    @property
    def files(self) -> list[Path]:
        """The WARC files written to, in order."""
        return list(self._files.written) if self._files is not None else []

    async def open(self) -> None:
        """Open (or continue) the WARC file and start the writer thread.

        Raises:
            OutputError: exit 2, the file cannot be written.
        """
        try:
            self._files = await asyncio.to_thread(
                WarcFiles,
                self.path,
                max_size=self._max_size,
                header=self._header,
                append=self._append,
                opener=self._opener,
            )
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.path}: {exc.strerror or exc}", exit_code=2
            ) from exc
        loop = asyncio.get_running_loop()
        self._room = asyncio.Semaphore(HANDOFF)
        self._thread = threading.Thread(
            target=self._write_all, args=(loop, self._room), name="parcrawl-warc"
        )
        self._thread.start()

    async def add(self, result: FetchResult, previous: PageMemory | None) -> Capture | None:
        """Queue ``result``'s exchanges for writing; the final response's capture, if whole.

        A 304 to a page archived before, or a 200 whose payload is the one archived last
        time, becomes a ``revisit`` record pointing at that earlier capture.

        Raises:
            OutputError: the archive could not be written (disk full); the crawl ends.
        """
        self._check()
        if not result.exchanges or self._room is None:
            return None
        jobs = []
        capture = None
        last = len(result.exchanges) - 1
        for index, wire in enumerate(result.exchanges):
            record_id = f"<urn:uuid:{uuid.uuid4()}>"
            if index < last or wire.truncated is not None:
                jobs.append(_Job(wire, record_id, None, None))
                continue
            status = result.status
            digest = _digest(wire.body) if status == 200 else None
            revisit = _revisit(status, digest, previous)
            jobs.append(_Job(wire, record_id, digest, revisit))
            if revisit is not None:
                capture = Capture(record_id, wire.date, digest or "", revisit=True)
            elif digest is not None:
                capture = Capture(record_id, wire.date, digest)
        await self._room.acquire()
        self._jobs.put(jobs)
        return capture

    async def add_conversion(self, url: str, refers_to: str | None, html: bytes) -> None:
        """Queue a rendered page's DOM (UTF-8 HTML) as a ``conversion`` record, referring to
        the page's response record (``refers_to``) when it was archived whole.

        Raises:
            OutputError: the archive could not be written (disk full); the crawl ends.
        """
        self._check()
        if self._room is None:
            return
        await self._room.acquire()
        self._jobs.put(_Conversion(url, refers_to, utc_now(), html))

    async def close(self) -> None:
        """Write what is queued, close the file and stop the thread.

        Raises:
            OutputError: the archive could not be written (disk full).
        """
        if self._thread is None:
            return
        self._jobs.put(None)
        thread, self._thread = self._thread, None
        await asyncio.to_thread(thread.join)
        self._check()

    def _check(self) -> None:
        """Raise the writer's failure, once: the crawl ends on it, and closing says no more."""
        if self._failure is not None and not self._reported:
            self._reported = True
            reason = self._failure.strerror or str(self._failure)
            raise OutputError(f"cannot write {self.path}: {reason}")

    # -- the writer thread -----------------------------------------------------------

    def _write_all(self, loop: asyncio.AbstractEventLoop, room: asyncio.Semaphore) -> None:
        files = self._files
        assert files is not None
        try:
            while (jobs := self._jobs.get()) is not None:
                if self._failure is None:
                    try:
                        if isinstance(jobs, _Conversion):
                            files.write(self._conversion(jobs))
                            self.records += 1
                        else:
                            files.write(b"".join(map(self._pair, jobs)))
                            self.records += 2 * len(jobs)
                    except OSError as exc:  # reported on the loop, by the next add or close
                        self._failure = exc
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(room.release)
        finally:
            files.close()

    def _pair(self, job: _Job) -> bytes:
        """The response (or revisit) and request records of ``job``, gzipped one by one."""
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
        wire = job.wire
        headers: dict[str, str] = {"WARC-Record-ID": job.record_id, "WARC-Date": wire.date}
        if job.revisit is not None:
            response = self._revisit_record(writer, wire, headers, job.revisit)
        else:
            if job.digest is not None:
                headers["WARC-Payload-Digest"] = job.digest
            if wire.truncated is not None:
                headers["WARC-Truncated"] = TRUNCATED.get(wire.truncated, "unspecified")
            block = wire.response_head + wire.body
            response = writer.create_warc_record(
                wire.url,
                "response",
                payload=io.BytesIO(block),
                length=len(block),
                warc_headers_dict=headers,
            )
        request = writer.create_warc_record(
            wire.url,
            "request",
            payload=io.BytesIO(wire.request_head),
            length=len(wire.request_head),
        )
        writer.write_request_response_pair(request, response)
        return out.getvalue()

    @staticmethod
    def _conversion(job: _Conversion) -> bytes:
        """The ``conversion`` record of a rendered DOM, gzipped on its own."""
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
        headers = {"WARC-Date": job.date}
        if job.refers_to is not None:
            headers["WARC-Refers-To"] = job.refers_to
        record = writer.create_warc_record(
            job.url,
            "conversion",
            payload=io.BytesIO(job.html),
            length=len(job.html),
            warc_headers_dict=headers,
            warc_content_type=RENDERED_TYPE,
        )
        writer.write_record(record)
        return out.getvalue()

    @staticmethod
    def _revisit_record(
        writer: WARCWriter, wire: WireExchange, headers: dict[str, str], revisit: _Revisit
    ) -> Any:
        previous = revisit.previous
        headers = {**headers, "WARC-Profile": revisit.profile}
        headers["WARC-Refers-To-Target-URI"] = previous.url
        if previous.warc_id:
            headers["WARC-Refers-To"] = previous.warc_id
        if previous.warc_date:
            headers["WARC-Refers-To-Date"] = previous.warc_date
        if revisit.digest:
            headers["WARC-Payload-Digest"] = revisit.digest
        return writer.create_warc_record(
            wire.url,
            "revisit",
            payload=io.BytesIO(wire.response_head),
            length=len(wire.response_head),
            warc_headers_dict=headers,
        )

    def _header(self, filename: str) -> bytes:
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
        writer.write_record(writer.create_warcinfo_record(filename, self._info))
        return out.getvalue()


def _digest(body: bytes) -> str:
    """A WARC payload digest, as warcio writes them: ``sha1:`` and base 32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")  # noqa: S324


def _revisit(
    status: int | None, digest: str | None, previous: PageMemory | None
) -> _Revisit | None:
    """A revisit of the earlier capture, when the server or the payload says it is the same."""
    if previous is None or previous.warc_id is None:
        return None
    if status == 304:
        return _Revisit(NOT_MODIFIED_PROFILE, previous, previous.payload_digest)
    if digest is not None and digest == previous.payload_digest:
        return _Revisit(IDENTICAL_PROFILE, previous, digest)
    return None


def _warcinfo(settings: Settings) -> dict[str, str]:
    """The ``warcinfo`` fields: parcrawl, its version, and the settings (seeds left out:
    they may carry credentials)."""
    shown = settings.model_dump(
        mode="json", include={"follow", "recrawl", "parser", "fetch", "scope", "robots", "render"}
    )
    return {
        "software": f"parcrawl/{__version__}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "parcrawl-settings": json.dumps(shown, sort_keys=True, separators=(",", ":")),
    }
