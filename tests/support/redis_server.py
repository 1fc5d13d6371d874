"""A real ``redis-server`` for tests: on a free loopback port, in a temporary folder,
stopped (and restartable, with AOF on) by the test that started it."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process; ``url`` reaches it. ``stop``/``start`` keep port and folder."""

    def __init__(
        self,
        folder: Path,
        *,
        password: str | None = None,
        appendonly: bool = False,
        tls: bool = False,
    ) -> None:
        self.folder = folder
        self.port = _free_port()
        self.password = password
        self.appendonly = appendonly
        self.tls = tls
        self.certificate = folder / "cert.pem"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:  # our own certificate authority: the self-signed certificate
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.certificate}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def _tls_args(self) -> list[str]:
        """A self-signed certificate for 127.0.0.1 (openssl), and the flags serving TLS only."""
        key = self.folder / "key.pem"
        if not self.certificate.exists():
            subprocess.run(
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(self.certificate), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
        return [
            "--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.certificate),
            "--tls-key-file", str(key), "--tls-ca-cert-file", str(self.certificate),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed (.ci/run installs it)"
        args = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            args += self._tls_args()  # the later --port 0 wins: TLS only
        self._process = subprocess.Popen(args)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}:\n{log}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                if not self.tls:
                    raw.sendall(b"PING\r\n")
                    reply = raw.recv(64)
                else:
                    context = ssl.create_default_context(cafile=str(self.certificate))
                    with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                        conn.sendall(b"PING\r\n")
                        reply = conn.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def stop(self) -> None:
        """Stop the server as an operator would (SIGTERM: it writes its AOF and exits)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


@contextmanager
def running_redis(
    folder: Path, *, password: str | None = None, appendonly: bool = False, tls: bool = False
) -> Iterator[RedisServer]:
    """A started ``RedisServer`` in ``folder``, stopped on exit."""
    server = RedisServer(folder, password=password, appendonly=appendonly, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for one test (import this fixture into the test module)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    with running_redis(folder) as server:
        yield server
