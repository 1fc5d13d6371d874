"""The types of the command line's values: whole numbers, seconds and sizes, each refused
in one line that says what was expected (argparse prints it after the flag's name).

They read text only; what a value means for the crawl is the settings schema's to check.
"""

from __future__ import annotations

import argparse

from crawler.settings.sizes import parse_size


def positive_int(text: str) -> int:
    """A whole number >= 1 (``--concurrency``, ``--max-pages``)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (``--workers 0`` parses inline, ``--retries 0`` never retries)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def seconds(text: str) -> float:
    """A duration in seconds, > 0 (a timeout of 0 would fail every request)."""
    value = _float_seconds(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def non_negative_seconds(text: str) -> float:
    """A duration in seconds, >= 0 (``--delay 0``: no pause between requests to a host)."""
    value = _float_seconds(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _float_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def size(text: str) -> int:
    """Bytes, written as people write sizes: ``5MB``, ``5MiB``, ``5000000``."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
