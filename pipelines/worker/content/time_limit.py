"""A per-page time limit for the content engines, so one hostile page cannot hold a worker.

It interrupts with SIGALRM (``setitimer(ITIMER_REAL)``), which only the main thread of a
process can receive: a process-pool worker. Elsewhere (a thread, as Dask runs its tasks, or
a platform without SIGALRM) it cannot interrupt and says so through ``can_interrupt``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from crawler.errors import ContentTimeLimit


def can_interrupt() -> bool:
    """True when ``time_limit`` can interrupt the code it guards in this thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


REPEAT_S = 0.05
"""After the limit, the alarm repeats this often until the block has stopped: a library that
swallowed one interruption (a bare ``except:``) gets the next."""


class _Interrupted(BaseException):
    """Raised by the alarm: a BaseException, so the libraries' ``except Exception`` (a
    fallback, a "try the other parser") cannot swallow it; ``time_limit`` turns it into
    ``ContentTimeLimit`` where the guarded block ends."""


@contextmanager
def time_limit(time_limit_s: float | None) -> Iterator[None]:
    """Raise ``ContentTimeLimit`` out of the guarded block once ``time_limit_s`` has passed.

    The previous SIGALRM handler and any timer already running are put back afterwards
    (a caller's longer timer keeps counting, less the time spent here), so limits nest.
    ``None`` or a limit that cannot be enforced here (see ``can_interrupt``) guards nothing.

    Raises:
        ContentTimeLimit: the block ran past ``time_limit_s``.
        ValueError: a limit that is not positive.
    """
    if time_limit_s is not None and time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, not {time_limit_s}")
    if time_limit_s is None or not can_interrupt():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted

    previous_handler = signal.signal(signal.SIGALRM, interrupt)
    outer_delay_s, outer_interval_s = signal.setitimer(signal.ITIMER_REAL, time_limit_s, REPEAT_S)
    remaining_s = 0.0
    try:
        try:
            yield
        finally:
            # nested so that an alarm landing on the first line still restores the handler
            try:
                remaining_s, _ = signal.setitimer(signal.ITIMER_REAL, 0)
            finally:
                signal.signal(signal.SIGALRM, previous_handler)
                if outer_delay_s:
                    spent_s = time_limit_s - remaining_s
                    # an outer timer due while we ran fires at once rather than never
                    signal.setitimer(
                        signal.ITIMER_REAL, max(outer_delay_s - spent_s, 1e-6), outer_interval_s
                    )
    except _Interrupted:
        raise ContentTimeLimit(time_limit_s) from None
