"""The worker pool, built in the main process: a forkserver pool whose workers skip ``__main__``.

It decides whether workers need the user's main module and starts them accordingly; it does
not run or recover batches (``pipelines.stage`` does).
"""

from __future__ import annotations

import ast
import inspect
import io
import os
import pickle
import sys
import threading
from collections.abc import Callable
from multiprocessing import popen_forkserver, spawn
from multiprocessing.context import ForkServerContext, ForkServerProcess
from pathlib import Path
from typing import Any

from crawler.errors import ConfigError
from pipelines.worker import UserStep

# multiprocessing starts each spawn or forkserver child by running the parent's main module
# again, so that functions defined there unpickle. A plain script without an
# `if __name__ == "__main__":` guard would then start its whole crawl again in every worker,
# and code read from stdin cannot run again at all. Workers need nothing from __main__
# unless the job's parse function or steps live there: needs_main() finds out which.

_MAIN_KEYS = ("init_main_from_name", "init_main_from_path")

MAIN_GUARD_HINT = 'put the crawl under `if __name__ == "__main__":`'
"""The fix, in the words every error about a main module run again in workers ends with."""

_launching = threading.local()
_install_lock = threading.Lock()
_stdlib_preparation_data: Callable[[str], dict[str, Any]] | None = None


PRELOAD = ["pipelines.worker"]
"""What the forkserver imports before it forks a worker: the parse code (bs4, lxml), once."""


def worker_context(*, with_main: bool) -> ForkServerContext:
    """The context a local pool starts its workers in: a forkserver that has already
    imported the parse code.

    Args:
        with_main: run the parent's main module in each worker, as multiprocessing
            normally does; only needed when the work refers to something defined there.
    """
    context = _WorkerContext() if not with_main else ForkServerContext()
    context.set_forkserver_preload(PRELOAD)
    return context


def needs_main(work: object) -> bool:
    """True when unpickling ``work`` in a worker needs the parent's ``__main__``.

    Raises:
        ConfigError: it does, and ``__main__`` cannot be run again in a worker (code from
            stdin, ``python -c`` or a notebook); the message names what lives there.
    """
    finder = _MainFinder()
    finder.dump(work)
    if not finder.found:
        return False
    if not main_is_importable():
        raise ConfigError(
            f"{finder.found[0]} is defined in the main module, which worker processes cannot "
            "import (code from stdin, -c or a notebook): move it into a module file, "
            "or set workers = 0"
        )
    return True


def main_is_importable() -> bool:
    """True when a worker can run ``__main__`` again: a script file or ``python -m``."""
    main = sys.modules.get("__main__")
    if main is None:
        return False
    if getattr(getattr(main, "__spec__", None), "name", None):
        return True
    path = getattr(main, "__file__", None)
    return isinstance(path, str) and os.path.isfile(path)


def unguarded_main_line() -> int | None:
    """The line of the main script that led here, when no ``__name__`` guard is around it.

    Worker processes started with spawn or forkserver (Dask's) run a script file again:
    from a line outside ``if __name__ == "__main__":`` the crawl starts again in each of
    them. None when the call is under such a guard (or after an ``if`` that tests
    ``__name__``), and when there is no script file to run again or to read.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not isinstance(path, str) or not main_is_importable():
        return None
    line = None
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None  # called from a thread or a callback: the script's line is unknown
    try:
        tree = ast.parse(Path(path).read_bytes(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for statement in tree.body:
        if statement.lineno > line:
            break
        if isinstance(statement, ast.If) and _tests_name(statement.test):
            return None
    return line


def _tests_name(test: ast.expr) -> bool:
    return any(isinstance(node, ast.Name) and node.id == "__name__" for node in ast.walk(test))


class _MainFinder(pickle.Pickler):
    """Pickles to nowhere, noting what would be looked up in ``__main__`` on the other side."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO())
        self.found: list[str] = []

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, UserStep):
            if obj.path.partition(":")[0] == "__main__":
                self.found.append(f"the step {obj.path!r}")
        elif getattr(obj, "__module__", None) == "__main__":
            name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
            self.found.append(f"{name!r}")
        return NotImplemented


class _HiddenMainPopen(popen_forkserver.Popen):
    """Starts a forkserver child with the parent's main module left out of its preparation."""

    def _launch(self, process_obj: Any) -> None:
        _install_preparation_filter()
        _launching.hide_main = True
        try:
            super()._launch(process_obj)  # type: ignore[misc]  # untyped in typeshed
        finally:
            _launching.hide_main = False


class _HiddenMainProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _HiddenMainPopen(process_obj)


class _WorkerContext(ForkServerContext):
    Process = _HiddenMainProcess


def _install_preparation_filter() -> None:
    # multiprocessing reads the main module into the preparation data in one function, with
    # no option to leave it out. The wrapper drops it only for launches this module makes
    # (a thread-local flag), and changes nothing for any other process started.
    global _stdlib_preparation_data  # noqa: PLW0603 (installed once per process)
    with _install_lock:
        if _stdlib_preparation_data is None:
            _stdlib_preparation_data = spawn.get_preparation_data
            spawn.get_preparation_data = _preparation_data


def _preparation_data(name: str) -> dict[str, Any]:
    assert _stdlib_preparation_data is not None
    data = _stdlib_preparation_data(name)
    if getattr(_launching, "hide_main", False):
        for key in _MAIN_KEYS:
            data.pop(key, None)
    return data
