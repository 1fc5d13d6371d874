"""The crawl's settings: one validated schema with every default, shared by the CLI and the API.

It owns validation; its errors are said in plain words by ``crawler.settings.messages``, sizes
read by ``crawler.settings.sizes``. It does not read files or parse arguments.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from crawler.errors import ConfigError
from crawler.settings.content import ContentEngine, ContentSettings, expand_content
from crawler.settings.fetch import DEFAULT_ACCEPT_TYPES, PROXY_URL, FetchSettings
from crawler.settings.messages import REFUSED, describe_validation_error
from crawler.settings.render import (
    RenderChoice,
    RenderMode,
    RenderRule,
    RenderRules,
    RenderSettings,
)
from crawler.settings.section import Section, Size, redact_url, refuse
from crawler.settings.sizes import SIZE_FORMS

__all__ = [
    "CRAWL_ID",
    "PROXY_URL",
    "ClusterSettings",
    "ContentEngine",
    "ContentSettings",
    "CsvOutput",
    "ExtractRule",
    "ExtractSettings",
    "FetchSettings",
    "FieldRule",
    "OutputSettings",
    "Parser",
    "RenderChoice",
    "RenderMode",
    "RenderRule",
    "RenderRules",
    "RenderSettings",
    "RobotsSettings",
    "ScopeSettings",
    "Settings",
    "StepSettings",
    "build_settings",
    "redact_url",
]

DEFAULT_SKIP_EXTENSIONS = (
    # documents, images, audio, video, archives, binaries, fonts, styles and scripts
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "epub",
    "jpg", "jpeg", "png", "gif", "bmp", "webp", "svg", "ico", "tif", "tiff", "avif", "heic",
    "mp3", "wav", "ogg", "flac", "m4a", "aac", "mp4", "m4v", "mov", "avi", "mkv", "webm",
    "wmv", "flv", "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "iso", "dmg", "exe",
    "msi", "deb", "rpm", "apk", "bin", "jar", "woff", "woff2", "ttf", "otf", "eot", "css",
    "js", "json", "xml", "csv", "rss", "atom",
)  # fmt: skip
MIN_WORKER_MEMORY_MB = 128


Parser = Literal["lxml", "bs4"]
"""Which tree the built-in page fields and CSS fields are read from (``Settings.parser``)."""


class ScopeSettings(Section):
    """Which discovered URLs are followed: domains, patterns, limits and crawler-trap guards."""

    allow_domains: list[str] = Field(
        default_factory=list,
        description="Domains to stay on, subdomains included (default: the seeds' hosts).",
    )
    deny_domains: list[str] = Field(
        default_factory=list, description="Domains never fetched from, subdomains included."
    )
    include: list[str] = Field(
        default_factory=list, description="Follow only URLs matching one of these regexes."
    )
    exclude: list[str] = Field(
        default_factory=list, description="Never follow URLs matching one of these regexes."
    )
    max_depth: int | None = Field(
        None, ge=0, description="Link hops followed from a seed (default: no limit)."
    )
    max_pages: int | None = Field(
        None, ge=1, description="Stop after fetching this many pages (default: no limit)."
    )
    max_pages_per_host: int | None = Field(
        None, ge=1, description="Pages fetched from one host at most (default: no limit)."
    )
    max_duration_s: float | None = Field(
        None, gt=0, description="Stop the crawl after this many seconds (default: no limit)."
    )
    skip_extensions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SKIP_EXTENSIONS),
        description="Link targets with these file extensions are not followed.",
    )
    max_url_length: int = Field(2048, ge=16)
    max_repeated_segments: int = Field(
        3, ge=1, description="A path segment repeated more often than this is a trap."
    )
    max_query_variants: int = Field(
        200, ge=1, description="Distinct query strings followed per path."
    )
    max_links_per_page: int = Field(
        5000, ge=0, description="Links kept from one page; the record counts the rest."
    )


class RobotsSettings(Section):
    """robots.txt (RFC 9309): obeyed by default."""

    obey: bool = Field(
        True,
        description="Fetch each site's robots.txt and obey it (RFC 9309); turn this off only "
        "where you may crawl regardless.",
    )
    max_crawl_delay_s: float = Field(30.0, ge=0, description="Cap on a site's Crawl-delay.")
    retry_after_error_s: float = Field(
        60.0, gt=0, description="A robots.txt that failed (5xx, network) is retried after this."
    )
    max_bytes: Size = Field(512 * 1024, ge=1024, description="Largest robots.txt read.")


class FieldRule(Section):
    """One extracted field: a CSS selector, and what to take from what it matches."""

    css: str = Field(min_length=1, description="CSS selector (soupsieve).")
    attr: str | None = Field(None, description="Take this attribute instead of the text.")
    all: bool = Field(False, description="A list of every match instead of the first.")
    regex: str | None = Field(
        None, description="Keep the first capture group (or the whole match) of this regex."
    )
    default: str | int | float | bool | list[str] | None = Field(
        None, description="The value when nothing matches."
    )
    absolute: bool | None = Field(
        None,
        description="Resolve values to absolute URLs against the page (its <base href>); "
        "unset: yes for URL attributes (href, src, action, ...), no otherwise.",
    )


class ExtractRule(Section):
    """Fields extracted only from pages whose URL matches ``match`` (a regex, searched)."""

    match: str = Field(min_length=1)
    fields: dict[str, FieldRule] = Field(default_factory=dict)


class ExtractSettings(Section):
    """Named fields pulled from every page (``fields``) or from matching pages (``rules``)."""

    fields: dict[str, FieldRule] = Field(default_factory=dict)
    rules: list[ExtractRule] = Field(default_factory=list)


class StepSettings(BaseModel):
    """One processing step: ``use`` names it (built-in, or ``module:function``); every
    other key is an option passed to it."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    use: str = Field(min_length=1)

    @property
    def options(self) -> dict[str, Any]:
        """The step's own options: every key but ``use``."""
        return dict(self.model_extra or {})


