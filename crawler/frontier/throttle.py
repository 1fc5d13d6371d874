"""The autothrottle: a host's rate (requests in flight, extra delay) that follows how the
server answers, and the controller that decides when to change it.

Pure and clock-free (windows count answers, not seconds): ``HostThrottle`` reads each
answer and says ``SLOWER``/``FASTER`` once per window; ``next_rate`` is the one step rule,
mirrored by ``lua/throttle.lua`` for a shared crawl. Applying a rate is the frontier's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crawler.frontier.hosts import HostAnswer
from crawler.frontier.recent import RecentlyUsed

Verdict = Literal["slower", "faster"]
SLOWER: Verdict = "slower"
FASTER: Verdict = "faster"

START_LIMIT = 2
"""Requests in flight to a host before it answered: like TCP's slow start, since the first
burst is where an unknown server is hurt most; it doubles per window while answers stay
fast, so a healthy host has 8 at once after ~14 answers (a 0.5 s server: ~2.5 s)."""

MIN_SAMPLES = 4
"""Answers a window needs at least."""

WINDOW_PER_REQUEST = 2
"""Answers a window needs per request the host may have in flight: a stall of our own
delays at most one round of them, under half the window (see ``HostThrottle``)."""

HIGH_RATIO, HIGH_MARGIN_S = 2.0, 0.05
"""Slower when a window's typical answer time passes both 2x the baseline and baseline + 50 ms:
the margin keeps a 1 ms server that answers in 5 ms for a while (our own busy event loop, a
GC pause) from counting as a struggling one."""

LOW_RATIO, LOW_MARGIN_S = 1.5, 0.02
"""Faster only below both 1.5x the baseline and baseline + 20 ms; between the two: hold (no
oscillation around one threshold)."""

RELIEF = 0.75
"""A slow-down that leaves the next window's typical answer time above 3/4 of what it was
did not help: the slowness is the server's own (heavier pages, other clients), not our
load, and that answer time becomes the baseline (else a site whose later pages are slower
than its first would be throttled down to one request per ``MAX_DELAY_S``)."""

TROUBLE_SHARE = 0.25
"""Slower when a window's share of troubles passes the host's own share by a quarter: one
error among four answers is a broken page more often than a struggling server."""

MIN_DELAY_S = 0.05
"""An extra delay halved below this (or below the floor) is dropped."""

MAX_DELAY_S = 10.0
"""The largest extra delay the autothrottle adds (a Crawl-delay may be longer: it stands)."""

MAX_HOSTS = 10_000
"""Controllers a process keeps: those of the hosts answered last. A crawl of a URL list may
reach millions of hosts, and memory must stay flat however many; a host not answered while
10,000 others were is idle for now (far more hosts than fetches ever run at once), and
coming back it starts over at slow start: the cautious end, 2 at once, doubling while its
answers stay fast. Some hundreds of bytes each: a few MB."""


@dataclass(frozen=True, slots=True)
class Rate:
    """A host's rate as the autothrottle set it.

    ``delay_s`` is its own delay between starts (0: none): the host's delay is the larger
    of it and the floor (``--delay``, Crawl-delay), so it never undercuts either.
    ``slowed`` counts slow-downs; 0 means still in slow start (doubling).
    """

    limit: int
    delay_s: float = 0.0
    slowed: int = 0

    def delay_over(self, floor_s: float) -> float:
        """The host's delay between starts with this rate over ``floor_s``."""
        return max(self.delay_s, floor_s)


