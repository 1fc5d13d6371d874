"""Run the ``parcrawl`` command as a user would: a subprocess, its exit code and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def parcrawl(*args: str, timeout_s: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python cli.py ARGS`` to completion, capturing its text output."""
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        **kwargs,
    )
