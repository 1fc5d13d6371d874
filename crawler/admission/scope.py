"""Scope: which discovered links a crawl follows (domains, patterns, depth, file types, traps).

It owns the follow/skip decision and its reason code; canonical forms and dedup live elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import urlsplit

from crawler.errors import ConfigError
from crawler.settings import ScopeSettings
from crawler.urls import CRAWLABLE_SCHEMES, ascii_host

# Paths whose query strings are tracked at once. Each entry holds up to max_query_variants
# hashes, so an unbounded site would otherwise grow this without end; evicting the oldest
# path only lets a trap restart after this many other query-bearing paths came by.
MAX_TRACKED_PATHS = 50_000


class Skip(StrEnum):
    """Why a link is not followed; stable codes counted in the crawl summary."""

    SCHEME = "scheme"
    OFFSITE = "offsite"
    DENIED_DOMAIN = "denied_domain"
    EXCLUDED = "excluded"
    NOT_INCLUDED = "not_included"
    DEPTH = "depth"
    EXTENSION = "extension"
    URL_TOO_LONG = "url_too_long"
    REPEATED_SEGMENTS = "repeated_segments"
    QUERY_VARIANTS = "query_variants"


class Scope:
    """Decides, link by link, whether a crawl follows it.

    Stateless except for the per-path count of distinct query strings, which ends
    infinite spaces such as calendars (``/cal?month=1``, ``/cal?month=2``, ...).
    """

    def __init__(self, settings: ScopeSettings, seeds: Iterable[str] = ()) -> None:
        """Compile the rules in ``settings`` and allow the hosts of ``seeds``.

        Raises:
            ConfigError: an include or exclude pattern is not a valid regex.
        """
        self._include = _compile("include", settings.include)
        self._exclude = _compile("exclude", settings.exclude)
        self._allow_domains = frozenset(_normalize_domain(d) for d in settings.allow_domains) - {""}
        self._deny_domains = frozenset(_normalize_domain(d) for d in settings.deny_domains) - {""}
        # An allow list that normalizes to nothing must not silently fall back to seed hosts.
        self._use_seed_hosts = not settings.allow_domains
        self._seed_hosts: set[str] = set()
        self._max_depth = settings.max_depth
        self._skip_extensions = frozenset(
            ext.strip().lstrip(".").lower() for ext in settings.skip_extensions
        ) - {""}
        self._max_url_length = settings.max_url_length
        self._max_repeated = settings.max_repeated_segments
        self._max_variants = settings.max_query_variants
        self._variants: dict[str, set[int]] = {}
        for seed in seeds:
            self.add_seed(seed)

    def add_seed(self, url: str) -> None:
        """Allow ``url``'s host (any port, http or https) when no allow_domains are set."""
        if not self._use_seed_hosts:
            return
        try:
            host = _normalize_host(urlsplit(url).hostname or "")
        except ValueError:
            return  # seeds are validated upstream; a malformed one has no host to allow
        if host:
            self._seed_hosts.add(host)

    def check(self, url: str, depth: int) -> Skip | None:
        """Return why the absolute ``url``, found at ``depth``, is skipped; None to follow it.

        Only a URL that passes every other rule uses up one of its path's query variants.
        """
        try:
            parts = urlsplit(url)
            raw_host = parts.hostname
        except ValueError:
            # e.g. an unclosed IPv6 bracket: there is no host that could be in scope.
            scheme = url.partition(":")[0].strip().lower()
            return Skip.SCHEME if scheme not in CRAWLABLE_SCHEMES else Skip.OFFSITE
        scheme = parts.scheme
        if scheme not in CRAWLABLE_SCHEMES:
            return Skip.SCHEME
        if len(url) > self._max_url_length:
            return Skip.URL_TOO_LONG
        host = _normalize_host(raw_host or "")
        if not host:
            return Skip.OFFSITE
        if self._deny_domains and _in_domains(host, self._deny_domains):
            return Skip.DENIED_DOMAIN
        if self._use_seed_hosts:
            if host not in self._seed_hosts:
                return Skip.OFFSITE
        elif not _in_domains(host, self._allow_domains):
            return Skip.OFFSITE
        if self._max_depth is not None and depth > self._max_depth:
            return Skip.DEPTH
        path = parts.path
        if self._skip_extensions and _extension(path) in self._skip_extensions:
            return Skip.EXTENSION
        for pattern in self._exclude:
            if pattern.search(url):
                return Skip.EXCLUDED
        if self._include and not any(pattern.search(url) for pattern in self._include):
            return Skip.NOT_INCLUDED
        if _has_repeated_segment(path, self._max_repeated):
            return Skip.REPEATED_SEGMENTS
        if parts.query and not self._admit_query(f"{scheme}://{host}{path}", parts.query):
            return Skip.QUERY_VARIANTS
        return None

    @staticmethod
    def validate(settings: ScopeSettings) -> None:
        """Check the include and exclude patterns compile.

        Raises:
            ConfigError: naming the pattern, as in ``scope.exclude[1]: not a valid regex: ...``.
        """
        _compile("include", settings.include)
        _compile("exclude", settings.exclude)

    def _admit_query(self, path_key: str, query: str) -> bool:
        seen = self._variants.get(path_key)
        if seen is None:
            if len(self._variants) >= MAX_TRACKED_PATHS:
                del self._variants[next(iter(self._variants))]
            seen = self._variants[path_key] = set()
        digest = hash(query)
        if digest in seen:
            return True
        if len(seen) >= self._max_variants:
            return False
        seen.add(digest)
        return True


