"""The Lua scripts that change a shared crawl in Redis, loaded from ``lua/*.lua`` (package
data), and how a request is packed for them. It owns the data changes; when to call them is
the frontier's.

Each script is atomic: add links, take leases, end a fetch, let a lease leave its level early
(``leave``: its page renders), finish records, renew and release leases, begin or end a
recrawl run; host timing (``begin``, ``sent``, ``hold``, ``may_start``, the autothrottle's
``throttle``). Every script but ``join`` starts with ``lua/prelude.lua``: the crawl's key
prefix (``ARGV[1]``, see :mod:`.keys`), Redis's clock, the crawl's settings and the helpers
they share (scheduling a host, counting, leases).

Keys under the prefix: ``seen`` SET of 16-byte digests; ``q:<host>`` ZSET request -> depth x
1e12 + sequence; ``h:<host>`` HASH active/next/held/open/sending/last/delay/backoff/started
and the autothrottle's cap/tdelay/slowed/ver (ms; ``next`` paces hand-outs, ``open`` the
gate, ``sending`` a start not on the wire yet);
``hosts`` ZSET of hosts with work and a free slot -> the time they may start; ``lease`` HASH
token -> request (with its host ``h``, process ``p``, ``e`` 1 once its fetch ended with a
record to follow, ``x`` 1 once it left its level); ``leases`` ZSET token -> expiry;
``retries`` ZSET request -> due; ``levels`` HASH depth -> requests queued or leased
(leases that left it aside); ``outcome`` HASH digest -> status or error code;
``counts``, ``procs``, ``feeders``, ``meta``. Times are Redis's own clock (ms), the one clock
every process shares.
"""

from __future__ import annotations

import json
import time
from functools import cache
from importlib.resources import files

from crawler.frontier.lifecycle import Ending, Fetched, HeldBack, Refused, RetryIn, Unfetched
from crawler.models import FetchRequest

NAMES = (
    "join",
    "add",
    "take",
    "end",
    "leave",
    "done",
    "renew",
    "release",
    "begin",
    "sent",
    "hold",
    "may_start",
    "throttle",
    "recrawl",
    "finish",
)
"""Every script by the name callers run it under (``lua/<name>.lua``)."""

STANDALONE = frozenset({"join"})
"""Scripts without the prelude: ``join`` runs before the crawl's meta exists."""


def _read(name: str) -> str:
    return (files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


@cache
def load_scripts() -> dict[str, str]:
    """Every script's Lua source by name, the prelude put in front of those that need it
    (read once per process)."""
    prelude = _read("prelude")
    return {
        name: _read(name) if name in STANDALONE else f"{prelude}\n{_read(name)}" for name in NAMES
    }


def encode_request(request: FetchRequest) -> str:
    """``request`` as the scripts keep it: JSON with one-letter keys (u, d, r, a, n)."""
    return json.dumps(
        {
            "u": request.url,
            "d": request.depth,
            "r": request.referrer or False,
            "a": request.attempt,
            "n": request.not_before,
        },
        separators=(",", ":"),
    )


def decode_request(raw: bytes) -> FetchRequest:
    """A request as the scripts hand it back."""
    item = json.loads(raw)
    return FetchRequest(item["u"], int(item["d"]), item["r"] or None, int(item["a"]), item["n"])


def encode_ending(how: Ending) -> tuple[str, int, float, str]:
    """How a lease ended, as ``end.lua`` takes it: its kind (fetched, unfetched, refused,
    retry, held), a retry's delay (ms) and wall-clock time (epoch s), a refusal's reason."""
    if isinstance(how, RetryIn):
        return "retry", int(how.delay_s * 1000), time.time() + how.delay_s, ""
    if isinstance(how, Refused):
        return "refused", 0, 0.0, how.reason
    kinds = {Fetched: "fetched", Unfetched: "unfetched", HeldBack: "held"}
    kind = kinds.get(type(how))
    if kind is None:
        raise TypeError(f"unknown ending {how!r}")
    return kind, 0, 0.0, ""
