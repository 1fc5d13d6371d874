"""Content-Encoding decoding with a hard bound on output: a compression bomb stops at the limit.

Fed the raw (still encoded) body chunk by chunk; it owns no IO and knows nothing of httpx.
"""

from __future__ import annotations

import zlib
from typing import Protocol

from crawler.errors import BodyTooLarge, DecodeError, UnsupportedEncoding

try:
    import brotli  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - brotli is a dependency, but "br" can live without it
    brotli = None

MAX_STACKED_ENCODINGS = 4
"""More codings than this in one Content-Encoding header is refused, never a real server's."""

CHUNK_BYTES = 64 * 1024
"""The most one decompress call may return: keeps every stage's buffers small."""

IDENTITY_CODINGS = frozenset({"identity", "none", ""})
GZIP_CODINGS = frozenset({"gzip", "x-gzip"})
GZIP_MAGIC = b"\x1f\x8b"


def brotli_supported() -> bool:
    """Whether ``br`` can be decoded with bounded output (brotli >= 1.2 has the bound)."""
    if brotli is None:
        return False
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    return True


def accept_encoding() -> str:
    """The ``Accept-Encoding`` request header naming exactly what ``BoundedDecoder`` decodes."""
    return "gzip, deflate, br" if brotli_supported() else "gzip, deflate"


class BoundedDecoder:
    """Decodes one response body; raises instead of producing more than ``max_bytes``.

    Codings are listed in the order they were applied, so they are undone last first.
    Every stage is bounded, not just the last: no single call produces more than
    ``CHUNK_BYTES``, and each stage's total output is capped, so a stacked bomb
    (``gzip, gzip``) never holds more than about ``max_bytes`` in memory. After it raises,
    the decoder is spent.

    Args:
        content_encoding: the raw header value (``"gzip"``, ``"gzip, br"``, None, ...).
        max_bytes: the most decoded bytes accepted.

    Raises:
        UnsupportedEncoding: a coding other than gzip/x-gzip, deflate, br and identity.
    """

    def __init__(self, content_encoding: str | None, max_bytes: int) -> None:
        codings = _codings(content_encoding)
        if len(codings) > MAX_STACKED_ENCODINGS:
            raise UnsupportedEncoding(
                f"{len(codings)} stacked content codings (at most {MAX_STACKED_ENCODINGS})"
            )
        self._stages = [_stage_for(coding) for coding in reversed(codings)]
        self._max_bytes = max_bytes
        # An intermediate stage outputs the next stage's compressed input, which a stored
        # (incompressible) block makes slightly larger than its decoded form: allow that.
        inner_limit = max_bytes + max_bytes // 64 + CHUNK_BYTES
        self._limits = [inner_limit] * (len(self._stages) - 1) + [max_bytes]
        self._produced = [0] * len(self._stages)
        self._decoded = 0

    @property
    def decoded_bytes(self) -> int:
        """Decoded bytes returned so far."""
        return self._decoded

    def feed(self, chunk: bytes) -> bytes:
        """Decode the next raw chunk; returns what it decodes to (often nothing yet).

        Raises:
            BodyTooLarge: the decoded body would exceed ``max_bytes``.
            DecodeError: the data is corrupt.
        """
        if not self._stages:
            room = self._max_bytes - self._decoded
            try:
                self._count(len(chunk))
            except BodyTooLarge as exc:
                exc.partial = chunk[: max(room, 0)]
                raise
            return chunk
        out: list[bytes] = []
        self._stages[0].feed(chunk)
        try:
            self._drain(0, out)
        except BodyTooLarge as exc:
            exc.partial = b"".join(out)
            raise
        return b"".join(out)

    def flush(self) -> bytes:
        """Signal the end of the raw body; returns any last decoded bytes.

        A truncated stream is not an error here (as with httpx and browsers): what
        decoded so far is the body.
        """
        out: list[bytes] = []
        for index, stage in enumerate(self._stages):
            stage.end()
            self._drain(index, out)
        return b"".join(out)

    @property
    def complete(self) -> bool:
        """Whether every coding's stream came to its proper end (False: cut short)."""
        return all(stage.complete for stage in self._stages)

    def _drain(self, index: int, out: list[bytes]) -> None:
        """Pull everything stage ``index`` can produce now and push it down the chain."""
        stage = self._stages[index]
        limit = self._limits[index]
        last = index == len(self._stages) - 1
        while True:
            # One byte past the budget is enough to know the body is too large.
            room = limit - self._produced[index] + 1
            piece = stage.read(min(CHUNK_BYTES, room))
            if not piece:
                return
            self._produced[index] += len(piece)
            if self._produced[index] > limit:
                if last:  # what fits is still output, for a caller that keeps a prefix
                    out.append(piece[: len(piece) - (self._produced[index] - limit)])
                raise self._too_large()
            if last:
                self._decoded += len(piece)
                out.append(piece)
            else:
                self._stages[index + 1].feed(piece)
                self._drain(index + 1, out)

    def _count(self, size: int) -> None:
        self._decoded += size
        if self._decoded > self._max_bytes:
            raise self._too_large()

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"decoded body exceeds max_bytes ({self._max_bytes} bytes)")


