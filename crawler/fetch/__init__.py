"""Fetching: the shared httpx client turning requests into results, and bounded body decoding.

httpx exceptions stop here; nothing above this package catches ``httpx.*``.
"""

from __future__ import annotations

from crawler.fetch.decoding import BoundedDecoder, accept_encoding
from crawler.fetch.failures import internal_failure, log_internal
from crawler.fetch.fetcher import Conditions, Fetcher
from crawler.fetch.passthrough import Relayed
from crawler.fetch.tls import check_network

__all__ = [
    "BoundedDecoder",
    "Conditions",
    "Fetcher",
    "Relayed",
    "accept_encoding",
    "check_network",
    "internal_failure",
    "log_internal",
]
