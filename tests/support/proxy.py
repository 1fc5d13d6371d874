"""A real forward proxy for tests: Debian's tinyproxy on 127.0.0.1, its config and log in a
test's folder, every request it receives read back from its log."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.daemons import free_port, start_listening, stop

REQUEST_LINE = re.compile(r"Request \(file descriptor \d+\): (\S+ \S+)")


class TinyProxy:
    """``with TinyProxy(tmp_path) as proxy: proxy.url`` -- ``auth=("user", "pass")`` makes it
    ask for Basic credentials (407 without them)."""

    def __init__(self, folder: Path, *, auth: tuple[str, str] | None = None) -> None:
        self.folder = folder
        self.auth = auth
        self.port = free_port()
        self.log = folder / "tinyproxy.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The proxy's URL, credentials included when it wants some."""
        userinfo = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """``METHOD TARGET`` of every request the proxy received, in order."""
        text = self.log.read_text() if self.log.exists() else ""
        return REQUEST_LINE.findall(text)

    def __enter__(self) -> TinyProxy:
        config = self.folder / "tinyproxy.conf"
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            f'LogFile "{self.log}"',
            "LogLevel Connect",
            f'PidFile "{self.folder / "tinyproxy.pid"}"',
            "MaxClients 64",
            "Allow 127.0.0.1",
        ]
        if self.auth:
            lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
        config.write_text("\n".join(lines) + "\n")
        self._process = start_listening(["tinyproxy", "-d", "-c", str(config)], self.port)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None
