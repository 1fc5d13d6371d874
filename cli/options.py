"""The flags that set a crawl's settings: each one's name, type and metavar, keyed by the
setting it sets (``fetch.max_bytes`` is ``--max-bytes``).

The help a flag shows is the settings schema's own: the field's description and default,
so the command line and ``config/default.toml`` cannot tell two stories. Flags that are no
setting (``-o``, ``-i``, ``--pages``) are their commands' own.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from cli.argtypes import non_negative_int, non_negative_seconds, positive_int, seconds, size
from crawler.settings import Settings

Flag = tuple[tuple[str, ...], dict[str, Any]]
"""A flag's names and its argparse keywords (``type``, ``metavar``, ``action``...)."""

# Users' scripts use these names, types and metavars: they change only with a deprecation.
OPTIONS: dict[str, Flag] = {
    "fetch.concurrency": (("--concurrency", "-c"), {"type": positive_int, "metavar": "N"}),
    "fetch.per_host": (("--per-host",), {"type": positive_int, "metavar": "N"}),
    "fetch.timeout_s": (("--timeout",), {"type": seconds, "metavar": "S"}),
    "fetch.connect_timeout_s": (("--connect-timeout",), {"type": seconds, "metavar": "S"}),
    "fetch.read_timeout_s": (("--read-timeout",), {"type": seconds, "metavar": "S"}),
    "fetch.max_bytes": (("--max-bytes",), {"type": size, "metavar": "SIZE"}),
    "fetch.max_redirects": (("--max-redirects",), {"type": non_negative_int, "metavar": "N"}),
    "fetch.user_agent": (("--user-agent",), {"metavar": "UA"}),
    "fetch.delay_s": (("--delay",), {"type": non_negative_seconds, "metavar": "S"}),
    "fetch.autothrottle": (("--autothrottle",), {"action": argparse.BooleanOptionalAction}),
    "workers": (("--workers", "-w"), {"type": non_negative_int, "metavar": "N"}),
    "batch_size": (("--batch-size",), {"type": positive_int, "metavar": "N"}),
    "parser": (("--parser",), {"choices": ("lxml", "bs4")}),
    "follow": (("--follow",), {"action": "store_const", "const": True}),
    "scope.max_depth": (("--max-depth",), {"type": non_negative_int, "metavar": "N"}),
    "scope.allow_domains": (("--allow-domain",), {"action": "append", "metavar": "DOMAIN"}),
    "scope.deny_domains": (("--deny-domain",), {"action": "append", "metavar": "DOMAIN"}),
    "scope.include": (("--include",), {"action": "append", "metavar": "REGEX"}),
    "scope.exclude": (("--exclude",), {"action": "append", "metavar": "REGEX"}),
    "scope.max_pages": (("--max-pages",), {"type": positive_int, "metavar": "N"}),
    "scope.max_pages_per_host": (
        ("--max-pages-per-host",),
        {"type": positive_int, "metavar": "N"},
    ),
    "scope.max_duration_s": (("--max-duration",), {"type": seconds, "metavar": "S"}),
    "sitemaps": (("--sitemaps",), {"action": "store_const", "const": True}),
    "robots.obey": (("--ignore-robots",), {"action": "store_const", "const": False}),
    "log_skipped": (("--log-skipped",), {"action": "store_const", "const": True}),
    "state": (("--state",), {"metavar": "FILE"}),
    "fetch.retries": (("--retries",), {"type": non_negative_int, "metavar": "N"}),
    "fetch.allow_private": (("--allow-private",), {"action": "store_const", "const": True}),
    "fetch.proxy": (("--proxy",), {"metavar": "URL"}),
    "fetch.env_proxy": (("--no-env-proxy",), {"action": "store_const", "const": False}),
    "fetch.ca_bundle": (("--ca-bundle",), {"metavar": "FILE"}),
    "fetch.insecure": (("--insecure",), {"action": "store_const", "const": True}),
    "fetch.http2": (("--http2",), {"action": "store_const", "const": True}),
    "fetch.strip_params": (("--strip-params",), {"action": "append", "metavar": "PATTERN"}),
    "output.report": (("--report",), {"metavar": "FILE.html"}),
    "recrawl": (("--recrawl",), {"action": "store_const", "const": True}),
    "changed_only": (("--changed-only",), {"action": "store_const", "const": True}),
    "output.warc": (("--warc",), {"metavar": "FILE.warc.gz"}),
    "output.warc_max_size": (("--warc-max-size",), {"type": size, "metavar": "SIZE"}),
    "cluster.frontier": (("--frontier",), {"metavar": "REDIS_URL"}),
    "cluster.crawl_id": (("--crawl-id",), {"metavar": "NAME"}),
    "cluster.fetchers": (("--fetchers",), {"type": positive_int, "metavar": "N"}),
    "cluster.executor": (("--executor",), {"metavar": "WHERE"}),
    "content.engine": (
        ("--content",),
        {"nargs": "?", "const": "precise", "choices": ("precise", "fast", "off")},
    ),
    "content.markdown_dir": (("--markdown-dir",), {"metavar": "DIR"}),
    "content.llms_txt": (("--llms-txt",), {"metavar": "FILE"}),
    "render.mode": (("--render",), {"choices": ("never", "auto", "always")}),
    "render.concurrency": (("--render-concurrency",), {"type": positive_int, "metavar": "N"}),
}

