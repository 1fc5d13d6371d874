"""The settings a crawling command (``crawl``, ``run``, ``check``, ``demo``) starts from: a
job file's, under the flags given, checked for all that would stop the crawl before its
first fetch, so that ``check`` refuses what ``run`` would.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from cli.options import overrides_from_args
from crawler.jobfile import JobFile, load_job
from crawler.settings import Settings, build_settings
from crawler.startup import Start, check_start
from pipelines.sinks import output_for

log = logging.getLogger("parcrawl")

FOLLOW_ONLY = {
    "max_depth": "--max-depth",
    "allow_domains": "--allow-domain",
    "deny_domains": "--deny-domain",
    "include": "--include",
    "exclude": "--exclude",
}
"""Scope settings that only a crawl following links uses, and their flags."""


def command_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line sets: seeds, outputs and the settings' own flags."""
    values: dict[str, Any] = {}
    if getattr(args, "output", None):
        values["output"] = output_for(args.output)
    if getattr(args, "urls", None):
        values["seeds"] = list(args.urls)
    if getattr(args, "input", None):
        values["seeds_file"] = list(args.input)
    return overrides_from_args(args, into=values)


def settings_from_args(
    args: argparse.Namespace, *, seeds_hint: str | None = None
) -> tuple[Settings, JobFile | None]:
    """The settings to crawl with: the job file's (for run/check) under the flags' overrides,
    checked for all that would stop the crawl before its first fetch (``check`` = ``run``).

    ``seeds_hint``: what to say when there is nothing to crawl (how to give seeds).
    """
    overrides = command_overrides(args)
    job = load_job(args.job, overrides) if hasattr(args, "job") else None
    # User steps ("mypackage.steps:clean") import from the job's folder or the current one,
    # as `python -m` would; worker processes inherit this path.
    for folder in (Path.cwd(), job.path.parent.resolve() if job else None):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    settings = job.settings if job is not None else build_settings(overrides)
    check_start(Start(settings, job=str(job.path) if job else None, seeds_hint=seeds_hint))
    _warn_ignored(settings)
    return settings, job


def _warn_ignored(settings: Settings) -> None:
    """Say so when link-following options are set for a crawl that follows no links."""
    if settings.follow:
        return
    scope = settings.scope
    ignored = [flag for key, flag in FOLLOW_ONLY.items() if getattr(scope, key) not in (None, [])]
    if ignored:
        verb = "applies" if len(ignored) == 1 else "apply"
        log.warning("%s %s only with --follow: ignored", ", ".join(ignored), verb)


def warn_robots_ignored(settings: Settings) -> None:
    """Before a crawl that ignores robots.txt (``--ignore-robots``): a word of caution."""
    if not settings.robots.obey:
        log.warning("robots.txt is ignored: make sure you may crawl these sites this way")
