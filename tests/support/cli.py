"""Run the ``parcrawl`` command as a user would: a subprocess, its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
"""The checkout's root (the folder with pyproject.toml), wherever this module sits."""

PARCRAWL = (sys.executable, "-m", "cli")
"""The ``parcrawl`` command, run with :func:`checkout_env` so that it is this checkout's."""


def checkout_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (this process's by default) with the checkout first on ``PYTHONPATH``: ``-m
    cli`` then runs this checkout's package whatever the working folder or what else is
    installed (an editable install of another checkout)."""
    result = dict(os.environ if env is None else env)
    result["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO), result.get("PYTHONPATH")) if part
    )
    return result


def parcrawl(*args: str, timeout_s: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m cli ARGS`` (``parcrawl ARGS``) to completion, capturing its text output."""
    kwargs["env"] = checkout_env(kwargs.get("env"))
    return subprocess.run(
        [*PARCRAWL, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        **kwargs,
    )


def started_parcrawl(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """``python -m cli ARGS`` started, not awaited, as this checkout's (text mode; stdout and
    stderr piped unless ``kwargs`` say otherwise)."""
    kwargs["env"] = checkout_env(kwargs.get("env"))
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([*PARCRAWL, *args], text=True, **kwargs)
