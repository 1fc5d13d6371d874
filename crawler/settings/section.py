"""What every section of the settings shares: strict, frozen validation, the one way a
model's own check refuses a value (naming its key), sizes with units, and URLs shown
without their passwords."""

from __future__ import annotations

from typing import Annotated, NoReturn
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from crawler.settings.messages import REFUSED
from crawler.settings.sizes import size_or_value

Size = Annotated[int, BeforeValidator(size_or_value)]
"""A size in bytes; a job file or flag may write it with a unit (``5MB``, ``5MiB``)."""


class Section(BaseModel):
    """A table of the settings: unknown keys refused, values frozen, types strict."""

    # strict: a job file's `max_bytes = true` or `per_host = "4"` is a mistake to report,
    # not a value to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def refuse(key: str, message: str) -> NoReturn:
    """Fail a model's own check, naming ``key`` (under the model's place in the settings)."""
    detail = InitErrorDetails(type=PydanticCustomError(REFUSED, message), loc=(key,), input=None)
    raise ValidationError.from_exception_data("Settings", [detail])


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe for logs, errors and status."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(an unreadable URL)"
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
