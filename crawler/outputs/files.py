"""Files that appear whole or not at all: written beside their final name, then renamed.

A merge or a report interrupted half-way (Ctrl-C, a full disk) leaves the previous file, if
any, as it was, and no partial one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from crawler.errors import OutputError
from crawler.outputs.paths import check_file

T = TypeVar("T")


def write_atomically(output: Path, write: Callable[[Path], T]) -> T:
    """Call ``write`` on a fresh path in ``output``'s folder, then rename it to ``output``.

    The path does not exist when ``write`` gets it. The file gets the mode a new file
    would (0666 less the umask), not the private mode of a temporary one.

    Raises:
        OutputError: exit 2 when ``output`` is a folder or the folder cannot be made; exit 1
            when writing fails.
    """
    check_file(output, "output")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
        os.close(handle)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}", exit_code=2) from exc
    partial = Path(name)
    partial.unlink()
    try:
        result = write(partial)
        partial.chmod(0o666 & ~_umask())
        partial.replace(output)
    except (OSError, sqlite3.Error) as exc:
        raise OutputError(f"cannot write {output}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return result


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
