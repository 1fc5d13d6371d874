"""What every section of the settings shares: strict, frozen validation, and the one way a
model's own check refuses a value, naming its key."""

from __future__ import annotations

from typing import NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from crawler.settings.messages import REFUSED


class Section(BaseModel):
    """A table of the settings: unknown keys refused, values frozen, types strict."""

    # strict: a job file's `max_bytes = true` or `per_host = "4"` is a mistake to report,
    # not a value to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def refuse(key: str, message: str) -> NoReturn:
    """Fail a model's own check, naming ``key`` (under the model's place in the settings)."""
    detail = InitErrorDetails(type=PydanticCustomError(REFUSED, message), loc=(key,), input=None)
    raise ValidationError.from_exception_data("Settings", [detail])