class CsvOutput(Section):
    """A CSV file of chosen record columns (dotted names reach into ``fields``)."""

    path: str = Field(min_length=1)
    columns: list[str] = Field(
        default_factory=lambda: ["url", "status", "title", "word_count", "error.code"],
        min_length=1,
    )


class OutputSettings(Section):
    """Where records go; several at once is fine. None of them: JSON Lines on stdout."""

    jsonl: str | None = Field(None, description="JSON Lines file ('-' for stdout).")
    csv: CsvOutput | None = None
    sqlite: str | None = Field(None, description="SQLite file; records upserted by URL.")
    report: str | None = Field(
        None,
        description="An HTML report of the crawl, written at its end (also after Ctrl-C); "
        "needs a JSON Lines or SQLite file output to read.",
    )
    warc: str | None = Field(
        None, description="WARC/1.1 file (gzipped per record) of every request and response."
    )
    warc_max_size: Size | None = Field(
        None,
        ge=1,
        description=f"Start a new numbered WARC file past this size: {SIZE_FORMS}.",
    )

    @field_validator("warc")
    @classmethod
    def _gzipped(cls, value: str | None) -> str | None:
        # Each record is its own gzip member: that is what lets a crash cost one record.
        if value is not None and not value.endswith(".warc.gz"):
            raise ValueError("must end in .warc.gz (each record is gzipped on its own)")
        return value


# -- cluster: a shared Redis frontier, a Dask process stage -------------------------------

