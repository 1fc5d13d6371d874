"""What importing modules loads, seen from a fresh interpreter (as a worker or a crawl is)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable

from tests.support.cli import REPO


def loaded_by_importing(modules: Iterable[str], watched: Iterable[str]) -> list[str]:
    """The ``watched`` modules a fresh interpreter has loaded after importing ``modules``."""
    probe = (
        f"import json, sys, {', '.join(modules)}; "
        f"print(json.dumps([name for name in {tuple(watched)!r} if name in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO,
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded
