"""The content package's face: its names, and what importing it costs a worker."""

from __future__ import annotations

import json
import subprocess
import sys

import pipelines.worker.content
from tests.support.cli import REPO

EXTRA_LIBRARIES = ("trafilatura", "html_to_markdown", "pypdf", "justext", "htmldate")


def test_every_name_the_face_offers_is_there() -> None:
    missing = [
        name
        for name in pipelines.worker.content.__all__
        if not hasattr(pipelines.worker.content, name)
    ]

    assert missing == []


def test_importing_the_package_loads_none_of_the_content_extra() -> None:
    # a fresh interpreter, as a worker is: the extra's libraries load when an engine runs
    probe = (
        "import json, sys, pipelines.worker.content, pipelines.worker.content.pdf; "
        f"print(json.dumps([name for name in {EXTRA_LIBRARIES!r} if name in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO,
    )

    assert json.loads(result.stdout) == []
