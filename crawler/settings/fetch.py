"""How pages are fetched: concurrency, politeness, timeouts, limits and the network (proxies,
TLS, HTTP/2, per-site request settings): the ``[fetch]`` table of the settings."""

from __future__ import annotations

import re

from pydantic import Field, field_serializer, field_validator

from crawler.settings.section import Section, Size, redact_url
from crawler.settings.sites import SiteRule
from crawler.settings.sizes import SIZE_FORMS
from crawler.version import __version__

DEFAULT_USER_AGENT = f"parcrawl/{__version__}"
DEFAULT_ACCEPT_TYPES = ("text/html", "application/xhtml+xml")
PROXY_URL = re.compile(
    r"https?://(?:[^@/?#\s]+@)?(?:\[[0-9a-f:.]+\]|[^@/?#:\s\[\]]+)(?::[0-9]{1,5})?/?", re.IGNORECASE
)
"""A proxy: http or https, a host, an optional port and credentials, no path."""


class FetchSettings(Section):
    """How pages are fetched: concurrency, politeness, timeouts and limits."""

    concurrency: int = Field(16, ge=1, le=10_000, description="Requests in flight, all hosts.")
    per_host: int = Field(4, ge=1, le=1_000, description="Requests in flight to one host.")
    connect_timeout_s: float = Field(10.0, gt=0, description="Time to open a connection.")
    read_timeout_s: float = Field(30.0, gt=0, description="Longest wait for the next bytes.")
    timeout_s: float = Field(30.0, gt=0, description="Total time for one response.")
    max_redirects: int = Field(10, ge=0, le=100, description="Redirects followed per URL.")
    max_bytes: Size = Field(10 * 1024 * 1024, ge=1, description=f"Largest body read: {SIZE_FORMS}.")
    user_agent: str = Field(
        DEFAULT_USER_AGENT, min_length=1, description="The User-Agent header of every request."
    )
    delay_s: float = Field(
        0.0, ge=0, description="Least time between two requests to one host, jittered x1-1.5."
    )
    autothrottle: bool = Field(
        True,
        description="Follow the server: fewer requests in flight, then a delay, while its "
        "answers slow down or fail; back up to per_host as it recovers.",
    )
    max_hold_s: float = Field(
        600.0, gt=0, description="Cap on how long a 429/503 (Retry-After) holds a host."
    )
    retries: int = Field(3, ge=0, le=100, description="Further attempts after a failure.")
    retry_statuses: list[int] = Field(
        default_factory=lambda: [408, 429, 500, 502, 503, 504],
        description="HTTP statuses worth another attempt.",
    )
    retry_errors: list[str] = Field(
        default_factory=lambda: ["timeout", "connect", "read", "protocol"],
        description="Network error codes worth another attempt.",
    )
    retry_backoff_s: float = Field(
        1.0, gt=0, description="Back-off base: attempt n waits up to base x 2^(n-1), jittered."
    )
    accept_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ACCEPT_TYPES),
        description="Media types whose bodies are read and parsed; others: type and size only.",
    )
    allow_private: bool = Field(
        False,
        description="Fetch private, loopback and link-local addresses even from a public seed.",
    )
    proxy: str | None = Field(
        None, description="Proxy for every request: http://[user:pass@]host:port (or https://)."
    )
    env_proxy: bool = Field(
        True, description="Honour HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY, as curl does."
    )
    ca_bundle: str | None = Field(
        None, description="PEM file of CAs to trust; unset: SSL_CERT_FILE, REQUESTS_CA_BUNDLE."
    )
    insecure: bool = Field(False, description="Do not verify TLS certificates (a warning says so).")
    http2: bool = Field(False, description="Offer HTTP/2 to https servers (needs parcrawl[http2]).")
    strip_params: list[str] = Field(
        default_factory=list,
        description="Query parameters dropped from every URL (globs: utm_*, fbclid, sessionid).",
    )
    sites: list[SiteRule] = Field(
        default_factory=list, description="Headers, cookies, Basic auth per host or URL regex."
    )

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is not None and not PROXY_URL.fullmatch(value):
            raise ValueError(
                f"not a proxy URL: {redact_url(value)!r} (http://host:port or https://host:port)"
            )
        return value

    @field_serializer("proxy", when_used="json")
    def _hide_proxy_password(self, value: str | None) -> str | None:
        # Every place settings are shown or saved (check, WARC warcinfo) dumps them as JSON.
        return None if value is None else redact_url(value)
