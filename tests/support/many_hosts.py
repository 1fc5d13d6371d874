"""Hundreds of sites at once: one loopback HTTP server listening on many addresses
(127.0.0.0/8 is all loopback on Linux), each address a host of its own.

It runs in a subprocess, so its clock readings do not wait for the crawler's event loop
or the test's GIL: each request is stamped (``time.monotonic()``, one clock for every
process) as soon as its head is read, the moment a site would count from.
"""

from __future__ import annotations

import asyncio
import errno
import json
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import TracebackType

PAGE = b"<html><head><title>page</title></head><body><p>a page</p></body></html>"


def address(index: int) -> str:
    """The loopback address of host ``index`` (127.0.1.1, 127.0.1.2, ... 127.0.2.1, ...)."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


class ManyHosts:
    """``with ManyHosts(300, robots) as hosts: hosts.url(7, "/a")``; then ``hosts.arrivals()``.

    Every host answers ``/robots.txt`` with ``robots`` and any other path with a small page.
    """

    def __init__(self, count: int, robots: str, log_path: Path) -> None:
        self.count = count
        self._robots = robots
        self._log_path = log_path
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    def url(self, index: int, path: str) -> str:
        return f"http://{address(index)}:{self.port}{path}"

    def __enter__(self) -> ManyHosts:
        command = [sys.executable, __file__, str(self.count), self._robots, str(self._log_path)]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self._process.kill()
            raise RuntimeError(f"the many-hosts server did not start: {line!r}")
        self.port = int(line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)  # it writes its log, then exits
            self._process.wait(30)
            assert self._process.stdout is not None
            self._process.stdout.close()

    def arrivals(self) -> dict[str, list[tuple[float, str]]]:
        """Per host address, each request's (arrival time, path), in order of arrival."""
        by_host: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for when, host, path in json.loads(self._log_path.read_text()):
            by_host[host].append((when, path))
        return {host: sorted(times) for host, times in by_host.items()}


# -- the server process -----------------------------------------------------------------


async def _serve(count: int, robots: bytes, log_path: str) -> None:
    log: list[tuple[float, str, str]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                log.append((time.monotonic(), host, path))
                body, kind = (
                    (robots, b"text/plain") if path == "/robots.txt" else (PAGE, b"text/html")
                )
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                    % (kind, len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = []
    for _attempt in range(20):  # the port must be free on every address
        port = _free_port(address(0))
        try:
            for index in range(count):
                servers.append(await asyncio.start_server(handle, address(index), port))
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            for server in servers:
                server.close()
            servers = []
    print(port, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    Path(log_path).write_text(json.dumps(log))


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]))