def next_rate(
    rate: Rate, verdict: Verdict, *, per_host: int, floor_s: float, latency_s: float
) -> Rate:
    """The one step rule (``lua/throttle.lua`` is its copy for a shared crawl).

    Slower: halve the requests in flight (down to 1); at 1, add delay: at least one answer
    time (at one in flight a shorter delay changes nothing), else double it, up to
    ``MAX_DELAY_S``. Faster, in the reverse order: halve the delay away first, then one
    more in flight per window (doubling in slow start), up to ``per_host``.
    """
    limit, delay_s, slowed = rate.limit, rate.delay_s, rate.slowed
    if verdict == SLOWER:
        if limit > 1:
            limit = max(limit // 2, 1)
        else:
            delay_s = max(2 * rate.delay_over(floor_s), latency_s, MIN_DELAY_S)
            delay_s = min(delay_s, max(MAX_DELAY_S, floor_s))
        slowed += 1
    elif delay_s > 0:
        delay_s /= 2
        if delay_s <= max(floor_s, MIN_DELAY_S):
            delay_s = 0.0
    else:
        limit = min(max(limit + 1 if slowed else limit * 2, 1), per_host)
    if (limit, delay_s) == (rate.limit, rate.delay_s):
        return rate  # at a bound already: no change, and no slow-down counted
    return Rate(limit, delay_s, slowed)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A change the controller asks for, and its evidence: the window's typical answer time
    (the first added delay is one of it)."""

    verdict: Verdict
    latency_s: float


class HostThrottle:
    """One host's controller: answers in, a ``Proposal`` out, at most once per window.

    A window starts when the rate changes (or a window ends without a change). The answers
    to requests sent under the old rate are skipped: as many as it allowed in flight. Then
    it needs ``window_size`` answers, and judges two things of them:

    - troubles (5xx, 429, a network failure): slower when their share passes the host's own
      share by ``TROUBLE_SHARE``. The host's own share is none at first; then a share a
      slow-down did not relieve (``RELIEF``), lowered by any window with fewer: a site with
      broken pages answers 500 to them however gently it is asked, and slowing down further
      would only stall the crawl (429 and 503 still hold the host: ``RetryTiming``);
    - answer times: the lower quartile of the untroubled answers against the baseline (the
      lowest window quartile seen, or the answer time a slow-down did not relieve). A
      quartile, not a mean: a stall of our own (a busy event loop, a CPU shared with other
      work) delays every answer in flight at once, at most ``limit`` of a window's
      ``2 x limit`` and more; a struggling server delays them all.

    ``version`` is the version of ``rate`` where rates are shared (a crawl through Redis
    counts a host's changes there): a proposal names it, and applies only if it is still the
    host's. 0 until learnt: a controller made afresh names a stale one unless the host's
    rate never changed, and the refusal teaches it the rate and its version.
    """

    __slots__ = (
        "_baseline_s",
        "_own_trouble_share",
        "_samples",
        "_skip",
        "_slowed_for",
        "_troubles",
        "rate",
        "version",
    )

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self.version = 0
        self._baseline_s: float | None = None
        self._own_trouble_share = 0.0
        self._skip = 0
        self._samples: list[float] = []
        self._troubles = 0
        # What the last slow-down answered: ("trouble", share) or ("time", answer time).
        self._slowed_for: tuple[str, float] | None = None

    @property
    def baseline_s(self) -> float | None:
        """The lowest window quartile answer time seen; None before the first window ends."""
        return self._baseline_s

    @property
    def window_size(self) -> int:
        """Answers a window needs: two per request in flight, ``MIN_SAMPLES`` at least."""
        return max(WINDOW_PER_REQUEST * self.rate.limit, MIN_SAMPLES)

    def observe(self, answer: HostAnswer, *, per_host: int) -> Proposal | None:
        """Take in one answer; a ``Proposal`` when the window is decided for a change."""
        if self._skip > 0:
            self._skip -= 1
            return None
        if answer.trouble:
            self._troubles += 1
        elif answer.latency_s is not None:
            self._samples.append(answer.latency_s)
        else:
            return None
        if self._troubles + len(self._samples) < self.window_size:
            return None
        share = self._troubles / (self._troubles + len(self._samples))
        typical_s = self._quartile_s()
        own_share = self._judge_trouble(share)
        baseline_s = self._judge_time(typical_s)
        self._slowed_for = None
        verdict: Verdict | None = None
        if share > own_share + TROUBLE_SHARE:
            verdict, self._slowed_for = SLOWER, ("trouble", share)
        elif typical_s is None or baseline_s is None:
            verdict = None
        elif typical_s > max(HIGH_RATIO * baseline_s, baseline_s + HIGH_MARGIN_S):
            verdict, self._slowed_for = SLOWER, ("time", typical_s)
        elif (
            share <= own_share
            and typical_s < max(LOW_RATIO * baseline_s, baseline_s + LOW_MARGIN_S)
            and (self.rate.limit < per_host or self.rate.delay_s > 0)
        ):
            verdict = FASTER
        if verdict is None:
            self._open(skip=0)
            return None
        return Proposal(verdict, typical_s or 0.0)

    def changed(self, rate: Rate) -> None:
        """``rate`` is the host's rate from now (a new one, or the same when a proposal was
        refused): a new window opens, skipping the answers sent under the old rate."""
        old = self.rate
        self.rate = rate
        if rate == old:
            self._slowed_for = None  # nothing was slowed: nothing to judge
        self._open(skip=old.limit if rate != old else 0)

    def _judge_trouble(self, share: float) -> float:
        """The host's own share of troubles after a window with ``share`` of them."""
        own = min(self._own_trouble_share, share)
        slowed = self._slowed_for
        if slowed is not None and slowed[0] == "trouble" and share > RELIEF * slowed[1]:
            own = share  # slowing down did not help: the site's own errors
        self._own_trouble_share = own
        return own

    def _judge_time(self, typical_s: float | None) -> float | None:
        """The baseline answer time after a window whose typical one is ``typical_s``."""
        if typical_s is None:
            return self._baseline_s
        baseline_s = typical_s if self._baseline_s is None else min(self._baseline_s, typical_s)
        slowed = self._slowed_for
        if slowed is not None and slowed[0] == "time" and typical_s > RELIEF * slowed[1]:
            baseline_s = typical_s  # slowing down did not help: not our load
        self._baseline_s = baseline_s
        return baseline_s

    def _open(self, *, skip: int) -> None:
        self._skip, self._samples, self._troubles = skip, [], 0

    def _quartile_s(self) -> float | None:
        samples = sorted(self._samples)
        return samples[len(samples) // 4] if samples else None


class ThrottleRegistry:
    """The controllers of the ``max_hosts`` hosts answered last, one per host: both
    frontiers' (``Throttles``, and ``RedisFrontier`` for a shared crawl).

    Bounded, so memory stays flat over millions of hosts: an answer makes its host the most
    recent, and past the bound the least recently answered one is forgotten with all this
    process knew of it (its controller, and with it the version of its shared rate). Coming
    back, it starts over at ``start``, slow start: locally its rate is that again; in a
    shared crawl the rate stays in Redis, and the new controller's first proposal, naming
    version 0, is refused unless the rate never changed: the refusal teaches it the rate and
    version, and its next proposal applies (the frontier's ``may_start`` keeps its own,
    separately bounded record of when hosts' timing changed).
    """

    __slots__ = ("_hosts", "_start")

    def __init__(self, start: Rate, *, max_hosts: int = MAX_HOSTS) -> None:
        self._start = start
        self._hosts: RecentlyUsed[HostThrottle] = RecentlyUsed(max_hosts)

    def __len__(self) -> int:
        return len(self._hosts)

    def get(self, host: str) -> HostThrottle | None:
        """``host``'s controller if it is kept (asking does not keep it longer)."""
        return self._hosts.get(host)

    def answered(self, host: str) -> HostThrottle:
        """The controller of ``host``, which just answered: now the most recent host, made
        at slow start if it had none (forgetting the least recent past the bound)."""
        return self._hosts.used(host, lambda: HostThrottle(self._start))


class Throttles:
    """The controllers of one process's hosts, and their rates (the local frontier's).

    Kept apart from the host slots, which are dropped when idle: a host's rate outlives
    them, as long as the registry keeps the host (``MAX_HOSTS``: a host forgotten is at
    slow start again; a slot still open keeps the rate it has until the new controller
    changes it). Off, every host keeps ``per_host``.
    """

    def __init__(self, *, per_host: int, enabled: bool, max_hosts: int = MAX_HOSTS) -> None:
        self._per_host = per_host
        self._enabled = enabled
        self._start = Rate(min(START_LIMIT, per_host) if enabled else per_host)
        self._hosts = ThrottleRegistry(self._start, max_hosts=max_hosts)

    @property
    def enabled(self) -> bool:
        """True when rates follow the servers (``--autothrottle``)."""
        return self._enabled

    def rate(self, host: str) -> Rate:
        """``host``'s rate now: slow start until it answered (``per_host`` when off)."""
        throttle = self._hosts.get(host)
        return self._start if throttle is None else throttle.rate

    def observe(self, host: str, answer: HostAnswer, *, floor_s: float) -> Rate | None:
        """Take in one answer of ``host``; its new rate when it changed, else None."""
        if not self._enabled:
            return None
        throttle = self._hosts.answered(host)
        proposal = throttle.observe(answer, per_host=self._per_host)
        if proposal is None:
            return None
        old = throttle.rate
        rate = next_rate(
            old,
            proposal.verdict,
            per_host=self._per_host,
            floor_s=floor_s,
            latency_s=proposal.latency_s,
        )
        throttle.changed(rate)
        return rate if rate != old else None
