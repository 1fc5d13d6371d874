"""A response's body read through the bounded decoder: never more than ``max_bytes`` of it,
however it is compressed. It reads one httpx response; requests and redirects are not its."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from crawler.errors import BodyTooLarge, DecodeError, FetchError, UnsupportedEncoding
from crawler.fetch.decoding import BoundedDecoder


def _decoder_for(response: httpx.Response, max_bytes: int) -> BoundedDecoder:
    # A mock transport hands over the whole body, already decoded by httpx: only count it.
    encoding = None if response.is_stream_consumed else response.headers.get("content-encoding")
    return BoundedDecoder(encoding, max_bytes)


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as sent (still content-encoded, unless a mock decoded it), chunk by chunk."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


async def decoded_body(
    response: httpx.Response,
    max_bytes: int,
    *,
    keep_prefix: bool = False,
    raw: list[bytes] | None = None,
) -> bytes:
    """The body, decoded by our bounded decoder: never more than ``max_bytes`` of it.

    ``raw`` collects the chunks as received (still content-encoded), for an archive.

    Over the limit it raises ``BodyTooLarge``, or, with ``keep_prefix``, stops reading and
    returns what it decoded so far (robots.txt and sitemaps are cut, not failed).

    Raises:
        FetchError: ``decode`` for a corrupt or unknown content encoding.
    """
    chunks: list[bytes] = []
    try:
        decoder = _decoder_for(response, max_bytes)
        async for chunk in _raw_chunks(response):
            if raw is not None:
                raw.append(chunk)
            chunks.append(decoder.feed(chunk))
        chunks.append(decoder.flush())
    except BodyTooLarge as exc:
        if not keep_prefix:
            raise
        chunks.append(exc.partial)
    except (DecodeError, UnsupportedEncoding) as exc:
        raise FetchError("decode", f"cannot decode the body: {exc}") from exc
    return b"".join(chunks)[:max_bytes]
