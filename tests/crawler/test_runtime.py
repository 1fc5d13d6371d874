"""Tests for crawler.runtime: the crawler's event loop; no more of the HTTP stack than it runs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import uvloop  # a dependency on every platform but Windows

from crawler.runtime import event_loop_factory

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import cli
unused = {"rich", "click", "pygments", "trio", "jinja2", "vl_convert", "warcio", "redis"}
left_out = sorted({name.split(".")[0] for name in sys.modules} & unused)
import httpx
after = {}
for name in ("trio", "httpx._main"):
    try:
        __import__(name)
        after[name] = True
    except ImportError:
        after[name] = False
print(json.dumps({"loaded": left_out, "httpx_main": callable(httpx.main), "after": after}))
"""


def test_the_command_line_starts_without_httpx_cli_and_trio_yet_both_stay_importable() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    report = json.loads(done.stdout)
    assert report["loaded"] == []
    assert report["httpx_main"]  # httpx's own stand-in when its CLI is absent
    # A later import gets the real module when it is installed: the block is gone.
    assert report["after"] == {name: _importable(name) for name in ("trio", "httpx._main")}


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def test_the_crawl_runs_on_uvloop_where_it_is_installed() -> None:
    factory = event_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_without_uvloop_the_crawl_runs_on_asyncio_s_own_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an absent package looks like
    assert event_loop_factory() is None
