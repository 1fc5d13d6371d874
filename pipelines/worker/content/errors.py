"""The content engines' two signals: a page they cannot read, and a page that took too long.

Both are caught where a page is processed and become that page's error record; neither ever
stops a crawl. (They belong in ``crawler/errors.py``'s tree once the engines are wired in.)
"""

from __future__ import annotations


class ContentError(Exception):
    """A page (HTML or PDF) the content engines cannot read; the message is one line.

    Every failure of an engine's library is wrapped in it (``__cause__`` keeps the original),
    so the caller catches one type and never a library's own exceptions.
    """


class ContentTimeLimit(ContentError):
    """An engine ran past the page's time limit (``time_limit_s``) and was interrupted."""

    def __init__(self, time_limit_s: float) -> None:
        super().__init__(f"content extraction took longer than {time_limit_s:g} s")
        self.time_limit_s = time_limit_s
