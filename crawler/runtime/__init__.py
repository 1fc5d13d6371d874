"""How the crawler's process runs: the fastest event loop installed, and the HTTP stack
imported without the parts parcrawl never runs (before anything else imports it).

httpx imports its own command line (click, rich, pygments) and httpcore imports trio when
installed; parcrawl runs on asyncio and has its own command line. Left out, the crawler's
process starts about 0.1 s of CPU sooner with some 160 fewer modules in its memory. Once
the stack is in, the names are importable again, for whoever wants them.

:mod:`crawler.runtime.prestart` starts the parse workers' forkserver while the command line
imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["event_loop_factory", "import_http_stack", "modules_left_out"]

UNUSED = ("httpx._main", "trio")
"""Optional imports of httpx and httpcore (each tries it and carries on without)."""


@contextlib.contextmanager
def modules_left_out(names: tuple[str, ...]) -> Iterator[None]:
    """While inside, ``import name`` raises ImportError for each of ``names`` not yet in."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "absent"
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


def import_http_stack() -> None:
    """Import httpx and httpcore without their unused optional parts (no-op once imported)."""
    with modules_left_out(UNUSED):
        import httpcore  # noqa: F401, PLC0415  (imported here, under the block, on purpose)
        import httpx  # noqa: F401, PLC0415


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed, else None (asyncio's own).

    The same crawl for about a tenth less CPU in the crawler's process, where the HTTP
    client's socket work and the stages' hand-offs all run on the loop.
    """
    try:
        import uvloop  # noqa: PLC0415  (optional: absent on Windows)
    except ImportError:  # asyncio's own loop does the same job, a little slower
        return None
    return uvloop.new_event_loop


import_http_stack()
