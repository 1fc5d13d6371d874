"""The worker package's face: what a worker process loads, and the names it offers."""

from __future__ import annotations

import pipelines.worker
from tests.support.imports import loaded_by_importing

IO_SIDE = ("asyncio", "httpx", "aiofiles", "crawler.api", "crawler.engine", "pipelines.sinks")
# Loaded when a job needs them (extraction rules or steps arrive as settings; a page with no
# usable charset label), never by the import: each costs every worker megabytes.
ON_DEMAND = ("pydantic", "crawler.settings", "charset_normalizer")


def test_importing_the_worker_code_loads_no_event_loop_or_network_code() -> None:
    assert _loaded_by_importing_the_worker_code(IO_SIDE) == []


def test_importing_the_worker_code_loads_neither_the_schema_nor_the_charset_detector() -> None:
    assert _loaded_by_importing_the_worker_code(ON_DEMAND) == []


def _loaded_by_importing_the_worker_code(names: tuple[str, ...]) -> list[str]:
    # A fresh interpreter, as a worker is: what the import drags in is what each worker pays.
    return loaded_by_importing(["pipelines.worker"], names)


def test_every_name_the_face_offers_is_there() -> None:
    missing = [name for name in pipelines.worker.__all__ if not hasattr(pipelines.worker, name)]
    assert missing == []
    assert {"PageProcessor", "parse_page", "Extractor", "validate_steps"} <= set(
        pipelines.worker.__all__
    )
