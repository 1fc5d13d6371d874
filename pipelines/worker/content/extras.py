"""The ``content`` extra's libraries, imported when an engine first needs them.

A crawl that never asks for main content never loads them (trafilatura alone costs a worker
tens of megabytes); a crawl that asks without the extra installed gets one clear line.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from crawler.errors import ExtraMissing, UsageError

INSTALL_HINT = "pip install 'parcrawl[content]'"

ENGINE_MODULES: dict[str, tuple[str, ...]] = {
    "precise": ("trafilatura", "lxml_html_clean"),
    "fast": ("html_to_markdown",),
    "pdf": ("pypdf",),
}
"""The libraries each engine (and the PDF reader, ``pdf``) imports, so a crawl can be
checked before it starts."""


def optional_module(name: str, *, needed_for: str) -> ModuleType:
    """Import ``name``, one of the ``content`` extra's libraries.

    Raises:
        ExtraMissing: the library is not installed; the message says how to install it.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        # the library's own words, first line only: it may be installed but lack a dependency
        # of its own (justext, under trafilatura, needs lxml_html_clean)
        reason = str(exc).splitlines()[0] if str(exc) else "not installed"
        raise ExtraMissing(f"{needed_for} cannot import {name} ({reason}): {INSTALL_HINT}") from exc


def check_engine_installed(engine: str) -> None:
    """Check, without importing them, that ``engine``'s libraries are installed.

    For a crawl's start, so a missing extra stops it at once instead of failing every page.

    Raises:
        UsageError: an unknown engine.
        ExtraMissing: the engine's libraries are missing (a ``UsageError``: exit 2).
    """
    if engine not in ENGINE_MODULES:
        known = ", ".join(ENGINE_MODULES)
        raise UsageError(f"unknown content engine {engine!r}: use one of {known}")
    for name in ENGINE_MODULES[engine]:
        if importlib.util.find_spec(name) is None:
            raise ExtraMissing(
                f"the {engine!r} content engine needs {name}, which is not installed: "
                f"{INSTALL_HINT}"
            )
