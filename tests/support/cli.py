"""Run the ``parcrawl`` command as a user would: a subprocess, its exit code and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
"""The checkout's root (the folder with pyproject.toml), wherever this module sits."""


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
