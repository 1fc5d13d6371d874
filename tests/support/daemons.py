"""Start a server program from Debian (tinyproxy, nginx) as a child process, wait until it
listens on its loopback port, and stop it."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_listening(
    command: list[str], port: int, timeout_s: float = 10
) -> subprocess.Popen[bytes]:
    """``command`` started, once it accepts connections on 127.0.0.1:``port``.

    Raises:
        RuntimeError: it ended or did not listen within ``timeout_s``.
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
        else:
            return process
    stop(process)
    raise RuntimeError(f"{command[0]} did not start listening on port {port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
