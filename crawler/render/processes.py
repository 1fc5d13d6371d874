"""The processes of one launched Chromium, found through /proc: the browser and its crash
handlers by a marker in their environment, its zygotes, renderers and utilities as their
descendants. It measures their memory and ends them; launching them is ``browser``'s.

Linux only, as /proc is; elsewhere nothing is found (no memory limit, nothing to end).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")
MARKER_ENV = "PARCRAWL_RENDER_DIR"
"""Set in the browser's environment to the pool's own folder: how its processes are known
(Playwright launches Chromium itself and does not say its process id)."""

DRIVER_MARK = b"run-driver"
"""The argument Playwright's driver (a Node.js program) is started with."""

NAMES = (b"chrom", b"headless_shell")
"""What the processes of a Chromium are called (``comm``): chromium, chrome_crashpad_handler."""


def browser_processes(marker: str) -> list[int]:
    """The ids of every process of the browser launched with ``MARKER_ENV=marker``."""
    tag = f"{MARKER_ENV}={marker}".encode() + b"\0"
    parents: dict[int, int] = {}
    roots: list[int] = []
    ended: set[int] = set()
    for pid, ppid, name, state in _processes():
        parents[pid] = ppid
        if state == b"Z":  # ended, its exit not yet collected: no memory, nothing to end
            ended.add(pid)
        elif name.startswith(NAMES) and tag in _read(pid, "environ"):
            roots.append(pid)
    found = set(roots)
    grown = True
    while grown:  # the renderers are the zygotes' children, the zygotes the browser's
        grown = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grown = True
    return sorted(found - ended)


def driver_processes() -> list[int]:
    """The ids of the Playwright drivers this process started (``node ... run-driver``)."""
    me = os.getpid()
    return [
        pid
        for pid, ppid, _name, state in _processes()
        if ppid == me and state != b"Z" and DRIVER_MARK in _read(pid, "cmdline").split(b"\0")
    ]


def alive(pid: int) -> bool:
    """True while ``pid`` runs: it exists and has not ended (a zombie has)."""
    stat = _stat(pid)
    return stat is not None and stat[2] not in (b"Z", b"X")


def lower_priority(pids: list[int], by: int) -> None:
    """Make every thread of ``pids`` at least ``by`` nicer than this process (at most 19);
    what they start afterwards inherits it. A process gone, or not ours, is left alone."""
    nice = min(19, os.getpriority(os.PRIO_PROCESS, 0) + by)
    for pid in pids:
        for entry in _listdir(PROC / str(pid) / "task"):
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                if os.getpriority(os.PRIO_PROCESS, int(entry)) < nice:
                    os.setpriority(os.PRIO_PROCESS, int(entry), nice)


def memory_bytes(pids: list[int]) -> int:
    """Their memory together: proportional set size (shared pages split between the
    processes sharing them), or resident size where the kernel gives no PSS."""
    total = 0
    for pid in pids:
        rollup = _read(pid, "smaps_rollup")
        pss = next((line for line in rollup.splitlines() if line.startswith(b"Pss:")), None)
        if pss is not None:
            total += int(pss.split()[1]) * 1024
            continue
        statm = _read(pid, "statm").split()
        if len(statm) > 1:
            total += int(statm[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


def end_processes(marker: str) -> int:
    """Kill every process of the browser launched with ``marker``; how many there were."""
    pids = browser_processes(marker)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _processes() -> list[tuple[int, int, bytes, bytes]]:
    """(pid, parent pid, name, state) of every process the system shows."""
    listed = []
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            listed.append((int(entry.name), *stat))
    return listed


def _stat(pid: int) -> tuple[int, bytes, bytes] | None:
    """(parent pid, name, state) of ``pid``; None when it is gone."""
    stat = _read(pid, "stat")
    opening, closing = stat.find(b"("), stat.rfind(b")")
    fields = stat[closing + 2 :].split()
    if opening < 0 or len(fields) < 2:
        return None
    return int(fields[1]), stat[opening + 1 : closing], fields[0]


def _listdir(path: Path) -> list[str]:
    try:
        return [entry.name for entry in path.iterdir()]
    except OSError:  # the process ended
        return []


def _read(pid: int, name: str) -> bytes:
    try:
        return (PROC / str(pid) / name).read_bytes()
    except OSError:  # the process ended, or is not ours to read
        return b""
