"""User steps for the step tests, importable by path as a job file would name them."""

from __future__ import annotations

from typing import Any

RAISE_MARKER = "explode-me"
NOT_CALLABLE = 42


def clean_prices(record: dict[str, Any], currency: str = "USD") -> dict[str, Any]:
    """Turn ``fields.price`` such as "1.299,00 €" into a number, and note the currency."""
    fields = record.get("fields") or {}
    price = fields.get("price")
    if isinstance(price, str):
        digits = price.replace(".", "").replace(",", ".").strip(" €$")
        fields["price"] = float(digits)
        fields["currency"] = currency
    return record


def explode_on_marker(record: dict[str, Any]) -> dict[str, Any]:
    """Raise on a record whose URL has the marker, as a buggy user step would."""
    if RAISE_MARKER in record["url"]:
        raise ValueError("cannot handle this page")
    return record


def tag(record: dict[str, Any], label: str = "seen") -> dict[str, Any]:
    """Add a key of the user's own, to show later steps ran."""
    record.setdefault("tags", []).append(label)
    return record


def forgets_to_return(record: dict[str, Any]) -> bool:
    """A step that returns something other than the record or None."""
    return bool(record)


def multiline_title(record: dict[str, Any]) -> dict[str, Any]:
    """Put line breaks and quotes in the title, as a CSV output must keep them in one cell."""
    if record.get("title"):
        record["title"] = f'{record["title"]}\n"quoted", second line\r\nthird line'
    return record
