"""A loopback HTTP server that misbehaves on purpose: bombs, trickles, resets, loops, bad charsets.

Hand-written responses over asyncio streams, in its own event loop on a background thread;
``http.server`` cannot misbehave this much. Also the sample pages and bomb builder tests reuse.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import http
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

BOMB_DECODED_BYTES = 1 << 30
BIG_PAGE_BYTES = 50 * 1024 * 1024
HUGE_HEADER_BYTES = 100 * 1024
STOP_TIMEOUT_S = 5.0


# --- sample pages in legacy encodings --------------------------------------------------------


@dataclass(frozen=True)
class EncodedPage:
    """An HTML page as a server would send it: its text, its bytes and its (wrong) header."""

    text: str
    encoding: str
    content_type: str
    bom: bytes = b""

    @property
    def body(self) -> bytes:
        return self.bom + self.text.encode(self.encoding)


def _html(title: str, paragraphs: str, lang: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><title>{title}</title></head>\n'
        f"<body><h1>{title}</h1>\n<p>{paragraphs}</p></body></html>\n"
    )


FRENCH_TEXT = (
    "Le théâtre municipal a rouvert ses portes vendredi soir après dix-huit mois de "
    "travaux. « C'est une renaissance », a déclaré la maire, qui a salué le travail des "
    "artisans : les fauteuils en velours rouge ont été restaurés un à un, la façade a "
    "retrouvé ses ornements dorés et l'acoustique, jugée médiocre depuis des décennies, "
    "a été entièrement repensée. Le public, venu nombreux malgré la pluie, a découvert un "
    "programme éclectique mêlant opéra, danse contemporaine et théâtre de rue. Les billets "
    "pour la saison d'été sont déjà presque épuisés — une réussite que personne n'osait "
    "espérer au début du chantier, lorsque des fissures inquiétantes avaient été "
    "découvertes sous la scène. Prochain rendez-vous : le festival de jazz, fin août."
).replace("'", "\u2019")  # typographic apostrophes: 0x92 in windows-1252, not in latin-1

KOREAN_TEXT = (
    "서울시는 내년부터 시내버스 노선을 대폭 개편한다고 밝혔다. 시는 출퇴근 시간대 혼잡을 "
    "줄이기 위해 주요 간선 노선의 배차 간격을 줄이고, 지하철역과 주거 단지를 잇는 마을버스 "
    "노선을 새로 만들 계획이다. 교통 전문가들은 이번 개편이 시민들의 이동 시간을 평균 "
    "십 분 이상 단축할 것으로 내다봤다. 한편 일부 시민 단체는 노선 폐지로 불편을 겪는 "
    "지역이 생길 수 있다며 충분한 의견 수렴이 필요하다고 지적했다. 시 관계자는 다음 달까지 "
    "구청별 설명회를 열어 주민들의 의견을 듣고, 필요하면 계획을 수정하겠다고 말했다. "
    "새 노선도는 시청 누리집과 정류장 안내판에서 확인할 수 있다."
)

JAPANESE_TEXT = (
    "気象庁によりますと、発達した低気圧の影響で、あすにかけて東日本の太平洋側を中心に"
    "大雨となるおそれがあります。特に関東地方では、一時間に五十ミリ以上の非常に激しい雨が"
    "降る見込みで、土砂災害や低い土地の浸水、河川の増水に十分な注意が必要です。"
    "鉄道各社は、運転を見合わせる可能性があるとして、最新の運行情報を確認するよう"
    "呼びかけています。また、東京都内の一部の小学校では、あすの授業を休みにすることを"
    "決めました。気象庁は、不要不急の外出を控え、早めに避難場所を確認しておくよう"
    "求めています。週末には天気は回復し、気温も平年並みに戻る見通しです。"
)

ENCODED_PAGES: dict[str, EncodedPage] = {
    "windows-1252": EncodedPage(
        _html("Le théâtre rouvre", FRENCH_TEXT, "fr"), "cp1252", "text/html; charset=utf-8"
    ),
    "euc-kr": EncodedPage(_html("버스 노선 개편", KOREAN_TEXT, "ko"), "euc_kr", "text/html"),
    "shift_jis": EncodedPage(
        _html("大雨のおそれ", JAPANESE_TEXT, "ja"), "shift_jis", "text/html; charset=utf-8"
    ),
    "utf-16": EncodedPage(
        _html("大雨のおそれ", JAPANESE_TEXT, "ja"),
        "utf-16-le",
        "text/html; charset=utf-8",
        bom=codecs.BOM_UTF16_LE,
    ),
}
"""Pages whose charset header is wrong (says utf-8) or missing, by /enc/{name}."""


# --- compression bombs -------------------------------------------------------------------------


@functools.cache
def gzip_bomb(decoded_bytes: int = BOMB_DECODED_BYTES, layers: int = 1) -> bytes:
    """Zeros gzipped ``layers`` times; built streaming, so memory stays at the compressed size."""
    if layers > 1:
        return gzip_bytes(gzip_bomb(decoded_bytes, layers - 1))
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    parts = []
    for start in range(0, decoded_bytes, len(zeros)):
        parts.append(compressor.compress(zeros[: decoded_bytes - start]))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


# --- the server --------------------------------------------------------------------------------


class Hit(NamedTuple):
    """One request the server saw: its path and ``time.monotonic()`` on arrival."""

    path: str
    at_s: float


Handler = Callable[["HostileServer", re.Match[str], asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class RawReply:
    """One scripted response, header values as raw bytes (``b"\\xb2"`` goes out as is)."""

    status: int = 200
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    content_type: bytes = b"text/html; charset=utf-8"

    def encode(self) -> bytes:
        fields = [
            (b"Content-Type", self.content_type),
            (b"Content-Length", str(len(self.body)).encode()),
            *self.headers,
            (b"Connection", b"close"),
        ]
        status_line = f"HTTP/1.1 {self.status} {http.HTTPStatus(self.status).phrase}".encode()
        lines = [status_line, *(name + b": " + value for name, value in fields)]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


class HostileServer:
    """``with HostileServer() as server: httpx.get(server.url("/flaky/1"))``.

    Every connection is closed after one response (``Connection: close``). Leaving the
    ``with`` block aborts connections still open (a trickle the client never hung up).
    """

    def __init__(self, *, trickle_interval_s: float = 1.0) -> None:
        self.trickle_interval_s = trickle_interval_s
        self.log: list[Hit] = []
        self._counts: dict[str, int] = {}
        self._scripted: dict[str, tuple[RawReply, ...]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def requests(self) -> list[str]:
        """Requested paths, in order."""
        return [hit.path for hit in self.log]

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._port}{path}"

    def script(self, path: str, *replies: RawReply) -> str:
        """Answer ``path`` with ``replies`` in turn (the last one from then on); its URL."""
        self._scripted[path] = replies
        return self.url(path)

    def count(self, key: str) -> int:
        """How often a counted route (e.g. ``/flaky/1``) was requested."""
        return self._counts.get(key, 0)

    def __enter__(self) -> HostileServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(STOP_TIMEOUT_S) or not self._port:
            raise RuntimeError("hostile server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._thread is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(STOP_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self, ready: threading.Event) -> None:
        self._loop = loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0)
            )
            self._port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
        finally:
            ready.set()
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            path = await _read_request(reader)
            if path is not None:
                self.log.append(Hit(path, time.monotonic()))
                await self._dispatch(path, writer)
            writer.close()  # unlike abort(), sends what is still buffered first
            await writer.wait_closed()
        except (ConnectionError, ValueError, asyncio.CancelledError):
            pass  # the client hung up or sent junk, or the server is stopping
        finally:
            self._tasks.discard(task)
            writer.transport.abort()  # a no-op once closed; otherwise stop at once

    async def _dispatch(self, path: str, writer: asyncio.StreamWriter) -> None:
        if replies := self._scripted.get(path):
            reply = replies[min(self.bump(path), len(replies)) - 1]
            writer.write(reply.encode())
            await writer.drain()
            return
        for pattern, handler in ROUTES:
            if match := pattern.fullmatch(path):
                await handler(self, match, writer)
                return
        await respond(writer, 404, b"<h1>not found</h1>")

    def bump(self, key: str) -> int:
        """Count a request to ``key``; returns how many there have been, this one included."""
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]


async def _read_request(reader: asyncio.StreamReader) -> str | None:
    """The path of the request on ``reader`` (headers read and dropped); None if none came."""
    request_line = await reader.readline()
    parts = request_line.split()
    if len(parts) < 2:
        return None
    while (await reader.readline()).strip():
        pass
    return parts[1].decode("latin-1")


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def respond(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> None:
    """Write one complete response with a Content-Length."""
    fields = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    fields += [*(headers or []), ("Connection", "close")]
    writer.write(_head(status, fields) + body)
    await writer.drain()


def _page(title: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><p>{title}</p></body></html>".encode()


# --- handlers: one small function per misbehaviour ---------------------------------------------


async def _flaky(server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter) -> None:
    if server.bump(match.group(0)) <= 2:
        await respond(writer, 503, b"<h1>try again</h1>")
    else:
        await respond(writer, 200, _page(f"flaky {match.group(1)}"))


async def _retry_after(
    server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter
) -> None:
    if server.bump(match.group(0)) == 1:
        await respond(writer, 429, b"<h1>slow down</h1>", [("Retry-After", "2")])
    else:
        await respond(writer, 200, _page(f"retry-after {match.group(1)}"))


async def _bomb(server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter) -> None:
    layers = 2 if match.group(1) else 1
    # Built off the loop: the first build takes seconds; later ones are cached.
    body = await asyncio.to_thread(gzip_bomb, BOMB_DECODED_BYTES, layers)
    encoding = ", ".join(["gzip"] * layers)
    await respond(writer, 200, body, [("Content-Encoding", encoding)])


async def _trickle(
    server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter
) -> None:
    writer.write(_head(200, [("Content-Type", "text/html"), ("Connection", "close")]))
    while True:
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(server.trickle_interval_s)


async def _slow_headers(
    server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter
) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
    for number in range(1_000_000):
        writer.write(f"X-Slow-{number}: 1\r\n".encode())
        await writer.drain()
        await asyncio.sleep(server.trickle_interval_s)


async def _redirect(
    server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter
) -> None:
    target = "/redirect-loop-b" if match.group(0) == "/redirect-loop" else "/redirect-loop"
    await respond(writer, 302, b"", [("Location", target)])


async def _chain(server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter) -> None:
    hops = int(match.group(1))
    if hops == 0:
        await respond(writer, 200, _page("end of the chain"))
    else:
        await respond(writer, 302, b"", [("Location", f"/chain/{hops - 1}")])


async def _reset(server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter) -> None:
    fields = [("Content-Type", "text/html"), ("Content-Length", "100000")]
    writer.write(_head(200, fields) + b"<html><body>" + b"a" * 1000)
    await writer.drain()
    await asyncio.sleep(0.1)  # let the client read the partial body before the reset
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # with SO_LINGER 0 the close sends RST, not FIN


async def _empty(server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter) -> None:
    await respond(writer, 200, b"")


async def _big(server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter) -> None:
    head, tail = b"<html><head><title>big</title></head><body>\n", b"</body></html>\n"
    paragraph = b"<p>" + b"All work and no play makes a big page. " * 40 + b"</p>\n"
    count = (BIG_PAGE_BYTES - len(head) - len(tail)) // len(paragraph)
    length = len(head) + count * len(paragraph) + len(tail)
    writer.write(_head(200, [("Content-Type", "text/html"), ("Content-Length", str(length))]))
    writer.write(head)
    for _ in range(count):
        writer.write(paragraph)
        await writer.drain()
    writer.write(tail)
    await writer.drain()


async def _encoded(
    server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter
) -> None:
    page = ENCODED_PAGES.get(match.group(1))
    if page is None:
        await respond(writer, 404, b"<h1>no such page</h1>")
    else:
        await respond(writer, 200, page.body, content_type=page.content_type)


async def _huge_headers(
    server: HostileServer, match: re.Match[str], writer: asyncio.StreamWriter
) -> None:
    filler = [(f"X-Filler-{number}", "f" * 90) for number in range(HUGE_HEADER_BYTES // 100)]
    await respond(writer, 200, _page("huge headers"), filler)


ROUTES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(r"/flaky/([^/]+)"), _flaky),
    (re.compile(r"/retry-after/([^/]+)"), _retry_after),
    (re.compile(r"/gzip-(gzip-)?bomb"), _bomb),
    (re.compile(r"/trickle"), _trickle),
    (re.compile(r"/slow-headers"), _slow_headers),
    (re.compile(r"/redirect-loop(-b)?"), _redirect),
    (re.compile(r"/chain/(\d{1,4})"), _chain),
    (re.compile(r"/reset"), _reset),
    (re.compile(r"/empty"), _empty),
    (re.compile(r"/big"), _big),
    (re.compile(r"/enc/([\w-]+)"), _encoded),
    (re.compile(r"/huge-headers"), _huge_headers),
]
