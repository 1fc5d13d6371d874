"""Scope: which discovered links a crawl follows (sites, domains, patterns, depth, traps).

It owns the follow/skip decision, its reason code and what one site is (``site_key``);
canonical forms and dedup live elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import urlsplit

from crawler.errors import ConfigError
from crawler.settings import ScopeSettings
from crawler.urls import CRAWLABLE_SCHEMES, DEFAULT_PORTS, ascii_host

# Paths whose query strings are tracked at once. Each entry holds up to max_query_variants
# hashes, so an unbounded site would otherwise grow this without end; evicting the oldest
# path only lets a trap restart after this many other query-bearing paths came by.
MAX_TRACKED_PATHS = 50_000

_UPGRADE_PAIR = frozenset({("http", 80), ("https", 443)})
"""http on port 80 and https on 443: one host's plain and TLS faces, one site for scope."""

_DomainRule = tuple[str, int | None]
"""An allow or deny entry: a domain and the one port it is limited to (None: any port)."""


def site_key(url: str) -> str | None:
    """What one site is for scope and sitemaps: ``url``'s origin (scheme, host and port).

    Browsers and robots.txt draw the line there, and so does parcrawl: another port is
    another site. The one exception is a host's http (port 80) and https (port 443) pair,
    one site, so that an http->https upgrade redirect or an old ``http://`` link on an
    https site stays in scope. None for a URL without a host or with an invalid port.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = _normalize_host(parts.hostname or "")
    scheme = parts.scheme.lower()
    if not host or scheme not in CRAWLABLE_SCHEMES:
        return None
    return _site(scheme, host, port or DEFAULT_PORTS[scheme])


def _site(scheme: str, host: str, port: int) -> str:
    if (scheme, port) in _UPGRADE_PAIR:
        return host
    return f"{scheme}://{host}:{port}"


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
        self._allow_domains = _domain_rules("allow_domains", settings.allow_domains)
        self._deny_domains = _domain_rules("deny_domains", settings.deny_domains)
        # An allow list that normalizes to nothing must not silently fall back to seed sites.
        self._use_seed_sites = not settings.allow_domains
        self._seed_sites: set[str] = set()
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
        """Allow ``url``'s site (see ``site_key``) when no allow_domains are set."""
        if not self._use_seed_sites:
            return
        # Seeds are validated upstream; a malformed one has no site to allow.
        if (site := site_key(url)) is not None:
            self._seed_sites.add(site)

    def check(self, url: str, depth: int) -> Skip | None:
        """Return why the absolute ``url``, found at ``depth``, is skipped; None to follow it.

        Only a URL that passes every other rule uses up one of its path's query variants.
        """
        try:
            parts = urlsplit(url)
            raw_host = parts.hostname
            port = parts.port
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
        port = port or DEFAULT_PORTS[scheme]
        if self._deny_domains and _in_domains(host, port, self._deny_domains):
            return Skip.DENIED_DOMAIN
        if self._use_seed_sites:
            if _site(scheme, host, port) not in self._seed_sites:
                return Skip.OFFSITE
        elif not _in_domains(host, port, self._allow_domains):
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
        if parts.query and not self._admit_query(f"{scheme}://{host}:{port}{path}", parts.query):
            return Skip.QUERY_VARIANTS
        return None

    @staticmethod
    def validate(settings: ScopeSettings) -> None:
        """Check the include and exclude patterns compile and the domains are domains.

        Raises:
            ConfigError: naming the value, as in ``scope.exclude[1]: not a valid regex: ...``.
        """
        _compile("include", settings.include)
        _compile("exclude", settings.exclude)
        _domain_rules("allow_domains", settings.allow_domains)
        _domain_rules("deny_domains", settings.deny_domains)

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


def _domain_rules(key: str, domains: Iterable[str]) -> frozenset[_DomainRule]:
    """``domains`` as (domain, port) rules; an entry that normalizes to nothing is dropped.

    Raises:
        ConfigError: an entry's port is not a number from 1 to 65535.
    """
    rules = set()
    for index, domain in enumerate(domains):
        try:
            rule = _domain_rule(domain)
        except ValueError:
            raise ConfigError(
                f"scope.{key}[{index}]: {domain!r} is not a domain (a port after ':' "
                "must be a number from 1 to 65535)"
            ) from None
        if rule[0]:
            rules.add(rule)
    return frozenset(rules)


def _domain_rule(domain: str) -> _DomainRule:
    # Users write domains the way other tools accept them: ".example.org", "*.example.org",
    # "[::1]"; all of those mean the domain itself and its subdomains (or that one address).
    # A port ("example.org:8080", "[::1]:8000") limits the entry to that one port.
    domain = domain.strip().removeprefix("*.").lstrip(".")
    if domain.count(":") > 1 and not domain.startswith("["):
        return _normalize_host(domain), None  # a bare IPv6 address: its colons are no port
    parts = urlsplit(f"//{domain}")
    port = parts.port  # ValueError for a port that is no number from 0 to 65535
    if port == 0:
        raise ValueError(domain)
    return _normalize_host(parts.hostname or ""), port


def _in_domains(host: str, port: int, domains: frozenset[_DomainRule]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (label-wise, not suffix).

    An entry with a port matches only that port.
    """
    if (host, None) in domains or (host, port) in domains:
        return True
    if ":" in host or host.rpartition(".")[2].isdigit():
        return False  # an IP address has no subdomains: 10.1.2.3 is not "in" 2.3
    dot = host.find(".")
    while dot != -1:
        parent = host[dot + 1 :]
        if (parent, None) in domains or (parent, port) in domains:
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
