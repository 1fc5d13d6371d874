"""Job files: TOML that loads into ``Settings``, with CLI overrides, paths and ``${ENV}`` secrets.

It owns reading, merging and the errors that name a key path; validation itself is the
schema's (``crawler.settings``).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from crawler.errors import ConfigError, InvalidUrl
from crawler.settings import Settings, build_settings, redact_url
from crawler.urls import normalize_seed

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

RELATIVE_PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("seeds_file",),
    ("state",),
    ("output", "jsonl"),
    ("output", "csv", "path"),
    ("output", "sqlite"),
    ("output", "report"),
    ("output", "warc"),
    ("fetch", "ca_bundle"),
    ("content", "markdown_dir"),
    ("content", "llms_txt"),
)
"""Keys holding file paths: relative ones resolve against the job file's folder."""


class JobFile:
    """A loaded job file: its settings, and how to show them without leaking secrets."""

    def __init__(self, path: Path, settings: Settings, secrets: dict[str, str]) -> None:
        self.path = path
        self.settings = settings
        self._secrets = secrets

    def effective_toml(self, *, compact: bool = False) -> str:
        """Every setting with its effective value, as TOML; ``${ENV}`` values stay references.

        TOML has no null, so settings whose value is "none" are left out. ``compact`` packs
        arrays several items a line (tomli-w writes one a line).
        """
        data = _drop_none(self.settings.model_dump(mode="json"))
        frontier = data.get("cluster", {}).get("frontier")
        if frontier is not None and frontier not in self._secrets:
            data["cluster"]["frontier"] = redact_url(frontier)  # a password is never shown
        text = _mask(tomli_w.dumps(data), self._secrets)
        return _packed_arrays(text) if compact else text


def load_job(path: str | Path, overrides: Mapping[str, Any] | None = None) -> JobFile:
    """Read the job file at ``path``, apply ``overrides`` (CLI flags), validate.

    Raises:
        ConfigError: unreadable file, bad TOML, a missing environment variable, or a value
            the schema refuses; the message names the file and the key path.
    """
    job_path = Path(path)
    try:
        raw = tomllib.loads(job_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"job file not found: {job_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read job file {job_path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{job_path}: not valid TOML: {exc}") from exc
    secrets: dict[str, str] = {}
    try:
        values = _substitute_env(raw, (), secrets)
        _resolve_paths(values, job_path.parent)
        settings = build_settings(merge(values, overrides or {}))
        _check_seeds(settings.seeds)
    except ConfigError as exc:
        raise ConfigError(f"{job_path}: {exc}") from exc
    return JobFile(job_path, settings, secrets)


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it, tables merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def _check_seeds(seeds: list[str]) -> None:
    """A job's ``seeds`` are its author's to fix, like any other value: refused, naming the
    key (a URL list's bad lines are data, skipped with a warning as the crawl reads them)."""
    problems = []
    for index, text in enumerate(seeds):
        try:
            normalize_seed(text)
        except InvalidUrl as exc:
            problems.append(f"seeds[{index}]: {exc}")
    if problems:
        raise ConfigError("; ".join(problems))


def _substitute_env(value: Any, path: tuple[str, ...], secrets: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute_env(item, (*path, key), secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_env(item, (*path, str(i)), secrets) for i, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        found = os.environ.get(name)
        if found is None:
            where = ".".join(path) or "(top level)"
            raise ConfigError(f"{where}: environment variable {name} is not set")
        if found:
            secrets[found] = match.group(0)
        return found

    return ENV_REFERENCE.sub(expand, value)


def _resolve_paths(values: dict[str, Any], folder: Path) -> None:
    for keys in RELATIVE_PATH_KEYS:
        parent: Any = values
        for key in keys[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or keys[-1] not in parent:
            continue
        parent[keys[-1]] = _resolve(parent[keys[-1]], folder)


def _resolve(value: Any, folder: Path) -> Any:
    if isinstance(value, list):
        return [_resolve(item, folder) for item in value]
    if isinstance(value, str) and value != "-" and not Path(value).is_absolute():
        return str(folder / value)
    return value


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_none(item) for item in value if item is not None]
    return value


def _mask(text: str, secrets: dict[str, str]) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, secrets[value])
    return text


def _packed_arrays(text: str, width: int = 96) -> str:
    """``text`` with each array packed into as few lines of ``width`` as it fits."""
    lines: list[str] = []
    items: list[str] | None = None
    for line in text.splitlines():
        if items is None:
            if line.endswith("= ["):
                items = []
            lines.append(line)
        elif line != "]":
            items.append(line.strip().removesuffix(","))
        else:
            lines.extend(_packed(lines.pop(), items, width))
            items = None
    return "\n".join(lines) + "\n"


def _packed(opening: str, items: list[str], width: int) -> list[str]:
    one_line = opening + ", ".join(items) + "]"
    if len(one_line) <= width:
        return [one_line]
    rows = [opening]
    for item in items:
        if len(rows) > 1 and len(rows[-1]) + len(item) + 2 <= width:
            rows[-1] += f" {item},"
        else:
            rows.append(f"    {item},")
    return [*rows, "]"]
