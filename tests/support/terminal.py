"""Run the ``parcrawl`` command on a pseudo-terminal, as a person at a shell sees it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from tests.support.cli import PARCRAWL, checkout_env

ROWS, COLUMNS = 40, 120


@dataclass(frozen=True)
class Screen:
    """What a run left: its exit code, the terminal's text, and what went to pipes instead."""

    code: int
    text: str
    stdout: str = ""
    stderr: str = ""

    def frames(self, label: str) -> list[str]:
        """Every drawing of the progress bar whose line starts with ``label``."""
        parts = self.text.replace("\r", "\n").split("\n")
        return [part.split("\x1b")[0] for part in parts if part.startswith(f"{label}:")]


def run_on_terminal(
    *args: str,
    stdout_pipe: bool = False,
    stderr_pipe: bool = False,
    interrupt_when: Callable[[str], bool] | None = None,
    timeout_s: float = 120,
) -> Screen:
    """``parcrawl ARGS`` with stdout and stderr on a pseudo-terminal, or either on a
    pipe: ``stdout_pipe`` as in ``parcrawl … | jq``, whose reader prints to the same screen.

    ``interrupt_when``: Ctrl-C (SIGINT to its process group, as a terminal sends it) once
    the screen's text so far satisfies it.
    """
    import fcntl  # noqa: PLC0415  (POSIX only)
    import pty  # noqa: PLC0415
    import struct  # noqa: PLC0415
    import termios  # noqa: PLC0415

    primary, secondary = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, and progress bars draw nothing in that.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    with subprocess.Popen(
        [*PARCRAWL, *args],
        env=checkout_env(),
        stdout=subprocess.PIPE if stdout_pipe else secondary,
        stderr=subprocess.PIPE if stderr_pipe else secondary,
        start_new_session=interrupt_when is not None,  # a group of its own to interrupt
    ) as process:
        os.close(secondary)
        piped: dict[str, bytes] = {}
        readers = [
            threading.Thread(target=_drain, args=(stream, name, piped), daemon=True)
            for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
            if stream is not None
        ]
        for reader in readers:
            reader.start()
        chunks = []
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            seen = b"".join(chunks).decode(errors="replace")
            if interrupt_when is not None and interrupt_when(seen):
                os.killpg(process.pid, signal.SIGINT)
                interrupt_when = None
        os.close(primary)
        process.wait(timeout=timeout_s)
        for reader in readers:
            reader.join(timeout_s)
    text = {name: data.decode(errors="replace") for name, data in piped.items()}
    return Screen(process.returncode, b"".join(chunks).decode(errors="replace"), **text)


def _drain(stream: IO[bytes], name: str, into: dict[str, bytes]) -> None:
    into[name] = stream.read()
