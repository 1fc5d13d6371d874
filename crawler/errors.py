"""Every error parcrawl raises, and the exit code each one means for the command line.

ParcrawlError                  base; ``exit_code`` says how the CLI ends
├── UsageError (2)             the user's input is wrong: fix it and run again
│   ├── ConfigError (2)        a setting or job file does not validate
│   │   └── BrowserMissing (2) rendering asked for, but Playwright or Chromium cannot run
│   ├── ExtraMissing (2)       a feature asked for needs an optional extra not installed
│   ├── InputError (2)         a seed file is missing or unreadable
│   ├── StateError (2)         a crawl state file cannot be used; it is left untouched
│   └── RecordsError (2)       a crawl's output to read (report, merge) is missing or foreign
├── OutputError (1)            an output cannot be opened or written (disk full, permissions)
│   └── OutputClosed (141)     the pipe's reader went away: the crawl ends quietly
├── WorkerPoolError (1)        the parse worker processes cannot start
├── FrontierError (1)          a shared (Redis) frontier is unreachable, refuses us, or was lost
├── ClusterError (1)           the Dask cluster cannot be used (unreachable, another version)
│   └── ClusterLost (1)        the scheduler went away mid-crawl and did not come back
└── FetchError (recorded)      one URL could not be fetched; becomes that URL's record,
                               never stops the crawl. ``code`` is a short stable word.

Signals inside one URL's handling; each is caught where it is raised and becomes that URL's
record (or a skipped link, a logged sitemap), so none reaches the command line:

ValueError
├── InvalidUrl                 not an absolute http(s) URL (crawler.urls)
└── SitemapError               a sitemap that cannot or must not be read (crawler.seeds)
Exception
├── BodyTooLarge               a decoded body past ``max_bytes`` (crawler.fetch decoding)
├── UnsupportedEncoding        a Content-Encoding we cannot decode
├── DecodeError                a corrupt encoded body
├── StepError                  a user step raised on a record (pipelines, in a worker)
├── ContentError               a page the main-content engines cannot read (in a worker)
│   └── ContentTimeLimit       an engine ran past the page's time limit
├── WorkerLost                 a Dask worker died running a batch (pipelines.executors.dask)
└── SharedValuesMissing        a Dask worker lacks the crawl's processor: sent again
"""

from __future__ import annotations

from typing import Any


class ParcrawlError(Exception):
    """Base of parcrawl's own errors; the message is one line meant for the user."""

    exit_code = 1


class UsageError(ParcrawlError):
    """The user's input (arguments, files) is wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting does not validate; the message names the setting's path."""


class BrowserMissing(ConfigError):
    """Rendering was asked for, but Playwright is not installed, no Chromium is found, or
    the one found does not start; the message says which, and what to install or set."""


class ExtraMissing(UsageError):
    """A feature asked for (a content engine, Dask, WARC) needs a library of an optional
    extra that is not installed; the message names it and the ``pip install`` that adds it."""


class InputError(UsageError):
    """A seed file cannot be read."""


class StateError(UsageError):
    """A crawl state file cannot be used; it is left untouched."""


class RecordsError(UsageError):
    """A crawl output to read (``parcrawl report``, ``merge``) is missing or not parcrawl's."""


class OutputError(ParcrawlError):
    """An output cannot be opened or written.

    Raised before the crawl starts (exit 2: a usage problem such as a missing folder)
    or during it (exit 1: disk full, I/O error).
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class FetchError(ParcrawlError):
    """One URL's fetch failed; ``code`` is a stable short word such as ``timeout`` or ``dns``."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class OutputClosed(OutputError):
    """The reader of a pipe went away (``| head``): the crawl ends quietly, as Unix tools do.

    Exit 141 (128 + SIGPIPE), the code a shell shows for a writer a closed pipe ended.
    """

    def __init__(self, message: str, *, complete: int = 0) -> None:
        super().__init__(message, exit_code=141)
        self.complete = complete
        """Records of the failed batch whose whole line went into the pipe before it closed."""


class WorkerPoolError(ParcrawlError):
    """The parse worker processes cannot start: the crawl ends, keeping what it wrote."""


class FrontierError(ParcrawlError):
    """A shared frontier (Redis) cannot be used: unreachable at start, a wrong password, or
    lost mid-crawl for longer than the crawl waits. The message never holds the password."""


class ClusterError(ParcrawlError):
    """The Dask cluster cannot be used: unreachable, another parcrawl version, a module missing."""


class ClusterLost(ClusterError):
    """The scheduler went away mid-crawl and did not come back in time: the crawl stops,
    keeping every record already made."""


# -- signals inside one URL's handling --------------------------------------------------


class InvalidUrl(ValueError):
    """A string that is not an absolute http(s) URL; the message says why."""


class SitemapError(ValueError):
    """A sitemap that cannot or must not be read; the message says why (one line)."""


class BodyTooLarge(Exception):
    """The decoded body (or an intermediate stage of it) would exceed ``max_bytes``.

    ``partial`` is what the call that raised had decoded within the limit, for callers
    that keep a prefix rather than fail.
    """

    partial = b""


class UnsupportedEncoding(Exception):
    """A Content-Encoding this decoder cannot decode; the message names it."""


class DecodeError(Exception):
    """The encoded body is corrupt."""


class StepError(Exception):
    """A step raised on a record; ``step`` names the step, ``__cause__`` is what it raised."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(step, message)
        self.step = step
        self.message = message

    def __str__(self) -> str:
        return f"{self.step}: {self.message}"


class ContentError(Exception):
    """A page (HTML or PDF) the main-content engines cannot read; the message is one line.

    Every failure of an engine's library is wrapped in it (``__cause__`` keeps the original),
    so the caller catches one type and never a library's own exceptions. Caught where the
    page is processed: it becomes that page's error record (``content_error``).
    """


class ContentTimeLimit(ContentError):
    """An engine ran past the page's time limit (``time_limit_s``) and was interrupted;
    that page's error record says ``content_timeout``."""

    def __init__(self, time_limit_s: float) -> None:
        super().__init__(f"content extraction took longer than {time_limit_s:g} s")
        self.time_limit_s = time_limit_s

    def __reduce__(self) -> tuple[type[ContentTimeLimit], tuple[float]]:
        # its one argument is not its message: pickled across the process boundary as is
        return (type(self), (self.time_limit_s,))


class WorkerLost(Exception):
    """A Dask worker died while it ran a task (Dask's ``KilledWorker``): the stage re-runs
    the batch page by page to find the page that kills workers."""


class SharedValuesMissing(Exception):
    """A Dask worker ran a call before the crawl's shared values reached it (a task the
    client sent while it reconnected to a new scheduler): the executor registers them
    again and sends the call once more."""


def shown_value(value: Any) -> str | None:
    """``value`` as a job file writes it; None when there is nothing worth echoing (no
    value, or a whole table, which the key path already points at)."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
