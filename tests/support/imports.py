"""What importing a module loads, seen from a fresh interpreter (as a worker or a crawl is)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.cli import REPO


def loaded_by_importing(module: str, names: tuple[str, ...]) -> list[str]:
    """The modules of ``names`` that ``import module`` loads in a new interpreter."""
    probe = (
        f"import json, sys, {module}; "
        f"print(json.dumps([name for name in {names!r} if name in sys.modules]))"
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
