"""Start-up checks on a Dask cluster's workers: the same parcrawl, the user's modules.

A worker with another parcrawl would parse pages differently, and one that lacks a step's
module would fail every page: both are refused before the first fetch, naming the worker.
A step module that is a single file is shipped to the workers (``upload_file``) instead.
"""

from __future__ import annotations

import io
import logging
import pickle
import sys
from pathlib import Path
from typing import Any

from distributed import Client

from crawler.errors import ClusterError
from crawler.version import __version__
from pipelines.executors.dask.remote import missing_modules, worker_version
from pipelines.worker import UserStep

log = logging.getLogger(__name__)

OWN_PACKAGES = ("crawler", "pipelines")


def check_versions(client: Client) -> None:
    """Refuse a cluster where a worker runs another parcrawl version.

    Raises:
        ClusterError: naming the first such worker and its version.
    """
    versions: dict[str, Any] = client.run(worker_version, on_error="return")
    for worker, version in sorted(versions.items()):
        if isinstance(version, BaseException):
            raise ClusterError(f"Dask worker {worker} cannot import parcrawl: {version}")
        if version != __version__:
            raise ClusterError(
                f"Dask worker {worker} runs parcrawl {version}, this crawler {__version__}: "
                "install the same version on every worker"
            )


def check_modules(client: Client, work: object) -> None:
    """Make sure every worker can import the modules ``work`` (the processor) refers to.

    A module missing on a worker that is one ``.py`` file here is uploaded to every worker;
    any other missing module is an error.

    Raises:
        ClusterError: naming a worker and the modules it lacks.
    """
    modules = sorted(modules_of(work))
    if not modules:
        return
    if "__main__" in modules:
        raise ClusterError(
            "a step or parse function is defined in the main script, which Dask workers "
            "cannot import: move it into a module file (one .py file is uploaded to them)"
        )
    missing = _missing(client, modules)
    for module in sorted({name for names in missing.values() for name in names}):
        path = _single_file(module)
        if path is not None:
            log.info("uploading %s to the Dask workers", path)
            client.upload_file(str(path), load=False)
    missing = _missing(client, modules)
    if missing:
        worker, names = sorted(missing.items())[0]
        raise ClusterError(
            f"Dask worker {worker} cannot import {', '.join(names)}: install it on every "
            "worker (a step in a single .py file is uploaded by itself)"
        )


def _missing(client: Client, modules: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = client.run(missing_modules, modules)
    return {worker: names for worker, names in found.items() if names}


def modules_of(work: object) -> set[str]:
    """The user modules unpickling ``work`` imports (parcrawl's own and the stdlib's left out)."""
    finder = _ModuleFinder()
    finder.dump(work)
    return {
        name
        for name in finder.modules
        if name.partition(".")[0] not in (*OWN_PACKAGES, *sys.stdlib_module_names, "builtins")
    }


def _single_file(module: str) -> Path | None:
    """The file of ``module`` when it is one ``.py`` file (not a package), else None."""
    loaded = sys.modules.get(module)
    path = getattr(loaded, "__file__", None)
    if not isinstance(path, str) or "." in module:
        return None
    file = Path(path)
    if file.suffix != ".py" or file.name == "__init__.py":
        return None
    return file


class _ModuleFinder(pickle.Pickler):
    """Pickles to nowhere, noting every module the other side will import."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO())
        self.modules: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, UserStep):
            self.modules.add(obj.path.partition(":")[0])
        else:
            self.modules.add(type(obj).__module__)
            module = getattr(obj, "__module__", None)
            if (isinstance(obj, type) or callable(obj)) and isinstance(module, str):
                self.modules.add(module)
        return NotImplemented
