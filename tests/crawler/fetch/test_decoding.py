"""BoundedDecoder: every coding round-trips, chunking never matters, bombs stop at the limit.

Also smoke tests of the hostile server the decoder is meant to survive.
"""

from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import Iterable, Iterator

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from crawler.errors import BodyTooLarge, DecodeError, UnsupportedEncoding
from crawler.fetch import BoundedDecoder, accept_encoding
from tests.support.hostile import BIG_PAGE_BYTES, HostileServer, gzip_bomb, gzip_bytes

PAGE = b"".join(b"<p>paragraph %d of a page worth crawling</p>\n" % n for n in range(3000))
MIB = 1 << 20


def deflate_zlib(data: bytes) -> bytes:
    return zlib.compress(data)


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def br(data: bytes) -> bytes:
    return bytes(brotli.compress(data))


def brotli_bomb(decoded_bytes: int) -> bytes:
    compressor = brotli.Compressor(quality=1)
    zeros = bytes(MIB)
    parts = [compressor.process(zeros) for _ in range(decoded_bytes // MIB)]
    return b"".join([*parts, compressor.finish()])


def decode(
    encoding: str | None, body: bytes, *, chunk: int = 4096, max_bytes: int = 10 * MIB
) -> bytes:
    decoder = BoundedDecoder(encoding, max_bytes)
    parts = [decoder.feed(body[i : i + chunk]) for i in range(0, len(body), chunk)]
    return b"".join([*parts, decoder.flush()])


ENCODED = {
    "gzip": gzip_bytes(PAGE),
    "x-gzip": gzip_bytes(PAGE),
    "deflate": deflate_zlib(PAGE),
    "br": br(PAGE),
    "identity": PAGE,
    "gzip, br": br(gzip_bytes(PAGE)),
    "deflate, gzip": gzip_bytes(deflate_raw(PAGE)),
    "GZIP , gzip": gzip_bytes(gzip_bytes(PAGE)),
    "br, identity, deflate": deflate_zlib(br(PAGE)),
}


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_each_coding_and_stack_decodes_to_the_page(encoding: str) -> None:
    assert decode(encoding, ENCODED[encoding]) == PAGE


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_one_byte_at_a_time_gives_the_same_output(encoding: str) -> None:
    assert decode(encoding, ENCODED[encoding], chunk=1) == PAGE


def test_raw_deflate_without_zlib_header_is_accepted_like_browsers_do() -> None:
    assert decode("deflate", deflate_raw(PAGE)) == PAGE
    assert decode("deflate", deflate_raw(PAGE), chunk=1) == PAGE


@pytest.mark.parametrize("header", [None, "", "identity", " Identity "])
def test_no_coding_passes_bytes_through(header: str | None) -> None:
    decoder = BoundedDecoder(header, 100)
    assert decoder.feed(b"hello ") + decoder.feed(b"world") + decoder.flush() == b"hello world"
    assert decoder.decoded_bytes == 11


def test_identity_body_over_the_limit_is_too_large() -> None:
    decoder = BoundedDecoder(None, 10)
    decoder.feed(b"0123456789")
    with pytest.raises(BodyTooLarge):
        decoder.feed(b"!")


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate, gzip"])
def test_a_body_of_exactly_max_bytes_passes_and_one_more_fails(encoding: str) -> None:
    body = ENCODED[encoding]
    assert decode(encoding, body, max_bytes=len(PAGE)) == PAGE
    with pytest.raises(BodyTooLarge):
        decode(encoding, body, max_bytes=len(PAGE) - 1)


def test_decoded_bytes_counts_output() -> None:
    decoder = BoundedDecoder("gzip", 10 * MIB)
    out = decoder.feed(gzip_bytes(PAGE)) + decoder.flush()
    assert decoder.decoded_bytes == len(out) == len(PAGE)


def test_concatenated_gzip_members_are_all_decoded() -> None:
    body = gzip_bytes(b"first ") + gzip_bytes(b"second")
    assert decode("gzip", body) == decode("gzip", body, chunk=1) == b"first second"


def test_junk_after_the_stream_is_ignored() -> None:
    for encoding, body in [("gzip", gzip_bytes(PAGE)), ("deflate", deflate_zlib(PAGE))]:
        assert decode(encoding, body + b"\0\0\r\njunk", chunk=1) == PAGE


def test_a_truncated_stream_yields_what_decoded_so_far() -> None:
    body = gzip_bytes(PAGE)
    partial = decode("gzip", body[: len(body) // 2])
    assert partial
    assert PAGE.startswith(partial)


def test_an_empty_body_with_a_coding_is_empty() -> None:
    for encoding in ("gzip", "deflate", "br", "gzip, br"):
        assert decode(encoding, b"") == b""


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"this is not gzip at all"),
        ("gzip", gzip_bytes(PAGE)[:20] + b"\xff" * 200),
        ("deflate", deflate_zlib(PAGE)[:10] + b"\xff" * 200),
        ("br", b"\xff\xff\xff this is not brotli"),
        ("br", br(PAGE) + b"trailing"),
        ("gzip, br", br(b"plain text, not gzip")),
    ],
)
def test_corrupt_data_is_a_decode_error(encoding: str, body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(encoding, body)


@pytest.mark.parametrize("encoding", ["compress", "zstd", "gzip, sdch", "x-custom"])
def test_unknown_coding_is_unsupported_and_named(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding, match=encoding.rsplit(", ", maxsplit=1)[-1]):
        BoundedDecoder(encoding, 100)


def test_absurdly_stacked_codings_are_refused() -> None:
    with pytest.raises(UnsupportedEncoding, match="stacked"):
        BoundedDecoder(", ".join(["gzip"] * 50), 100)


def test_accept_encoding_names_what_is_decodable() -> None:
    assert accept_encoding() == "gzip, deflate, br"


def _feed_all(decoder: BoundedDecoder, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.flush()


def _peak_while_decoding(encoding: str, body: bytes, max_bytes: int) -> int:
    """Feed ``body`` in 2 KB chunks expecting BodyTooLarge; returns the traced memory peak."""
    tracemalloc.start()
    try:
        decoder = BoundedDecoder(encoding, max_bytes)
        with pytest.raises(BodyTooLarge):
            _feed_all(decoder, (body[start : start + 2048] for start in range(0, len(body), 2048)))
        assert decoder.decoded_bytes <= max_bytes
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # seconds of live serving: kept out of the quick loop
@pytest.mark.parametrize(("encoding", "layers"), [("gzip", 1), ("gzip, gzip", 2)])
def test_gigabyte_gzip_bomb_stops_at_the_limit_in_small_memory(encoding: str, layers: int) -> None:
    bomb = gzip_bomb(1 << 30, layers)
    assert len(bomb) < 2 * MIB
    assert _peak_while_decoding(encoding, bomb, 10 * MIB) < 64 * MIB


def test_brotli_bomb_stops_at_the_limit_in_small_memory() -> None:
    bomb = brotli_bomb(1 << 30)
    assert len(bomb) < 2 * MIB
    assert _peak_while_decoding("br", bomb, 10 * MIB) < 64 * MIB


def test_bomb_inside_brotli_inside_gzip_stops_too() -> None:
    bomb = gzip_bytes(brotli_bomb(256 * MIB))
    assert _peak_while_decoding("br, gzip", bomb, 4 * MIB) < 32 * MIB


# --- the hostile server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def test_flaky_fails_twice_then_serves(hostile: HostileServer) -> None:
    statuses = [httpx.get(hostile.url("/flaky/smoke")).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert hostile.count("/flaky/smoke") == 4
    assert [hit.path for hit in hostile.log].count("/flaky/smoke") == 4


def test_retry_after_asks_once_to_wait(hostile: HostileServer) -> None:
    first = httpx.get(hostile.url("/retry-after/smoke"))
    assert (first.status_code, first.headers["retry-after"]) == (429, "2")
    assert httpx.get(hostile.url("/retry-after/smoke")).status_code == 200


@pytest.mark.parametrize(
    ("path", "encoding"), [("/gzip-bomb", "gzip"), ("/gzip-gzip-bomb", "gzip, gzip")]
)
@pytest.mark.slow
def test_served_bombs_are_small_on_the_wire_and_stopped_by_the_decoder(
    hostile: HostileServer, path: str, encoding: str
) -> None:
    with httpx.stream("GET", hostile.url(path), timeout=30) as response:
        assert response.headers["content-encoding"] == encoding
        decoder = BoundedDecoder(response.headers["content-encoding"], 10 * MIB)
        with pytest.raises(BodyTooLarge):
            _feed_all(decoder, response.iter_raw())
        assert response.num_bytes_downloaded < 2 * MIB


def test_redirect_chain_ends_and_loop_does_not(hostile: HostileServer) -> None:
    response = httpx.get(hostile.url("/chain/3"), follow_redirects=True)
    assert response.status_code == 200
    assert len(response.history) == 3
    with pytest.raises(httpx.TooManyRedirects):
        httpx.get(hostile.url("/redirect-loop"), follow_redirects=True)


def test_reset_breaks_the_connection_mid_body(hostile: HostileServer) -> None:
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(hostile.url("/reset"))


def test_empty_big_and_huge_headers(hostile: HostileServer) -> None:
    assert httpx.get(hostile.url("/empty")).content == b""
    with httpx.stream("GET", hostile.url("/big"), timeout=30) as response:
        assert sum(len(chunk) for chunk in response.iter_raw()) > BIG_PAGE_BYTES - 4096
    headers = _raw_head(hostile, "/huge-headers")
    assert len(headers) > 100_000


def test_slow_headers_time_out(hostile: HostileServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(hostile.url("/slow-headers"), timeout=httpx.Timeout(5, read=0.5))


def test_stopping_the_server_drops_a_hanging_trickle_at_once() -> None:
    with HostileServer(trickle_interval_s=0.05) as server:
        client = socket.create_connection(("127.0.0.1", server.port))
        client.settimeout(5)
        client.sendall(b"GET /trickle HTTP/1.1\r\nHost: test\r\n\r\n")
        assert client.recv(12) == b"HTTP/1.1 200"
        time.sleep(0.2)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 1
    with client:
        received = b""
        while chunk := client.recv(65536):  # ends in EOF, not in the 5 s timeout
            received += chunk
    assert b"xx" in received


def _raw_head(server: HostileServer, path: str) -> bytes:
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = client.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize(
    ("encoding", "body", "complete"),
    [
        ("gzip", gzip.compress(b"one") + gzip.compress(b"two"), True),
        ("gzip", gzip.compress(b"one") + b"\x00\x00 padding", True),
        ("gzip", gzip.compress(b"one" * 1000)[:-12], False),
        ("gzip", gzip.compress(b"one") + gzip.compress(b"two")[:8], False),
        ("deflate", zlib.compress(b"one"), True),
        ("deflate", zlib.compress(b"one" * 1000)[:-6], False),
        (None, b"plain", True),
    ],
    ids=["two members", "padding", "cut", "cut second member", "deflate", "cut deflate", "none"],
)
def test_the_decoder_tells_a_body_cut_short_from_a_whole_one(encoding, body, complete):
    decoder = BoundedDecoder(encoding, 1 << 20)
    decoder.feed(body)
    decoder.flush()
    assert decoder.complete is complete
