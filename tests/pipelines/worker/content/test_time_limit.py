"""The per-page time limit: a page that hangs an engine becomes a ContentTimeLimit."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from crawler.errors import ContentError, ContentTimeLimit
from pipelines.worker.content import (
    can_interrupt,
    extract_content,
    time_limit,
)
from pipelines.worker.content import engines as engines_module
from tests.support.articles import ARTICLE, URL


def _spin_forever(*args: object, **kwargs: object) -> None:
    while True:  # a hostile page's pathological case: busy, never returning
        pass


@pytest.mark.parametrize("engine", ["fast", "precise"])
def test_an_engine_past_its_time_limit_is_interrupted(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    monkeypatch.setattr(engines_module, "main_content", _spin_forever)
    monkeypatch.setattr(engines_module, "page_meta", _spin_forever)
    started = time.monotonic()

    with pytest.raises(ContentTimeLimit, match=r"longer than 0\.2 s") as info:
        extract_content(ARTICLE, URL, engine=engine, time_limit_s=0.2)  # type: ignore[arg-type]

    assert isinstance(info.value, ContentError)  # the one type a caller catches
    assert time.monotonic() - started < 5


def test_a_library_that_swallows_exceptions_is_still_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forgiving(*args: object, **kwargs: object) -> None:
        while True:
            try:
                _spin_forever()
            except Exception:  # as a library's "try another way" does
                continue

    monkeypatch.setattr(engines_module, "main_content", forgiving)

    with pytest.raises(ContentTimeLimit):
        extract_content(ARTICLE, URL, engine="fast", time_limit_s=0.1)


def test_the_previous_alarm_handler_and_timer_are_restored() -> None:
    def previous(signum: int, frame: object) -> None:
        raise AssertionError("not expected to fire")

    old_handler = signal.signal(signal.SIGALRM, previous)
    old_timer = signal.setitimer(signal.ITIMER_REAL, 60)  # as pytest-timeout's own alarm
    try:
        extract_content(ARTICLE, URL, engine="fast", time_limit_s=10)

        assert signal.getsignal(signal.SIGALRM) is previous
        assert 50 < signal.getitimer(signal.ITIMER_REAL)[0] <= 60
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
        signal.signal(signal.SIGALRM, old_handler)


def test_an_outer_timer_due_during_the_limit_still_fires() -> None:
    fired = threading.Event()

    def outer(signum: int, frame: object) -> None:
        fired.set()

    old_handler = signal.signal(signal.SIGALRM, outer)
    old_timer = signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with time_limit(5):
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline:  # past the outer timer's due time
                pass
            assert not fired.is_set()  # the inner limit has the alarm to itself

        assert fired.wait(timeout=5)  # then the outer timer fired, late but not lost
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
        signal.signal(signal.SIGALRM, old_handler)


def test_in_a_thread_the_limit_cannot_interrupt_and_guards_nothing() -> None:
    outcome: list[object] = []

    def run() -> None:
        outcome.append(can_interrupt())
        with time_limit(0.01):
            outcome.append(extract_content(ARTICLE, URL, engine="fast").engine)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)

    assert outcome == [False, "fast"]
    assert can_interrupt()


@pytest.mark.parametrize("in_a_thread", [False, True])
def test_a_limit_must_be_positive(in_a_thread: bool) -> None:
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            with time_limit(0):
                pass
        except ValueError as exc:
            errors.append(exc)

    if in_a_thread:
        worker = threading.Thread(target=enter)
        worker.start()
        worker.join(timeout=30)
    else:
        enter()

    assert [str(error) for error in errors] == ["time_limit_s must be positive, not 0"]