CRAWL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A crawl id: a letter or digit, then up to 63 letters, digits, dots, dashes, underscores."""

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
"""Schemes redis-py connects with; ``rediss`` is Redis over TLS."""


CLUSTER_SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "ucx://")
"""Addresses of a Dask scheduler."""


class ClusterSettings(Section):
    """Scaling out: a crawl shared by several parcrawl processes through a Redis frontier,
    and where pages are parsed (local worker processes, a local Dask cluster, a scheduler).

    Without ``frontier`` the crawl keeps its embedded SQLite frontier, and with the default
    ``executor`` its local process pool, as ever.
    """

    frontier: str | None = Field(
        None,
        description="The Redis URL of a frontier shared with other parcrawl processes "
        "(redis://host:6379/0, rediss:// for TLS; default: this process alone).",
    )
    crawl_id: str | None = Field(
        None, description="Names the shared crawl: processes with the same id share it."
    )
    lease_s: float = Field(
        30.0, ge=1, description="A process that stops renewing its URLs loses them after this."
    )
    redis_give_up_s: float = Field(
        120.0, gt=0, description="How long a crawl waits for a lost Redis before it ends."
    )
    fetchers: int = Field(
        1,
        ge=1,
        le=256,
        description="Crawler processes this command runs on the shared frontier, each writing "
        "its own output files, numbered: NAME-1.jsonl, NAME-2.jsonl and so on.",
    )

    executor: str = Field(
        "local",
        description="Where pages are parsed: 'local' (a process pool), 'dask' (a local Dask "
        "cluster of `workers` processes) or a Dask scheduler's address, tcp://host:8786.",
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, description="Longest wait for the Dask scheduler at the start."
    )
    reconnect_s: float = Field(
        30.0, ge=0, description="How long to wait for a lost scheduler before stopping."
    )

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        if value in ("local", "dask") or (
            value.startswith(CLUSTER_SCHEMES) and len(value.split("://", 1)[1]) > 0
        ):
            return value
        raise ValueError("must be 'local', 'dask' or a scheduler address such as tcp://host:8786")

    @field_validator("frontier")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            scheme = urlsplit(value).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in REDIS_SCHEMES:
            raise ValueError(
                f"not a Redis URL: {redact_url(value)!r} (redis://host:6379/0, rediss:// for TLS)"
            )
        return value

    @field_validator("crawl_id")
    @classmethod
    def _crawl_id(cls, value: str | None) -> str | None:
        if value is not None and not CRAWL_ID.fullmatch(value):
            raise ValueError(
                "a crawl id is 1-64 letters, digits, '.', '-' or '_', "
                "starting with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _named(self) -> ClusterSettings:
        if self.frontier is not None and self.crawl_id is None:
            refuse("crawl_id", "a shared frontier needs a crawl id (--crawl-id NAME)")
        if self.fetchers > 1 and self.frontier is None:
            refuse(
                "fetchers",
                f"{self.fetchers} fetchers need a shared frontier (--frontier REDIS_URL)",
            )
        return self


class Settings(Section):
    """Everything a crawl needs to know: the job file's schema, the CLI's and the API's.

    Every key has its default here; ``config/default.toml`` lists them all.
    """

    seeds: list[str] = Field(
        default_factory=list, description="URLs to start from: one URL or a list."
    )
    seeds_file: list[str] = Field(
        default_factory=list,
        description="Files of URLs, one per line ('-' for stdin): one path or a list.",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        le=256,
        description="Parse processes (one per CPU by default); 0 parses inline in the event loop.",
    )
    worker_memory_mb: int = Field(
        512,
        ge=0,
        description="Memory one parse worker may use; a page needing more is recorded "
        "parse_too_large. 0: no limit.",
    )
    batch_size: int = Field(16, ge=1, le=10_000, description="Pages sent to a worker at once.")
    # lxml by default: measured on 2 cores, the same record read from lxml's own tree costs
    # 1.3 ms of CPU per demo-site page against 9.4 ms from a BeautifulSoup tree (7x), and
    # 8.1 against 53.4 ms per Python-docs page (6.6x); its workers do without bs4 (README,
    # "Parsers"). bs4 stays for comparison; selectors only soupsieve runs get a soup anyway.
    parser: Parser = Field(
        "lxml",
        description="Where page and CSS fields are read from: 'lxml', its own tree (fast), "
        "or 'bs4', a BeautifulSoup tree (the older path), for comparison.",
    )
    state: str | None = Field(
        None,
        description="A state file: the crawl survives Ctrl-C, kill -9 and reboots; run it "
        "again to resume.",
    )
    follow: bool = Field(False, description="Follow links found on pages (a site crawl).")
    sitemaps: bool = Field(
        False,
        description="Also seed from the seed hosts' sitemaps (robots.txt, /sitemap.xml).",
    )
    log_skipped: bool = Field(False, description="Log every URL skipped, with the reason.")
    recrawl: bool = Field(
        False,
        description="Revisit every URL the state file or shared frontier knows, asking only "
        "for what changed; records get `change` (new, changed, unchanged, gone).",
    )
    changed_only: bool = Field(
        False, description="With recrawl: write records of new, changed and gone pages only."
    )

    fetch: FetchSettings = Field(default_factory=FetchSettings)
    scope: ScopeSettings = Field(default_factory=ScopeSettings)
    robots: RobotsSettings = Field(default_factory=RobotsSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    steps: list[StepSettings] = Field(default_factory=list)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    content: ContentSettings = Field(default_factory=ContentSettings)
    render: RenderSettings = Field(default_factory=RenderSettings)

    @model_validator(mode="before")
    @classmethod
    def _content_spelt_out(cls, data: Any) -> Any:
        # `content = "fast"`; an engine reads PDFs too: their bodies fetched, links followed
        defaults = DEFAULT_ACCEPT_TYPES, DEFAULT_SKIP_EXTENSIONS
        return expand_content(data, accept_types=defaults[0], skip_extensions=defaults[1])

    @model_validator(mode="before")
    @classmethod
    def _render_spelt_out(cls, data: Any) -> Any:
        # `render = "auto"` (a job file's, or `crawl(url, render="auto")`) is render.mode
        if isinstance(data, dict) and isinstance(data.get("render"), str):
            return {**data, "render": {"mode": data["render"]}}
        return data

    @model_validator(mode="after")
    def _sources_to_compare(self) -> Settings:
        # `cluster` comes after `recrawl` and `state`, so only the whole can tell; each
        # error still names the key to change, as a field validator's would.
        if self.recrawl and not self.state and self.cluster.frontier is None:
            # A recrawl compares with what the state file (or a shared crawl's Redis)
            # remembers of the last run.
            refuse(
                "recrawl",
                "needs a state file to compare with (--state FILE) "
                "or a shared frontier (--frontier REDIS_URL)",
            )
        if self.state and self.cluster.frontier is not None:
            # Checked here, not only where the frontier is built: by then the state file
            # would have been created, and `parcrawl check` would have passed the job.
            refuse(
                "state",
                "a state file and a shared frontier (--frontier) do not go together: a "
                "shared crawl keeps its state in Redis (run again with the same crawl id "
                "to resume it)",
            )
        return self

    @field_validator("changed_only")
    @classmethod
    def _needs_recrawl(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("recrawl"):
            raise PydanticCustomError(REFUSED, "needs recrawl (--recrawl)")
        return value

    @field_validator("worker_memory_mb")
    @classmethod
    def _enough_to_start(cls, value: int) -> int:
        # A worker needs about 100 MB just to hold Python, bs4 and lxml.
        if 0 < value < MIN_WORKER_MEMORY_MB:
            raise ValueError(f"must be 0 (no limit) or >= {MIN_WORKER_MEMORY_MB}")
        return value

    @field_validator("seeds", "seeds_file", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # `seeds_file = "urls.txt"` is how people write a single file; a list is for several.
        return [value] if isinstance(value, str) else value


def build_settings(values: dict[str, Any]) -> Settings:
    """Validate nested ``values`` (as from a job file or CLI flags) into Settings.

    Raises:
        ConfigError: naming the first bad key path, what was expected and what was given.
    """
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from exc
