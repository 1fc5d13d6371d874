"""Processing steps run on each record in the workers after parsing: built-in filters and
markers, and user functions named by import path. Whatever needs every page of the crawl
(exact-duplicate dropping, near-duplicate pairing) is ``pipelines.dedupe``'s: helpers are here.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from crawler.errors import ConfigError, StepError, shown_value
from crawler.models import Record, value_at

if TYPE_CHECKING:
    # Only annotations: the schema (and pydantic) stays out of workers that never see it.
    from crawler.settings import StepSettings

log = logging.getLogger(__name__)

Step: TypeAlias = Callable[[Record], Record | None]
"""A step takes a record and returns it (changed or not), or None to drop it."""

DROP_DUPLICATES = "drop_duplicates"
SIMHASH_BITS = (32, 64, 128)


@dataclass(frozen=True, slots=True)
class NamedStep:
    """A step with the name its errors carry (its ``use``); pickles to the worker processes.

    ``main_process`` steps need every page of the crawl: workers skip them and the main
    process applies them (``drop_duplicates``, with a ``DuplicateFilter``).
    """

    name: str
    step: Step
    main_process: bool = False

    def __call__(self, record: Record) -> Record | None:
        """Run the step on ``record``.

        Raises:
            StepError: the step raised, or returned something other than a record or None.
        """
        try:
            result = self.step(record)
        except Exception as exc:  # a user's step is foreign code: whatever it raises is its error
            raise StepError(self.name, f"{type(exc).__name__}: {exc}") from exc
        if result is not None and not isinstance(result, dict):
            kind = type(result).__name__
            raise StepError(self.name, f"TypeError: returned {kind}, not the record or None")
        return result


def run_steps(steps: Sequence[NamedStep], record: Record) -> Record | None:
    """Run the worker steps of ``steps`` on ``record``, in order.

    Returns:
        The record as the last step left it; None when a step dropped it. A step that raises
        does not propagate: the record comes back with error ``step_error`` naming the step,
        and the steps after it are skipped.
    """
    for step in steps:
        if step.main_process:
            continue
        try:
            result = step(record)
        except StepError as exc:
            log.warning("step failed %s: %s", record.get("url"), exc)
            failed = record.copy()
            failed["error"] = {"code": "step_error", "message": str(exc)}
            return failed
        if result is None:
            return None
        record = result
    return record


def build_steps(settings: Sequence[StepSettings]) -> list[NamedStep]:
    """The steps of the job file's ``steps``, in order, ready to pickle to the workers.

    ``use`` is a built-in's name or a user function's ``"package.module:function"`` path.
    A user function is called as ``function(record, **options)``: the step's other keys
    arrive as keyword arguments. It returns the record (changed in place or a new dict) or
    None to drop it, and sees every record: check ``record["error"]`` and ``record["text"]``
    (None for errors and non-HTML responses) before treating one as a page.

    Raises:
        ConfigError: naming the key path, e.g. ``steps[1].use: cannot import ...``.
    """
    return [_build(index, setting) for index, setting in enumerate(settings)]


def validate_steps(settings: Sequence[StepSettings]) -> None:
    """Check every step of ``settings`` can be built (user modules are imported to check).

    Raises:
        ConfigError: an unknown built-in, an import path that does not import or names
            something not callable, or options a step does not take.
    """
    build_steps(settings)


def _build(index: int, setting: StepSettings) -> NamedStep:
    use = setting.use
    if ":" in use:
        return NamedStep(use, _user_step(f"steps[{index}]", use, setting.options))
    builder = _BUILT_INS.get(use)
    if builder is None:
        names = ", ".join(sorted(_BUILT_INS))
        raise ConfigError(
            f"steps[{index}].use: unknown step {use!r}: not a built-in ({names}) "
            "nor a 'package.module:function' path"
        )
    options = _Options(f"steps[{index}]", use, setting.options)
    step = builder(options)
    options.finish()
    return NamedStep(use, step, main_process=use == DROP_DUPLICATES)


# -- user steps ------------------------------------------------------------------------


class UserStep:
    """A user's function by import path, called as ``function(record, **options)``.

    It pickles as its path and options, and imports the function again when unpickled
    (once per worker: the module stays in ``sys.modules``).
    """

    __slots__ = ("_function", "options", "path")

    def __init__(self, path: str, options: Mapping[str, Any]) -> None:
        """Import ``path``.

        Raises:
            ImportError: the module or the name in it cannot be imported.
            TypeError: what the path names is not callable.
        """
        self.path = path
        self.options = dict(options)
        self._function = _import(path)

    def __call__(self, record: Record) -> Record | None:
        result: Record | None = self._function(record, **self.options)
        return result

    def __reduce__(self) -> tuple[type[UserStep], tuple[str, dict[str, Any]]]:
        return (UserStep, (self.path, self.options))


def _user_step(path: str, use: str, options: Mapping[str, Any]) -> UserStep:
    try:
        step = UserStep(use, options)
    except (ImportError, TypeError) as exc:
        raise ConfigError(f"{path}.use: {exc}") from exc
    try:
        signature = inspect.signature(step._function)
    except (TypeError, ValueError):  # some C functions have none: they fail when called
        return step
    try:
        signature.bind(None, **options)
    except TypeError as exc:
        raise ConfigError(f"{path}: {use} does not take these options: {exc}") from exc
    return step


def _import(path: str) -> Callable[..., Any]:
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise ImportError(f"cannot import {path}: not a 'package.module:function' path")
    try:
        found: Any = importlib.import_module(module_name)
        for part in name.split("."):
            found = getattr(found, part)
    except Exception as exc:  # importing runs the user's module: any error there is theirs
        raise ImportError(f"cannot import {path}: {exc}") from exc
    if not callable(found):
        raise TypeError(f"cannot import {path}: a {type(found).__name__}, not callable")
    return cast(Callable[..., Any], found)


# -- built-in steps --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MinWords:
    """Drops pages of fewer than ``min`` words; keeps records that are not pages."""

    min: int

    def __call__(self, record: Record) -> Record | None:
        count = record.get("word_count")
        return None if count is not None and count < self.min else record


@dataclass(frozen=True, slots=True)
class DropMatching:
    """Drops records whose ``field`` (a dotted path, such as ``fields.price``) matches."""

    pattern: re.Pattern[str]
    field: str

    def __call__(self, record: Record) -> Record | None:
        value = value_at(record, self.field)
        values = value if isinstance(value, list) else [value]
        matched = any(v is not None and self.pattern.search(str(v)) for v in values)
        return None if matched else record


@dataclass(frozen=True, slots=True)
class Language:
    """Keeps pages whose language's primary subtag is allowed; keeps records that are not
    pages, and pages without a language unless ``require``."""

    allow: frozenset[str]
    require: bool

    def __call__(self, record: Record) -> Record | None:
        if record.get("text") is None:
            return record
        lang = record.get("lang")
        if not lang:
            return None if self.require else record
        return record if _primary_subtag(lang) in self.allow else None


@dataclass(frozen=True, slots=True)
class Simhash:
    """Marks each page with the simhash of its text (``record["simhash"]``, hex), so the main
    process can pair near-duplicates; None for records without words."""

    bits: int

    def __call__(self, record: Record) -> Record | None:
        text = record.get("text")
        _extra(record)["simhash"] = simhash(text, self.bits) if text and text.strip() else None
        return record


@dataclass(frozen=True, slots=True)
class Trim:
    """Cuts the string values of ``fields`` (record keys or dotted paths) to ``max_chars``."""

    fields: tuple[str, ...]
    max_chars: int

    def __call__(self, record: Record) -> Record | None:
        for path in self.fields:
            *parents, key = path.split(".")
            holder = value_at(record, ".".join(parents)) if parents else _extra(record)
            if not isinstance(holder, dict):
                continue
            value = holder.get(key)
            if isinstance(value, str):
                holder[key] = value[: self.max_chars]
            elif isinstance(value, list):
                holder[key] = [v[: self.max_chars] if isinstance(v, str) else v for v in value]
        return record


@dataclass(frozen=True, slots=True)
class DropDuplicates:
    """A marker: the main process drops exact duplicates; in a worker it changes nothing."""

    def __call__(self, record: Record) -> Record | None:
        return record


_BUILT_INS: dict[str, Callable[[_Options], Step]] = {
    "min_words": lambda o: MinWords(o.integer("min", minimum=0)),
    "drop_matching": lambda o: DropMatching(o.regex("pattern"), o.string("field", "url")),
    "language": lambda o: Language(o.languages("allow"), o.boolean("require", False)),
    DROP_DUPLICATES: lambda o: DropDuplicates(),
    "simhash": lambda o: Simhash(o.choice("bits", SIMHASH_BITS, 64)),
    "trim": lambda o: Trim(tuple(o.strings("fields")), o.integer("max_chars", minimum=1)),
}

_REQUIRED: Any = object()


class _Options:
    """A built-in step's options, taken one by one; any left over are unknown."""

    def __init__(self, path: str, use: str, options: Mapping[str, Any]) -> None:
        self._path = path
        self._use = use
        self._left = dict(options)

    def integer(self, key: str, *, minimum: int, default: Any = _REQUIRED) -> int:
        value = self._take(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._bad(key, f"must be an integer >= {minimum}", value)
        return value

    def boolean(self, key: str, default: Any = _REQUIRED) -> bool:
        value = self._take(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "must be true or false", value)
        return value

    def string(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._take(key, default)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "must be a non-empty string", value)
        return value

    def strings(self, key: str, default: Any = _REQUIRED) -> list[str]:
        value = self._take(key, default)
        if not isinstance(value, list) or not value:
            raise self._bad(key, "must be a non-empty list of strings", value)
        if not all(isinstance(item, str) and item for item in value):
            raise self._bad(key, "must be a non-empty list of strings", value)
        return value

    def regex(self, key: str, default: Any = _REQUIRED) -> re.Pattern[str]:
        value = self.string(key, default)
        try:
            return re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{self._path}.{key}: not a valid regex: {exc}") from exc

    def languages(self, key: str) -> frozenset[str]:
        return frozenset(_primary_subtag(code) for code in self.strings(key))

    def choice(self, key: str, choices: Sequence[int], default: Any = _REQUIRED) -> int:
        value = self._take(key, default)
        if isinstance(value, bool) or value not in choices:
            raise self._bad(key, f"must be one of {', '.join(map(str, choices))}", value)
        return cast(int, value)

    def finish(self) -> None:
        """Raises ConfigError for the first option no one took."""
        for key in self._left:
            raise ConfigError(f"{self._path}.{key}: not an option of {self._use}")

    def _take(self, key: str, default: Any) -> Any:
        if key in self._left:
            return self._left.pop(key)
        if default is _REQUIRED:
            raise ConfigError(f"{self._path}.{key}: required by {self._use}")
        return default

    def _bad(self, key: str, expected: str, value: Any) -> ConfigError:
        # Said as the job file writes it (`true`, not Python's `True`), as the schema does.
        shown = shown_value(value) or repr(value)
        return ConfigError(f"{self._path}.{key}: {expected}, got {shown}")


def _extra(record: Record) -> dict[str, Any]:
    # steps may add keys of their own (simhash, a user's); Record lists only the stable ones
    return cast(dict[str, Any], record)


def _primary_subtag(code: str) -> str:
    return re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()


# -- duplicates: helpers for the main process -------------------------------------------


class DuplicateFilter:
    """Remembers the body hashes of the pages seen so far in the whole crawl (main process)."""

    def __init__(self) -> None:
        self._digests: set[bytes] = set()

    def seen(self, sha256: str) -> bool:
        """True when a page with hex digest ``sha256`` was seen before; remembers it if not."""
        # 16 of the 32 bytes: collisions stay out of reach at half the memory per page
        digest = bytes.fromhex(sha256)[:16]
        if digest in self._digests:
            return True
        self._digests.add(digest)
        return False

    def __len__(self) -> int:
        return len(self._digests)


def simhash(text: str, bits: int = 64) -> str:
    """The simhash of ``text`` as ``bits // 4`` hex digits: near texts differ in few bits.

    Features are shingles of three lower-cased words, hashed with BLAKE2b.
    """
    words = text.lower().split()
    shingles = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]
    digest_size = bits // 8
    columns = [
        format(
            int.from_bytes(hashlib.blake2b(s.encode(), digest_size=digest_size).digest()),
            f"0{bits}b",
        )
        for s in shingles
    ]
    # counting ones per bit column over the strings keeps the per-bit loop in C
    ones = [column.count("1") for column in zip(*columns, strict=True)]
    value = int("".join("1" if 2 * count > len(shingles) else "0" for count in ones), 2)
    return format(value, f"0{bits // 4}x")