def _compile(key: str, patterns: Iterable[str]) -> list[re.Pattern[str]]:
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(f"scope.{key}[{index}]: not a valid regex: {exc}") from exc
    return compiled


def _normalize_host(host: str) -> str:
    """``host`` as scope compares it: lower-case ASCII (IDNA), no trailing dot, IPv6 compressed."""
    host = ascii_host(host)
    if ":" in host:
        # One IPv6 address has many spellings (2001:db8:0::1, 2001:DB8::1).
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            return host
    return host


def _normalize_domain(domain: str) -> str:
    # Users write domains the way other tools accept them: ".example.org", "*.example.org",
    # "[::1]"; all of those mean the domain itself and its subdomains (or that one address).
    domain = domain.strip().removeprefix("*.").lstrip(".")
    if domain.startswith("[") and domain.endswith("]"):
        domain = domain[1:-1]
    return _normalize_host(domain)


def _in_domains(host: str, domains: frozenset[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (label-wise, not suffix)."""
    if host in domains:
        return True
    if ":" in host or host.rpartition(".")[2].isdigit():
        return False  # an IP address has no subdomains: 10.1.2.3 is not "in" 2.3
    dot = host.find(".")
    while dot != -1:
        if host[dot + 1 :] in domains:
            return True
        dot = host.find(".", dot + 1)
    return False


def _extension(path: str) -> str:
    """The lower-cased file extension of the last segment of ``path``, or ''."""
    name = path[path.rfind("/") + 1 :]
    # Path parameters (";jsessionid=...") are not part of the file name.
    name = name.partition(";")[0]
    dot = name.rfind(".")
    # A leading dot names a hidden file (".htaccess"), not an extension.
    return name[dot + 1 :].lower() if dot > 0 else ""


def _has_repeated_segment(path: str, limit: int) -> bool:
    """Whether any non-empty segment occurs more than ``limit`` times in ``path``.

    Counting occurrences catches both ``/x/x/x/x`` and repeated runs such as ``/a/b/a/b/...``.
    """
    if path.count("/") <= limit:
        return False  # too few segments for any to repeat that often: the common case
    counts: dict[str, int] = {}
    for segment in path.split("/"):
        if segment:
            count = counts.get(segment, 0) + 1
            if count > limit:
                return True
            counts[segment] = count
    return False
