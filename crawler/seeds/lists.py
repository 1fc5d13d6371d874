"""Seeds: URLs from the command line and from URL-list files, read lazily and validated.

A URL list has one URL per line; blank lines and ``#`` comments are ignored. The URL is the
line's first whitespace-separated field: more text is ignored with a warning (a space inside
a URL must be written %20), unless it is a ``#`` comment. A line that is not an http(s) URL
is skipped with a warning naming its file and line (the first few of each file; the rest
are counted), and the rest still go. A file in which no line is a URL (binary data, another
kind of file) is named once, as no URL list at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiofiles

from crawler.errors import InputError, InvalidUrl
from crawler.urls import MAX_SHOWN_CHARS, normalize_seed

log = logging.getLogger(__name__)

CHUNK_CHARS = 256 * 1024
STDIN = "-"
LINE_WARNINGS = 10
"""Invalid lines of one file warned about one by one; the rest are counted in one line."""


class _BinaryData(Exception):
    """The file holds NUL bytes: binary data, or text in an encoding other than UTF-8."""


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
            seed = self._count(_seed(text))
            if isinstance(seed, InvalidUrl):
                log.warning("%s", _skipped(f"argument {position}", seed))
            else:
                yield seed
        # Files that are no URL list, said once: in the error when nothing else is a URL
        not_lists: list[str] = []
        for path in self.files:
            listed = _ListedFile(path)
            try:
                async for number, line in _url_lines(path):
                    field, rest = _split(line)
                    url = listed.take(number, line, self._count(_seed(field)), rest)
                    if url is not None:
                        yield url
            except _BinaryData:
                listed.binary = True
            why = listed.close()
            if why is not None:
                not_lists.append(f"{path} is not a URL list ({why})")
            if self.valid:
                for reason in not_lists:
                    log.warning("%s (skipped)", reason)
                not_lists.clear()
        if not self.valid and (self.invalid or not_lists):
            # Warnings named each bad seed; with not one good one there is nothing to crawl.
            reasons = not_lists or [f"{_seeds(self.invalid)} invalid"]
            raise InputError(f"no valid URL to crawl: {'; '.join(reasons)}")

    def _count(self, seed: str | InvalidUrl) -> str | InvalidUrl:
        if isinstance(seed, InvalidUrl):
            self.invalid += 1
        else:
            self.valid += 1
        return seed


class _ListedFile:
    """One URL list as it is read: its line warnings, held back until it proves to be one.

    The first ``LINE_WARNINGS`` invalid lines wait for the file's first URL, the rest are
    counted: a file with more and no URL at all (a binary, a CSV given by mistake) is named
    once instead of line by line; a few bad lines are each named, typos to fix.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.binary = False
        self.urls = 0
        self.invalid = 0
        self._held: list[str] = []

    def take(self, number: int, line: str, seed: str | InvalidUrl, rest: str) -> str | None:
        """Line ``number``'s URL (``seed``, read from its first field), or None."""
        origin = f"{self.path}:{number}"
        if isinstance(seed, InvalidUrl):
            self.invalid += 1
            if self.invalid <= LINE_WARNINGS:
                self._held.append(_skipped(origin, seed, line))
                if self.urls:
                    self._release()
            return None
        self.urls += 1
        self._release()
        if rest and not rest.startswith("#"):
            log.warning(
                "%s: text after the URL ignored: %s (a space in a URL is %%20)",
                origin,
                _clipped(rest),
            )
        return seed

    def close(self) -> str | None:
        """Warn about the lines left; why the file is no URL list at all, or None."""
        if self.binary:
            return "binary data, or text not in UTF-8"
        if self.invalid > LINE_WARNINGS and not self.urls:
            return f"none of its {self.invalid:,} lines is an http(s) URL"
        self._release()
        if self.invalid > LINE_WARNINGS:
            more = f"{self.invalid - LINE_WARNINGS:,}"
            log.warning("%s: … and %s more invalid lines (skipped)", self.path, more)
        return None

    def _release(self) -> None:
        for warning in self._held:
            log.warning("%s", warning)
        self._held.clear()


def _seed(text: str) -> str | InvalidUrl:
    try:
        return normalize_seed(text)
    except InvalidUrl as exc:
        return exc


def _skipped(origin: str, problem: InvalidUrl, line: str | None = None) -> str:
    """The warning for a seed skipped as invalid; ``line`` when more than the URL field."""
    if line is not None and _split(line)[1]:
        return f"{origin}: {problem}, in the line {_clipped(line)} (skipped)"
    return f"{origin}: {problem} (skipped)"


def _clipped(text: str) -> str:
    """``text`` for a warning: quoted, escaped (a binary line is bytes), length bounded."""
    if len(text) > MAX_SHOWN_CHARS:
        return repr(text[:MAX_SHOWN_CHARS]) + f" ({len(text):,} characters)"
    return repr(text)


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
        with contextlib.suppress(_BinaryData):  # no URL list: no seed lines
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
            first = True
            while chunk := await file.read(CHUNK_CHARS):
                if first and "\x00" in chunk:
                    # No text file holds NUL bytes: its "lines" would be a warning each.
                    raise _BinaryData
                first = False
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
