"""End-to-end tests: real subprocesses, live loopback servers, kills. All of them are slow.

``pytest -m 'not slow'`` (the quick loop) skips this folder; the full run includes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before -m 'not slow' deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked here, not per module, so that a new end-to-end module cannot forget it.
    for item in items:
        if E2E in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)
