"""Fetching: the shared httpx client turning requests into results, and bounded body decoding.

httpx exceptions stop here; nothing above this package catches ``httpx.*``.
"""

from __future__ import annotations

from crawler.fetch.decoding import (
    BodyTooLarge,
    BoundedDecoder,
    DecodeError,
    UnsupportedEncoding,
    accept_encoding,
)
from crawler.fetch.fetcher import Fetcher, internal_failure, log_internal

__all__ = [
    "BodyTooLarge",
    "BoundedDecoder",
    "DecodeError",
    "Fetcher",
    "UnsupportedEncoding",
    "accept_encoding",
    "internal_failure",
    "log_internal",
]
