"""Sizes as people write them (``5MB``, ``5MiB``, ``5000000``): one syntax for every size a
crawl takes, on the command line and in job files. Part of the kernel: imports nothing of
parcrawl."""

from __future__ import annotations

import re
from typing import Any

SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
              "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}  # fmt: skip
"""Decimal units (``MB`` = 10^6, as disks and networks count) and binary ones (``MiB`` =
2^20); case does not matter. No unit: bytes."""

SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*")

SIZE_FORMS = "bytes, or with a unit: 5MB, 5MiB, 1.5GB"
"""How sizes are written, for help texts and errors."""


def parse_size(text: str) -> int:
    """Bytes from a size as people write it: ``1GB`` (10^9), ``512MiB`` (2^29), ``1000``.

    Raises:
        ValueError: not a number with a known unit.
    """
    match = SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} ({SIZE_FORMS})")
    return int(float(match.group(1)) * SIZE_UNITS[unit])


def size_or_value(value: Any) -> Any:
    """A schema's "before" hook for size fields: strings are parsed, the rest (an integer
    of bytes, or a mistake the schema will name) passes through."""
    return parse_size(value) if isinstance(value, str) else value