class _Stage(Protocol):
    """One coding being undone: holds at most one input chunk, yields bounded output."""

    def feed(self, data: bytes) -> None: ...

    def read(self, max_length: int) -> bytes:
        """Up to ``max_length`` decoded bytes; empty when it needs more input."""
        ...

    def end(self) -> None:
        """No more input will come."""
        ...

    @property
    def complete(self) -> bool:
        """Whether the stream came to its proper end."""
        ...


def _codings(header: str | None) -> list[str]:
    if header is None:
        return []
    codings = [part.strip().lower() for part in header.split(",")]
    return [coding for coding in codings if coding not in IDENTITY_CODINGS]


def _stage_for(coding: str) -> _Stage:
    if coding in GZIP_CODINGS:
        return _ZlibStage(gzip=True)
    if coding == "deflate":
        return _ZlibStage(gzip=False)
    if coding == "br":
        if not brotli_supported():
            raise UnsupportedEncoding("br (needs brotli >= 1.2 for a bounded decoder)")
        return _BrotliStage()
    raise UnsupportedEncoding(coding)


class _ZlibStage:
    """gzip (several members allowed, trailing garbage ignored) or deflate (zlib or raw).

    Never calls ``flush()``, whose output has no bound: output is drained with
    ``decompress(data, max_length)`` until zlib has nothing more.
    """

    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._obj: zlib._Decompress | None = None
        self._pending = b""
        self._more = False  # the last call filled max_length: zlib may hold more output
        self._members = 0
        self._member_output = 0
        self._member_input = False  # the member in progress has been given bytes
        self._ended = False
        self._done = False  # the stream is over: later bytes are ignored

    def feed(self, data: bytes) -> None:
        if not self._done:
            self._pending += data

    def end(self) -> None:
        self._ended = True

    @property
    def complete(self) -> bool:
        return self._done or (self._members > 0 and not self._member_input and not self._pending)

    def read(self, max_length: int) -> bytes:
        while not self._done:
            if self._obj is None and not self._start():
                return b""
            assert self._obj is not None
            if not self._pending and not self._more:
                return b""
            self._member_input = self._member_input or bool(self._pending)
            try:
                out = self._obj.decompress(self._pending, max_length)
            except zlib.error as exc:
                if self._members and not self._member_output:
                    # Bytes after a complete gzip member that are not another member:
                    # padding or junk, which browsers ignore.
                    self._stop()
                    return b""
                raise DecodeError(f"corrupt {self._name} data: {exc}") from exc
            self._pending = self._obj.unconsumed_tail
            self._more = len(out) == max_length
            self._member_output += len(out)
            if self._obj.eof:
                self._next_member(self._obj.unused_data)
            if out:
                return out
        return b""

    @property
    def _name(self) -> str:
        return "gzip" if self._gzip else "deflate"

    def _start(self) -> bool:
        """Open a decompressor for the next stream; False while too few bytes to choose."""
        if self._gzip:
            self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
            return True
        if len(self._pending) < 2 and not self._ended:
            return False
        # "deflate" should be zlib-wrapped, but servers often send raw deflate; browsers
        # accept both, told apart by the zlib header (RFC 1950: method 8, check bits).
        zlib_wrapped = _is_zlib_header(self._pending[:2])
        self._obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        return True

    def _next_member(self, rest: bytes) -> None:
        self._members += 1
        self._member_output = 0
        self._member_input = False
        self._more = False
        self._obj = None
        if self._gzip:
            self._pending = rest
        else:
            self._stop()

    def _stop(self) -> None:
        self._done = True
        self._pending = b""
        self._obj = None


def _is_zlib_header(head: bytes) -> bool:
    if len(head) < 2:
        return False
    cmf, flg = head[0], head[1]
    no_dictionary = not flg & 0x20
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf * 256 + flg) % 31 == 0 and no_dictionary


class _BrotliStage:
    """br, with brotli's ``output_buffer_limit`` (brotli >= 1.2) bounding each call."""

    def __init__(self) -> None:
        assert brotli is not None
        self._decompressor = brotli.Decompressor()
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending += data

    def end(self) -> None:
        pass

    @property
    def complete(self) -> bool:
        return bool(self._decompressor.is_finished())

    def read(self, max_length: int) -> bytes:
        decompressor = self._decompressor
        if decompressor.is_finished():
            if self._pending:
                raise DecodeError("data after the end of the br stream")
            return b""
        data = b""
        # Until it can accept more, it holds output and must be drained with empty input;
        # even when it can, it may still hold output, so an empty call is never skipped.
        if decompressor.can_accept_more_data():
            data, self._pending = self._pending, b""
        try:
            out: bytes = decompressor.process(data, output_buffer_limit=max_length)
        except brotli.error as exc:
            raise DecodeError(f"corrupt br data: {exc}") from exc
        return out
