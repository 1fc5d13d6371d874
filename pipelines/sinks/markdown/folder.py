"""The Markdown folder on disk: pages written whole (a temporary file renamed), read back in
a fixed order, and the list of pages a recrawl found gone.

Blocking file work, meant for a thread (the sink runs it with ``asyncio.to_thread``). Every
path it writes is checked to resolve inside the folder, whatever a page's URL held or a
symlink planted in the folder points at.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from crawler.errors import OutputError

GONE_FILE = "_gone.txt"
"""The URLs a recrawl found gone (404, 410), one a line: their files stay, llms.txt leaves
them out. No page's file or host folder can have this name (a host has no ``_``; a name
parcrawl changed has a ``~``)."""

TEMPORARY_PREFIX = "."
"""Files being written start with a dot: no page's name does, so none is ever taken for one."""


class MarkdownFolder:
    """The folder ``root`` of a crawl's Markdown files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._resolved = self.root.resolve()

    def prepare(self) -> None:
        """Create the folder if it is missing.

        Raises:
            OutputError: exit 2 (nothing crawled yet): it cannot be made (a file in the
                way, no permission).
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._resolved = self.root.resolve(strict=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot write Markdown files under {self.root}: {reason}"
            raise OutputError(message, exit_code=2) from exc

    def write(self, relative: str, text: str) -> None:
        """Write ``text`` to the file at ``relative`` (``/``-separated), whole or not at all.

        Raises:
            OutputError: the path leads out of the folder, or the disk refused the write.
        """
        path = self._inside(relative)
        temporary = path.with_name(f"{TEMPORARY_PREFIX}{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._inside(relative)  # the folders just made (or found) lead nowhere else
            temporary.write_text(text, encoding="utf-8", errors="replace")
            os.replace(temporary, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def has(self, relative: str) -> bool:
        """True when the page file ``relative`` exists (a regular file inside the folder)."""
        try:
            return self._inside(relative).is_file()
        except OutputError:
            return False

    def pages(self) -> Iterator[Path]:
        """Every page file (``*.md``, not hidden, not a symlink), folders and names sorted."""
        for folder, folders, files in os.walk(self.root):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            for name in sorted(files):
                path = Path(folder, name)
                if name.endswith(".md") and not name.startswith(".") and not path.is_symlink():
                    yield path

    def read_gone(self) -> dict[str, None]:
        """The URLs the gone list holds, in its order (empty when there is none).

        Raises:
            OutputError: exit 2 (read as the crawl starts): the list cannot be read.
        """
        try:
            text = (self.root / GONE_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            message = f"cannot read {self.root / GONE_FILE}: {exc.strerror or exc}"
            raise OutputError(message, exit_code=2) from exc
        return dict.fromkeys(line for line in text.splitlines() if line)

    def write_gone(self, urls: Iterable[str]) -> None:
        """Replace the gone list with ``urls``; no list at all when there are none."""
        listed = list(urls)
        if listed:
            self.write(GONE_FILE, "".join(f"{url}\n" for url in listed))
        else:
            with contextlib.suppress(FileNotFoundError):
                (self.root / GONE_FILE).unlink()

    def _inside(self, relative: str) -> Path:
        path = self.root.joinpath(*relative.split("/"))
        resolved = path.resolve()
        if not resolved.is_relative_to(self._resolved) or resolved == self._resolved:
            raise OutputError(f"refused to write {path}: it leads out of {self.root}")
        return path
