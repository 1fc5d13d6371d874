"""Seeds: URLs from the command line and from URL-list files, read lazily and validated.

A URL list has one URL per line; blank lines and ``#`` comments are ignored. The URL is the
line's first whitespace-separated field: more text is ignored with a warning (a space inside
a URL must be written %20), unless it is a ``#`` comment. A line that is not an http(s) URL
is skipped with a warning naming its file and line; the rest still go.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiofiles

from crawler.errors import InputError, InvalidUrl
from crawler.urls import normalize_seed

log = logging.getLogger(__name__)

CHUNK_CHARS = 256 * 1024
STDIN = "-"


class SeedReader:
    """Yields valid seed URLs in order: command-line URLs first, then each file's lines.

    Files are opened when read, a line at a time, so a list of millions costs no memory;
    ``check`` finds missing or unreadable files before the crawl starts.
    """

    def __init__(self, urls: Sequence[str] = (), files: Sequence[str | Path] = ()) -> None:
        self.urls = list(urls)
        self.files = [Path(name) for name in files]
        self.invalid = 0
        self.valid = 0

    def check(self) -> None:
        """Raise ``InputError`` for the first seed file that cannot be read."""
        for path in self.files:
            if str(path) == STDIN:
                continue
            if not path.exists():
                raise InputError(f"input file not found: {path}")
            if path.is_dir():
                raise InputError(f"input is a folder, not a file: {path}")
            if not os.access(path, os.R_OK):
                raise InputError(f"input file not readable: {path}")

    async def __aiter__(self) -> AsyncIterator[str]:
        for position, text in enumerate(self.urls, 1):
            url = self._validate(text, f"argument {position}")
            if url:
                yield url
        for path in self.files:
            async for number, line in _url_lines(path):
                origin = f"{path}:{number}"
                field, rest = _split(line)
                url = self._validate(field, origin, line=line)
                if url:
                    if rest and not rest.startswith("#"):
                        log.warning(
                            "%s: text after the URL ignored: %r (a space in a URL is %%20)",
                            origin,
                            rest,
                        )
                    yield url
        if self.invalid and not self.valid:
            # Warnings named each bad seed; with not one good one there is nothing to crawl.
            raise InputError(f"no valid URL to crawl: {_seeds(self.invalid)} invalid")

    def _validate(self, text: str, origin: str, *, line: str | None = None) -> str | None:
        try:
            url = normalize_seed(text)
        except InvalidUrl as exc:
            self.invalid += 1
            if line is not None and line != text:
                log.warning("%s: %s, in the line %r (skipped)", origin, exc, line)
            else:
                log.warning("%s: %s (skipped)", origin, exc)
            return None
        self.valid += 1
        return url


def _seeds(count: int) -> str:
    return "the seed is" if count == 1 else f"all {count} seeds are"


def _split(line: str) -> tuple[str, str]:
    """A list line's first whitespace-separated field (its URL), and the rest."""
    fields = line.split(None, 1)
    return fields[0], fields[1] if len(fields) > 1 else ""


def lists_a_valid_seed(urls: Sequence[str], files: Sequence[str | Path]) -> bool:
    """True when ``urls`` or the files (stdin aside) hold a valid seed; reads each file only
    up to its first one, without a word: warnings are the crawl's, when it reads them.

    Raises:
        InputError: a file cannot be read.
    """
    for text in urls:
        if _is_seed(text):
            return True
    for path in files:
        if str(path) == STDIN:
            return True  # not ours to read twice; the crawl says so if it holds nothing
        try:
            with open(path, encoding="utf-8-sig", errors="replace") as file:
                if any(_is_seed(_split(text)[0]) for text in map(_listed, file) if text):
                    return True
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return False


def _is_seed(text: str) -> bool:
    try:
        normalize_seed(text)
    except InvalidUrl:
        return False
    return True


def _listed(line: str) -> str:
    """A list line's text, or "" for a blank line or a ``#`` comment."""
    text = line.strip()
    return "" if text.startswith("#") else text


async def count_seed_lines(files: Sequence[str | Path]) -> int:
    """How many non-blank, non-comment lines the files hold: the progress bar's total."""
    total = 0
    for path in files:
        async for _ in _url_lines(path):
            total += 1
    return total


async def _url_lines(path: Path | str) -> AsyncIterator[tuple[int, str]]:
    """(line number, stripped text) of the lines that are not blank or comments.

    Reads 256 KiB at a time: one thread hop per chunk rather than per line.
    """
    try:
        stdin = str(path) == STDIN
        async with aiofiles.open(
            0 if stdin else path, encoding="utf-8-sig", errors="replace", closefd=not stdin
        ) as file:
            number = 0
            rest = ""
            while chunk := await file.read(CHUNK_CHARS):
                lines = (rest + chunk).split("\n")
                rest = lines.pop()
                for line in lines:
                    number += 1
                    if text := _listed(line):
                        yield number, text
            if text := _listed(rest):
                yield number + 1, text
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