BINARY_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))

OPTIONAL_VALUES: dict[str, str] = {
    name: keywords["const"]
    for flags, keywords in OPTIONS.values()
    if keywords.get("nargs") == "?"
    for name in flags
}
"""The flags whose value may be left out (``--content [ENGINE]``), each with the value it
then takes."""

WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
"""What any value of such a flag looks like: a bare word, never a URL or a file path."""


def add_options(parser: argparse.ArgumentParser, paths: Iterable[str] = OPTIONS) -> None:
    """Add the flags of the settings at ``paths``, each helped by the schema's field.

    A flag left out of the command line stays None (argparse's default), so that
    :func:`overrides_from_args` passes on only what was given and a job file's value stands.
    """
    for path in paths:
        flags, keywords = OPTIONS[path]
        parser.add_argument(*flags, dest=path, help=option_help(path), **keywords)


def settle_optional_values(argv: Sequence[str]) -> list[str]:
    """``argv`` with a bare ``--content`` written ``--content=precise`` when the argument
    after it cannot be its value (a URL, a job file: anything but a bare word).

    argparse takes whatever follows a flag of optional value for that value, so
    ``crawl --content https://example.org/`` refused the URL as an engine's name. A bare
    word is still left to argparse, so a misspelt engine is an error and not a seed.
    """
    settled = list(argv)
    for index, arg in enumerate(settled[:-1]):
        if arg == "--":
            break
        if arg in OPTIONAL_VALUES and not WORD.fullmatch(settled[index + 1]):
            settled[index] = f"{arg}={OPTIONAL_VALUES[arg]}"
    return settled


def schema_field(path: str) -> FieldInfo:
    """The settings schema's field at a dotted ``path`` (``fetch.max_bytes``).

    Raises:
        KeyError: no setting has that path.
    """
    model: type[BaseModel] = Settings
    *sections, key = path.split(".")
    for section in sections:
        annotation = model.model_fields[section].annotation
        assert isinstance(annotation, type), path
        assert issubclass(annotation, BaseModel), path
        model = annotation
    return model.model_fields[key]


def option_help(path: str) -> str:
    """A flag's help: its setting's description, and its default when the flag takes a value.

    A switch says nothing of a default (off until given) unless it turns a setting off;
    a setting without a default (None, empty) has its description say what that means.
    """
    _, keywords = OPTIONS[path]
    field = schema_field(path)
    text = (field.description or "").removesuffix(".")
    first, _, rest = text.partition(" ")
    if first and not any(char.isupper() for char in first[1:]):  # as the other flags' help
        text = f"{first[0].lower()}{first[1:]} {rest}"
    action = keywords.get("action")
    if action == "store_const" and keywords["const"] is False:
        text += " (default on; this flag turns it off)"
    elif action is argparse.BooleanOptionalAction:
        text += f" (default {'on' if field.get_default() else 'off'})"
    elif action == "append":
        text += "; repeatable"
    elif action is None:
        default = field.get_default(call_default_factory=True)
        if default is not None:
            text += f" (default {default_text(path, default)})"
    return text.replace("%", "%%")  # argparse formats help with %


def default_text(path: str, default: object) -> str:
    """A default as the flag would take it: ``10MiB``, ``30 s``, ``16``, ``parcrawl/0.1.0``."""
    _, keywords = OPTIONS[path]
    if keywords.get("type") is size and isinstance(default, int):
        for unit, factor in BINARY_UNITS:
            if default % factor == 0:
                return f"{default // factor}{unit}"
    if isinstance(default, float):
        text = f"{default:g}"
        return f"{text} s" if path.endswith("_s") else text
    return str(default)


def overrides_from_args(
    args: argparse.Namespace, *, into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The settings the flags set, as nested job-file keys; unset flags are left out.

    ``into``: values set already (``-o`` gives the ``output`` section a flag adds to).
    """
    values: dict[str, Any] = {} if into is None else into
    for path in OPTIONS:
        value = getattr(args, path, None)
        if value is None:
            continue
        section, _, key = path.rpartition(".")
        (values.setdefault(section, {}) if section else values)[key] = value
    return values
