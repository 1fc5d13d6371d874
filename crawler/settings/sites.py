"""Per-site request extras from a job file's ``[[fetch.sites]]``: headers, cookies and Basic
credentials for one host (and its subdomains) or for URLs matching a pattern.

It owns the rule's schema and which rules a URL gets; sending them is the fetcher's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from crawler.urls import ascii_host

HIDDEN = "***"
SENSITIVE_HEADER = re.compile(r"auth|cookie|token|secret|key|session|password", re.IGNORECASE)
"""Header names whose values are secrets: shown as ``***`` wherever settings are shown."""
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""What a header or cookie name may be (RFC 9110's token)."""


class SiteRule(BaseModel):
    """Extras for the requests to one site: ``host`` (its subdomains too) or ``match`` (a
    regex searched in the URL), or both (both must hold)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    host: str | None = Field(None, description="A host name: it and its subdomains.")
    match: str | None = Field(None, description="A regex searched in the URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    cookies: dict[str, str] = Field(default_factory=dict, description="Cookies sent.")
    username: str | None = Field(None, description="Basic auth user.")
    password: str | None = Field(None, description="Basic auth password (use ${ENV}).")

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return url_pattern(value)

    @field_validator("headers", "cookies")
    @classmethod
    def _names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        kind = "header" if info.field_name == "headers" else "cookie"
        forbidden = "\r\n" if kind == "header" else ";\r\n"
        for name, text in value.items():
            if not TOKEN.fullmatch(name) or any(c in text for c in forbidden):
                raise ValueError(f"not a valid {kind}: {name!r}")
        return value

    @field_validator("password")
    @classmethod
    def _with_user(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("username") is None:
            raise ValueError("a password needs a username")
        return value

    @model_validator(mode="after")
    def _says_where(self) -> SiteRule:
        if self.host is None and self.match is None:
            raise ValueError("a site needs host or match (or both)")
        return self

    @field_serializer("headers", when_used="json")
    def _hide_headers(self, value: dict[str, str]) -> dict[str, str]:
        return {k: HIDDEN if SENSITIVE_HEADER.search(k) else v for k, v in value.items()}

    @field_serializer("cookies", when_used="json")
    def _hide_cookies(self, value: dict[str, str]) -> dict[str, str]:
        return dict.fromkeys(value, HIDDEN)

    @field_serializer("password", when_used="json")
    def _hide_password(self, value: str | None) -> str | None:
        return None if value is None else HIDDEN


@dataclass(frozen=True, slots=True)
class SiteExtras:
    """What the rules matching one URL add to its request."""

    headers: dict[str, str]
    cookies: dict[str, str]
    """Sent along with the cookies the site set itself, not instead of them."""
    credentials: tuple[str, str] | None


NO_EXTRAS = SiteExtras({}, {}, None)


class Sites:
    """The rules of a crawl, asked per URL; without rules every answer is ``NO_EXTRAS``.

    Rules apply in order, a later one's headers and cookies over an earlier one's; each
    hop of a redirect is asked again, so extras never follow a redirect off their site.
    """

    def __init__(self, rules: Iterable[SiteRule] = ()) -> None:
        self._rules = [
            (rule, None if rule.host is None else ascii_host(rule.host), _search(rule.match))
            for rule in rules
        ]

    def __bool__(self) -> bool:
        return bool(self._rules)

    def extras(self, url: str) -> SiteExtras:
        """The headers, cookies and credentials for ``url``."""
        if not self._rules:
            return NO_EXTRAS
        host = ascii_host(urlsplit(url).hostname or "")
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        credentials = None
        for rule, rule_host, search in self._rules:
            if rule_host is not None and host != rule_host and not host.endswith("." + rule_host):
                continue
            if search is not None and search(url) is None:
                continue
            headers.update(rule.headers)
            cookies.update(rule.cookies)
            if rule.username is not None:
                credentials = (rule.username, rule.password or "")
        if headers or cookies or credentials:
            return SiteExtras(headers, cookies, credentials)
        return NO_EXTRAS


def url_pattern(value: str | None) -> str | None:
    """A rule's ``match`` as given, once it is known to compile.

    Raises:
        ValueError: not a valid regex, saying why.
    """
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regex: {exc}") from None
    return value


def _search(pattern: str | None) -> Any:
    return None if pattern is None else re.compile(pattern).search
