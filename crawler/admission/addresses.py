"""Which IP addresses a crawl may connect to: no private, loopback or link-local targets
from a public seed (server-side request forgery), unless the crawl started there.

Two layers: URLs whose host is an IP literal are checked before any request (this works
under mocked transports too); hostnames are checked after DNS resolution, at connect time,
and the connection goes to the address that was checked (no second lookup to rebind).
Through a proxy the name is resolved and checked before the request is handed over.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

PRIVATE_REFUSAL = "private address"
"""Marks the connect error raised for a refused address, so the fetcher can name it."""

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_private(address: str) -> bool:
    """True for loopback, private, link-local, unspecified and reserved addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_reserved
        or ip.is_multicast
    )


class AddressGuard:
    """Decides whether the crawl may reach an address.

    Private targets are allowed when ``allow_private`` is set or once any seed is itself
    private (a loopback test site, an intranet crawl): the crawl may stay where it began.
    """

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._seed_hosts: set[str] = set()

    def note_seed(self, url: str) -> None:
        """A seed's host: if it is private, so may the rest of the crawl be."""
        host = (urlsplit(url).hostname or "").lower()
        if host in _LOCAL_NAMES or is_private(host):
            self.allow_private = True
        self._seed_hosts.add(host)

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, judging its host as written; None if it may."""
        if self.allow_private:
            return None
        host = (urlsplit(url).hostname or "").lower()
        if host in _LOCAL_NAMES or is_private(host):
            return f"{host} is a {PRIVATE_REFUSAL} and the crawl's seeds are public"
        return None

    def pick(self, host: str, addresses: Iterable[str]) -> str:
        """The address to connect to for ``host``; raises ``httpcore.ConnectError`` if none.

        A seed host that resolves to a private address makes the crawl private-seeded.
        """
        candidates = list(addresses)
        if not candidates:
            raise httpcore.ConnectError(f"no address for {host}")
        seed = host.lower() in self._seed_hosts
        if seed and not self.allow_private and any(map(is_private, candidates)):
            self.allow_private = True
        if self.allow_private:
            return candidates[0]
        for address in candidates:
            if not is_private(address):
                return address
        raise httpcore.ConnectError(
            f"{host} resolves to {candidates[0]}, a {PRIVATE_REFUSAL}, and the crawl's seeds "
            "are public"
        )


async def resolve(host: str, port: int, timeout_s: float | None) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order.

    Raises:
        httpcore.ConnectTimeout: the lookup took longer than ``timeout_s``.
        httpcore.ConnectError: the name does not resolve.
    """
    try:
        async with asyncio.timeout(timeout_s):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves hostnames itself, asks the guard, and connects to the address it approved.

    Passed to httpcore's connection pool as its public ``network_backend``.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend, guard: AddressGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self._guard.pick(host, await resolve(host, port, timeout))
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
