"""Admission: whether a URL may be fetched at all: scope, robots.txt and the address guard.

It never decides when (host timing is :mod:`crawler.frontier`'s) and never fetches.
"""

from __future__ import annotations

from crawler.admission.addresses import (
    PRIVATE_REFUSAL,
    AddressGuard,
    GuardedBackend,
    is_private,
    resolve,
)
from crawler.admission.policy import FETCH, Admission, Verdict
from crawler.admission.robots import ROBOTS_PATH, RobotsCache, RobotsResponse, RobotsVerdict
from crawler.admission.scope import Scope, Skip, site_key
from crawler.admission.shared_robots import shared_robots

__all__ = [
    "FETCH",
    "PRIVATE_REFUSAL",
    "ROBOTS_PATH",
    "AddressGuard",
    "Admission",
    "GuardedBackend",
    "RobotsCache",
    "RobotsResponse",
    "RobotsVerdict",
    "Scope",
    "Skip",
    "Verdict",
    "is_private",
    "resolve",
    "shared_robots",
    "site_key",
]
