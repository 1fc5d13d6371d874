"""Counters and timings of one crawl: what the progress bars show and the summary prints.

Plain numbers only, updated from the event loop; formatting for people is ``summary_lines``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

RATE_CHANGES_KEPT = 200
"""Autothrottle changes kept per host (the first ones and the latest): a bounded series."""

RATE_HOSTS_KEPT = 1_000
"""Hosts whose autothrottle changes are kept; the others are only counted."""

RateChange = tuple[float, int, float]
"""(seconds into the crawl, requests in flight allowed, the autothrottle's delay in s)."""


@dataclass
class Stats:
    """Live counts of a crawl; read at any time, final once the crawl returns."""

    total: int | None = None
    """Seeds expected, when known in advance (for the progress ETA)."""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    fetched: int = 0
    """Requests that ended (after retries), with a response or a network failure."""
    responses: int = 0
    """Fetches a server answered (any status); the rest failed without a response."""
    retries: int = 0
    """Attempts rescheduled after a retryable failure."""
    bytes: int = 0
    parsed: int = 0
    written: int = 0
    written_ok: int = 0
    """Records written without an error; the others are counted in ``errors``."""
    dropped: int = 0
    """Pages a processing step dropped (not written), duplicates included."""
    unfetched: int = 0
    """Records of URLs refused before fetching (robots.txt, address guard): not in ``fetched``."""
    invalid_seeds: int = 0
    duplicate_seeds: int = 0
    """Seeds already seen: listed twice, or (``done_before``) done or queued by an earlier run."""
    done_before: int = 0
    """URLs earlier runs of a resumed crawl (its state file) had finished."""
    parse_cpu_s: float = 0.0
    recovered: int = 0
    """Records a crashed run had written but not checkpointed (taken as done on resume)."""
    discovered: int = 0
    """Links queued for fetching (new, in scope)."""
    sitemap_urls: int = 0
    sitemap_errors: int = 0
    """Sitemaps that could not be read (a guessed /sitemap.xml that is absent is not one)."""
    seen: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    """In a recrawl: records by ``change`` (new, changed, unchanged, gone)."""
    held_back: int = 0
    """Records of unchanged pages not written (``changed_only``)."""
    errors: Counter[str] = field(default_factory=Counter)
    """Records written with an error, by error code."""
    skipped: Counter[str] = field(default_factory=Counter)
    """URLs not fetched, by reason: robots, offsite, depth, query_variants, ..."""
    stop_reason: str | None = None
    stopped_reason: str | None = None
    """Why a crawl that failed midway stopped, in words (a Dask scheduler lost for good);
    None when it ended, reached a limit or was interrupted."""
    rendered: Counter[str] = field(default_factory=Counter)
    """Pages rendered in the browser, by host."""
    render_probes: int = 0
    """Probes: pages that look static, rendered only to check that (their records are as
    fetched); probes still rendering when the crawl ends are dropped, uncounted."""
    render_failures: Counter[str] = field(default_factory=Counter)
    """Renders that failed, by error code (render_timeout, render_crash)."""
    render_requests: int = 0
    """Requests rendered pages made that the crawl's client served (scripts, data, styles)."""
    render_blocked: Counter[str] = field(default_factory=Counter)
    """Requests of rendered pages refused, by reason: type, origin, private, cap, navigation."""
    browser_restarts: int = 0
    """Times the browser was restarted (it crashed, or outgrew its memory limit)."""
    worker_pids: set[int] = field(default_factory=set)
    interrupted: bool = False
    rate_changes: dict[str, list[RateChange]] = field(default_factory=dict)
    """Per host, each change the autothrottle made to its rate, in order (bounded)."""
    slowdowns: Counter[str] = field(default_factory=Counter)
    """Per host, how many times the autothrottle slowed it down."""

    def count_fetch(self, size: int | None, *, answered: bool) -> None:
        """One URL fetched for good (no retry to come): ``size`` bytes, ``answered`` when a
        response came."""
        self.fetched += 1
        self.bytes += size or 0
        if answered:
            self.responses += 1

    def count_written(self, error_codes: Sequence[str | None]) -> None:
        """Records written, one error code each (None: no error); the summary adds them up."""
        self.written += len(error_codes)
        for code in error_codes:
            if code is None:
                self.written_ok += 1
            else:
                self.errors[code] += 1

    def rate_changed(self, host: str, limit: int, delay_s: float, *, slowed: int) -> None:
        """The autothrottle set ``host``'s rate: ``limit`` in flight, ``delay_s`` between
        starts (its own, over the floor), after ``slowed`` slow-downs in all."""
        if slowed:
            self.slowdowns[host] = max(self.slowdowns[host], slowed)
        changes = self.rate_changes.get(host)
        if changes is None:
            if len(self.rate_changes) >= RATE_HOSTS_KEPT:
                return
            changes = self.rate_changes[host] = []
        change = (round(time.monotonic() - self.started, 3), limit, delay_s)
        if len(changes) >= RATE_CHANGES_KEPT:
            changes[-1] = change
        else:
            changes.append(change)

    @classmethod
    def combined(cls, parts: Sequence[Stats]) -> Stats:
        """The stats of several processes of one shared crawl (``--fetchers N``), as one.

        Counts add up; the span runs from the first start to the last finish (one
        machine's monotonic clock). What every process sees alike is taken once: the
        seed total and invalid seeds, the seen set, unreadable sitemaps. A seed another
        process queued first is no duplicate of the crawl's, so seed repeats are left out.
        """
        whole = cls(started=min(part.started for part in parts))
        alike = {"total", "invalid_seeds", "seen", "sitemap_errors", "done_before"}
        for spec in fields(cls):
            name = spec.name
            values = [getattr(part, name) for part in parts]
            if name in alike:
                setattr(whole, name, max(values, key=lambda value: value or 0))
            elif isinstance(values[0], Counter):
                setattr(whole, name, sum(values, Counter()))
            elif isinstance(values[0], int) and not isinstance(values[0], bool):
                setattr(whole, name, sum(values))
        whole.parse_cpu_s = sum(part.parse_cpu_s for part in parts)
        ends = [part.finished for part in parts]
        whole.finished = None if None in ends else max(end for end in ends if end is not None)
        whole.interrupted = any(part.interrupted for part in parts)
        whole.stop_reason = next((p.stop_reason for p in parts if p.stop_reason), None)
        whole.worker_pids = set().union(*(part.worker_pids for part in parts))
        for part in parts:  # every process saw the shared rate: its slow-downs are counted once
            for host, changes in part.rate_changes.items():
                whole.rate_changes.setdefault(host, []).extend(changes)
                whole.rate_changes[host].sort()
        whole.slowdowns = Counter()
        for part in parts:
            for host, slowed in part.slowdowns.items():
                whole.slowdowns[host] = max(whole.slowdowns[host], slowed)
        whole.duplicate_seeds = 0
        return whole

    @property
    def started_epoch_s(self) -> float:
        """When the crawl started, as Unix time (``started`` is the monotonic clock's)."""
        return time.time() - (time.monotonic() - self.started)

    @property
    def elapsed_s(self) -> float:
        """Wall time from start to finish (or to now, while running)."""
        end = self.finished if self.finished is not None else time.monotonic()
        return max(end - self.started, 1e-9)

    @property
    def error_count(self) -> int:
        """URLs whose record carries an error."""
        return sum(self.errors.values())

    @property
    def unwritten(self) -> int:
        """Pages fetched (or refused) whose record a stop kept from the output.

        The balance: ``fetched + unfetched == written + dropped + held_back + unwritten``,
        and ``written == written_ok + error_count``.
        """
        done = self.written + self.dropped + self.held_back
        return max(self.fetched + self.unfetched - done, 0)

    def summary_lines(self) -> list[str]:
        """A short human summary: records and what became of every fetched page, rates.

        Print it a line at a time: ``print("\n".join(stats.summary_lines()))``.
        """
        elapsed = self.elapsed_s
        outcome = (
            f"{'interrupted' if self.interrupted else 'stopped' if self.stopped_reason else 'done'}"
            f" in {elapsed:.1f} s: "
            f"{_count(self.written, 'record')} written "
            f"({self.written_ok} ok, {_count(self.error_count, 'error')})"
        )
        if self.dropped:
            outcome += f", {_count(self.dropped, 'page')} dropped by steps"
        if self.unwritten:
            outcome += f", {_count(self.unwritten, 'fetched page')} not written (stopped)"
        failed = self.fetched - self.responses
        lines = [
            outcome,
            f"fetch: {_count(self.responses, 'response')}"
            + (f", {failed} failed without one" if failed else "")
            + (f", {self.unfetched} refused before fetching" if self.unfetched else "")
            + f", {_human_bytes(self.bytes)}, {self.fetched / elapsed:.1f} pages/s"
            + (f", {_count(self.retries, 'retry', 'retries')}" if self.retries else ""),
            f"parse: {_count(self.parsed, 'page')}, {self.parsed / elapsed:.1f} pages/s"
            + (f", {self.parse_cpu_s:.1f} s CPU in workers" if self.parse_cpu_s else ""),
        ]
        if self.changes:
            kinds = ", ".join(
                f"{kind} {self.changes[kind]}" for kind in ("new", "changed", "unchanged", "gone")
            )
            held = f" ({self.held_back} unchanged not written)" if self.held_back else ""
            lines.append(f"changes: {kinds}{held}")
        if self.errors:
            kinds = ", ".join(f"{code} {n}" for code, n in self.errors.most_common())
            lines.append(f"errors: {kinds}")
        lines.extend(self._render_lines())
        if self.sitemap_errors:
            lines.append(f"sitemaps: {_count(self.sitemap_errors, 'sitemap')} could not be read")
        if self.discovered or self.sitemap_urls:
            lines.append(
                f"links: {self.discovered} queued, {self.seen} distinct URLs seen"
                + (f", {self.sitemap_urls} from sitemaps" if self.sitemap_urls else "")
            )
        if self.skipped:
            kinds = ", ".join(f"{code} {n}" for code, n in self.skipped.most_common())
            lines.append(f"skipped: {kinds}")
        lines.extend(self.throttle_lines())
        if self.stop_reason == "output_closed":
            lines.append("stopped early: the output's reader closed the pipe")
        elif self.stop_reason == "cluster_lost":
            lines.append("stopped early: the Dask scheduler was lost")
        elif self.stop_reason and self.stop_reason != "interrupted":
            lines.append(f"stopped early: {self.stop_reason.replace('_', ' ')} reached")
        if self.done_before:
            lines.append(
                f"resumed: {_count(self.done_before, 'URL')} done in earlier runs, "
                "not fetched again"
            )
        skipped = []
        if self.invalid_seeds:
            skipped.append(f"{self.invalid_seeds} invalid")
        if self.duplicate_seeds and self.done_before:
            skipped.append(f"{self.duplicate_seeds} seen before (an earlier run's, or repeated)")
        elif self.duplicate_seeds:
            skipped.append(f"{self.duplicate_seeds} duplicate")
        if skipped:
            lines.append("seeds skipped: " + ", ".join(skipped))
        return lines

    def _render_lines(self) -> list[str]:
        """What the browser did: pages rendered per host, failures, its pages' requests."""
        rendered = sum(self.rendered.values())
        if not (rendered or self.render_probes or self.render_failures or self.browser_restarts):
            return []
        hosts = ", ".join(f"{host} {n}" for host, n in self.rendered.most_common(5))
        more = len(self.rendered) - 5
        line = f"render: {_count(rendered, 'page')} rendered" + (f" ({hosts}" if hosts else "")
        line += (f", {more} more hosts)" if more > 0 else ")") if hosts else ""
        if self.render_probes:
            line += f", {self.render_probes} more to learn (probes, records as fetched)"
        if self.render_failures:
            kinds = ", ".join(f"{code} {n}" for code, n in self.render_failures.most_common())
            line += f", {sum(self.render_failures.values())} failed ({kinds})"
        if self.browser_restarts:
            line += f", browser restarted {_count(self.browser_restarts, 'time')}"
        requests = f"render requests: {self.render_requests} served"
        blocked = sum(self.render_blocked.values())
        if blocked:
            kinds = ", ".join(f"{why} {n}" for why, n in self.render_blocked.most_common())
            requests += f", {blocked} blocked ({kinds})"
        return [line, requests]

    def throttle_lines(self, most: int = 3) -> list[str]:
        """One line per host the autothrottle slowed (the ``most`` slowed most), e.g.
        ``autothrottle: a.example slowed 3 times, to 1 at once and 0.8 s apart; now 4 at once``."""
        lines = []
        for host, count in self.slowdowns.most_common(most):
            changes = self.rate_changes.get(host)
            if not changes:
                continue
            least = min(limit for _, limit, _ in changes)
            longest_s = max(delay_s for _, _, delay_s in changes)
            _, limit, delay_s = changes[-1]
            low = f"to {least} at once" + (f" and {longest_s:.2g} s apart" if longest_s else "")
            now = f"{limit} at once" + (f", {delay_s:.2g} s apart" if delay_s else "")
            lines.append(f"autothrottle: {host} slowed {_count(count, 'time')}, {low}; now {now}")
        if len(self.slowdowns) > most:
            lines.append(f"autothrottle: {len(self.slowdowns) - most} more hosts slowed")
        return lines


def _count(number: int, noun: str, plural: str | None = None) -> str:
    """``1 error``, ``2 errors``."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{count} B"
        size /= 1024
    return f"{count} B"
