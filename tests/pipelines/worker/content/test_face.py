"""The content package's face: its names, and what importing it costs a worker."""

from __future__ import annotations

import pipelines.worker.content
from tests.support.imports import loaded_by_importing

EXTRA_LIBRARIES = ("trafilatura", "html_to_markdown", "pypdf", "justext", "htmldate")


def test_every_name_the_face_offers_is_there() -> None:
    offered = pipelines.worker.content.__all__
    missing = [name for name in offered if not hasattr(pipelines.worker.content, name)]

    assert missing == []


def test_importing_the_package_loads_none_of_the_content_extra() -> None:
    # the extra's libraries load when an engine first runs, not with the package
    loaded = loaded_by_importing(["pipelines.worker.content"], EXTRA_LIBRARIES)

    assert loaded == []
