"""The schema's errors said plainly: one line naming each bad key path, what it must be and
what it got, in the words of a job file (``true``, a table), never pydantic's. Part of the
kernel: imports nothing of parcrawl."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from crawler.errors import shown_value

if TYPE_CHECKING:  # pydantic only for annotations: a crawl loads it anyway, not through here
    from pydantic import ValidationError

REFUSED = "refused"
"""The error type of the schema's own checks across keys: their message is whole, said as is."""

BOUNDS = {
    "greater_than_equal": ">= {ge}",
    "greater_than": "> {gt}",
    "less_than_equal": "<= {le}",
    "less_than": "< {lt}",
}

EXPECTED = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "string_too_short": "must not be empty",
    "too_short": "must have at least {min_length} item(s)",
}
"""What a type or shape error means, as a job file's author reads it."""

UNION_MEMBERS = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list[str]": "a list of strings",
}
"""How pydantic tags the members of a union in an error's location (the schema's unions
are of these types), and what each means."""

SECRET_KEYS = frozenset({"cluster.frontier", "fetch.proxy"})
"""Keys whose value may hold a password: an error never shows it."""
SECRET_PATHS = re.compile(r"^fetch\.sites\[\d+\]\.(?:password|cookies|headers)")
"""Key paths under which every value is treated as a secret (``[[fetch.sites]]``)."""


def describe_validation_error(exc: ValidationError) -> str:
    """Every problem on one line: ``fetch.per_host: must be >= 1, got 0; workers: ...``."""
    return "; ".join(_problem(error) for error in _unions_merged(exc.errors()))


def key_path(location: tuple[int | str, ...]) -> str:
    """A job-file key path as users write it: ``steps[1].use``, ``fetch.per_host``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _unions_merged(errors: list[Any]) -> list[Any]:
    """A value no member of a union takes (``default = {a = 1}``) fails once per member,
    each at ``key.MEMBER``: said once, at ``key``, with every type it may be."""
    merged: list[Any] = []
    for error in errors:
        location = tuple(error["loc"])
        tagged = [i for i, part in enumerate(location) if part in UNION_MEMBERS]
        if not tagged:
            merged.append(error)
            continue
        at = location[: tagged[0]]
        member = UNION_MEMBERS[str(location[tagged[0]])]
        previous = merged[-1] if merged else None
        if previous is not None and previous["type"] == "union" and previous["loc"] == at:
            previous["members"].append(member)
        else:
            merged.append({"type": "union", "loc": at, "members": [member], "input": None})
    return merged


def _problem(error: Any) -> str:
    path = key_path(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown setting"
    if kind == "missing":
        return f"{path}: required"
    message = _plain_message(error)
    shown = shown_value(error.get("input"))
    quoted = kind == "value_error" and shown is not None and shown in message  # said already
    secret = path in SECRET_KEYS or SECRET_PATHS.match(path) is not None
    if kind == REFUSED or secret or shown is None or quoted:
        return f"{path}: {message}"
    return f"{path}: {message}, got {shown}"


def _plain_message(error: Any) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind in BOUNDS:
        return "must be " + BOUNDS[kind].format(**ctx)
    if kind == "union":
        *others, last = error["members"]
        return f"must be {', '.join(others)} or {last}"
    if kind in EXPECTED:
        return EXPECTED[kind].format(**ctx)
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])  # the validator's own words, without "Value error, "
    message = str(error["msg"])
    if message.startswith("Input should be "):  # literals: "Input should be 'lxml' or 'bs4'"
        return "must be " + message.removeprefix("Input should be ")
    return message[:1].lower() + message[1:]
