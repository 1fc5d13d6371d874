"""Which proxy, if any, a request goes through: the ``proxy`` setting, or the environment's
``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` read as curl reads them.

It only decides; connecting through the proxy is the transport's (``crawler.fetch.transport``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from crawler.errors import ConfigError
from crawler.settings import PROXY_URL, FetchSettings, redact_url
from crawler.urls import ascii_host

ENV_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
"""Read lower case first, then upper case, as curl does."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """One proxy: its URL without credentials, and the credentials apart (never shown)."""

    url: str
    auth: tuple[str, str] | None = None

    @classmethod
    def parse(cls, text: str, origin: str) -> Proxy:
        """``text`` as a proxy; a missing scheme means ``http://`` (as curl takes it).

        Raises:
            ConfigError: naming ``origin`` (a setting or a variable) and the URL, masked.
        """
        url = text.strip() if "://" in text else f"http://{text.strip()}"
        if not PROXY_URL.fullmatch(url):
            hint = "; set fetch.env_proxy = false to ignore it" if origin.isupper() else ""
            raise ConfigError(
                f"{origin}: not an http(s) proxy URL: {redact_url(url)!r}"
                f" (http://host:port or https://host:port){hint}"
            )
        parts = urlsplit(url)
        auth = None
        if parts.username is not None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        bare = f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2]}"
        return cls(bare, auth)


class NoProxy:
    """A ``NO_PROXY`` list: ``*``, host names (their subdomains too, a leading dot or not),
    IP addresses and CIDR networks, with or without a port."""

    def __init__(self, text: str) -> None:
        self.everything = text.strip() == "*"
        self._names: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for raw in text.replace(" ", ",").split(","):
            entry = raw.strip().lower()
            if not entry or entry == "*":
                continue
            host = _without_port(entry)
            try:
                self._networks.append(ipaddress.ip_network(host.strip("[]"), strict=False))
            except ValueError:
                self._names.add(ascii_host(host.lstrip("*").lstrip(".")))

    def __bool__(self) -> bool:
        return self.everything or bool(self._names or self._networks)

    def matches(self, host: str) -> bool:
        """True when requests to ``host`` go direct."""
        if self.everything:
            return True
        host = ascii_host(host.strip("[]"))
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return any(host == name or host.endswith("." + name) for name in self._names)
        return host in self._names or any(address in network for network in self._networks)


class ProxyRoutes:
    """Per request URL: the proxy to go through, or None to connect directly."""

    def __init__(
        self,
        by_scheme: Mapping[str, Proxy],
        no_proxy: NoProxy | None = None,
    ) -> None:
        self.by_scheme = dict(by_scheme)
        self._no_proxy = no_proxy or NoProxy("")

    def __bool__(self) -> bool:
        return bool(self.by_scheme)

    def proxy_for(self, scheme: str, host: str) -> Proxy | None:
        """The proxy for a request to ``scheme://host``, or None when it goes direct."""
        proxy = self.by_scheme.get(scheme)
        if proxy is None or (self._no_proxy and self._no_proxy.matches(host)):
            return None
        return proxy

    @classmethod
    def from_settings(
        cls, settings: FetchSettings, environ: Mapping[str, str] | None = None
    ) -> ProxyRoutes:
        """The routes ``settings`` ask for: ``proxy`` for every scheme, else (unless
        ``env_proxy`` is off) the environment's variables; ``NO_PROXY`` applies to both.

        Raises:
            ConfigError: a proxy URL that is not http(s) (a variable's name says which).
        """
        env = _proxy_variables(os.environ if environ is None else environ)
        no_proxy = NoProxy(env.get("no_proxy", "")) if settings.env_proxy else None
        if settings.proxy is not None:
            proxy = Proxy.parse(settings.proxy, "fetch.proxy")
            return cls({"http": proxy, "https": proxy}, no_proxy)
        if not settings.env_proxy:
            return cls({})
        routes: dict[str, Proxy] = {}
        fallback = env.get("all_proxy")
        for scheme in ("http", "https"):
            name = f"{scheme}_proxy"
            text = env.get(name) or fallback
            if text:
                origin = name.upper() if env.get(name) else "ALL_PROXY"
                routes[scheme] = Proxy.parse(text, origin)
        return cls(routes, no_proxy)


def _proxy_variables(environ: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ENV_NAMES:
        value = environ.get(name) or environ.get(name.upper())
        if value:
            found[name] = value
    return found


def _without_port(entry: str) -> str:
    if entry.startswith("["):
        return entry.partition("]")[0] + "]"
    if entry.count(":") == 1:
        return entry.partition(":")[0]
    return entry  # an IPv6 address or network, or no port
