"""The crawl's settings: one validated schema with every default, shared by the CLI and the API.

It owns validation and the one-line error messages; it does not read files or parse arguments.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crawler import __version__
from crawler.errors import ConfigError

DEFAULT_USER_AGENT = f"parcrawl/{__version__}"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(_Section):
    """How pages are fetched: concurrency, politeness, timeouts and limits."""

    concurrency: int = Field(16, ge=1, le=10_000, description="Requests in flight, all hosts.")
    per_host: int = Field(4, ge=1, le=1_000, description="Requests in flight to one host.")
    connect_timeout_s: float = Field(10.0, gt=0, description="Time to open a connection.")
    read_timeout_s: float = Field(30.0, gt=0, description="Longest wait for the next bytes.")
    timeout_s: float = Field(30.0, gt=0, description="Total time for one response.")
    max_redirects: int = Field(10, ge=0, le=100)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="Largest body read, in bytes.")
    user_agent: str = Field(DEFAULT_USER_AGENT, min_length=1)


class ProcessSettings(_Section):
    """How pages are parsed: the worker processes and the batches sent to them."""

    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        le=256,
        description="Parse processes; 0 parses inline in the event loop.",
    )
    batch_size: int = Field(16, ge=1, le=10_000, description="Pages sent to a worker at once.")


class Settings(_Section):
    """Everything a crawl needs to know besides its seeds and outputs."""

    fetch: FetchSettings = Field(default_factory=FetchSettings)
    process: ProcessSettings = Field(default_factory=ProcessSettings)


def build_settings(values: dict[str, Any]) -> Settings:
    """Validate nested ``values`` (as from a job file or CLI flags) into Settings.

    Raises:
        ConfigError: naming the first bad key path, what was expected and what was given.
    """
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: ``fetch.per_host: must be >= 1, got 0``."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = _plain_message(error)
        if error["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown setting")
        elif error["type"] == "missing":
            lines.append(f"{path}: required")
        else:
            lines.append(f"{path}: {message}, got {error.get('input')!r}")
    return "; ".join(lines)


def _plain_message(error: Any) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    bounds = {
        "greater_than_equal": ">= {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "<= {le}",
        "less_than": "< {lt}",
    }
    if kind in bounds:
        return "must be " + bounds[kind].format(**ctx)
    return str(error["msg"]).lower()
