"""Tests for pipelines.worker.steps: built-in and user steps on real records from a job file."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from crawler.errors import ConfigError, StepError
from crawler.models import FetchFailure, FetchRequest, FetchResult, Record, record_from
from crawler.settings import StepSettings, build_settings
from pipelines.worker.parse import parse_page
from pipelines.worker.steps import (
    DuplicateFilter,
    NamedStep,
    build_steps,
    run_steps,
    simhash,
    validate_steps,
)
from tests.support.user_steps import RAISE_MARKER

USER = "tests.support.user_steps"
WORDS = (
    "the quick brown fox jumps over the lazy dog while the farmer watches from the porch "
    "and drinks his morning coffee slowly before heading out to the fields to check on "
    "the young corn that was planted last week after the long spring rains finally ended"
)


def page(
    url: str, body: str, *, lang: str | None = "en", fields: dict[str, Any] | None = None
) -> Record:
    html = f"<html{f' lang={lang!r}' if lang else ''}><head><title>T</title></head>"
    html += f"<body><p>{body}</p></body></html>"
    headers = (("content-type", "text/html; charset=utf-8"),)
    result = FetchResult(
        FetchRequest(url), url, 200, headers, "text/html", html.encode(), len(html), 12.5, "now"
    )
    record = record_from(result, parse_page(url, result.body, dict(headers)))
    if fields is not None:
        record["fields"] = fields
    return record


def failed(url: str) -> Record:
    return record_from(
        FetchResult.unfetched(FetchRequest(url), FetchFailure("dns", "no such host"))
    )


def steps(*configs: dict[str, Any]) -> list[NamedStep]:
    return build_steps([StepSettings.model_validate(config) for config in configs])


def run(configs: list[dict[str, Any]], record: Record) -> Record | None:
    return run_steps(steps(*configs), record)


# -- min_words -------------------------------------------------------------------------


def test_min_words_drops_short_pages_and_keeps_the_rest() -> None:
    step = steps({"use": "min_words", "min": 5})
    assert run_steps(step, page("http://a.test/short", "too short")) is None
    long = page("http://a.test/long", "one two three four five six")
    assert run_steps(step, long) is long


def test_min_words_keeps_records_that_are_not_pages() -> None:
    error = failed("http://gone.test/")
    assert run([{"use": "min_words", "min": 100}], error) == error


# -- drop_matching ---------------------------------------------------------------------


def test_drop_matching_the_url_by_default() -> None:
    config = [{"use": "drop_matching", "pattern": r"/(login|cart)\b"}]
    assert run(config, page("http://a.test/cart?x=1", "w")) is None
    assert run(config, page("http://a.test/cartography", "w")) is not None


def test_drop_matching_a_dotted_field() -> None:
    config = [{"use": "drop_matching", "field": "fields.price", "pattern": "sold out"}]
    assert run(config, page("http://a.test/1", "w", fields={"price": "Sold out"})) is not None
    assert run(config, page("http://a.test/2", "w", fields={"price": "sold out"})) is None
    # a page without the field, and a record that is not a page, are not matched
    assert run(config, page("http://a.test/3", "w")) is not None
    assert run(config, failed("http://a.test/4")) is not None


def test_drop_matching_any_item_of_a_list_field_and_non_string_values() -> None:
    tags = [{"use": "drop_matching", "field": "fields.tags", "pattern": "^spam$"}]
    assert run(tags, page("http://a.test/1", "w", fields={"tags": ["ok", "spam"]})) is None
    assert run(tags, page("http://a.test/2", "w", fields={"tags": ["ok", "spammy"]})) is not None
    status = [{"use": "drop_matching", "field": "status", "pattern": "^2"}]
    assert run(status, page("http://a.test/3", "w")) is None


# -- language --------------------------------------------------------------------------


def test_language_keeps_allowed_primary_subtags_case_insensitively() -> None:
    config = [{"use": "language", "allow": ["en", "DE"]}]
    assert run(config, page("http://a.test/us", "w", lang="en-US")) is not None
    assert run(config, page("http://a.test/de", "w", lang="de")) is not None
    assert run(config, page("http://a.test/fr", "w", lang="fr-CA")) is None


def test_language_pages_without_lang_are_kept_unless_required() -> None:
    unknown = page("http://a.test/x", "w", lang=None)
    assert run([{"use": "language", "allow": ["en"]}], unknown) is not None
    assert run([{"use": "language", "allow": ["en"], "require": True}], unknown) is None
    # an error record is no page without a language: it is kept
    assert (
        run([{"use": "language", "allow": ["en"], "require": True}], failed("http://b/"))
        is not None
    )


# -- trim ------------------------------------------------------------------------------


def test_trim_cuts_record_keys_and_dotted_fields() -> None:
    record = page(
        "http://a.test/", "a very long body of text", fields={"summary": "abcdefgh", "n": 12345}
    )
    record["fields"]["bullets"] = ["short", "much too long"]
    config = [
        {
            "use": "trim",
            "fields": [
                "text",
                "fields.summary",
                "fields.n",
                "fields.bullets",
                "fields.nope",
                "x.y",
            ],
            "max_chars": 6,
        }
    ]
    out = run(config, record)
    assert out is not None
    assert out["text"] == "a very"
    assert out["fields"] == {"summary": "abcdef", "n": 12345, "bullets": ["short", "much t"]}
    assert out["word_count"] == 6  # the page's facts are not recomputed


# -- simhash ---------------------------------------------------------------------------


def test_simhash_step_marks_pages_with_16_hex_chars() -> None:
    out = run([{"use": "simhash"}], page("http://a.test/", WORDS))
    assert out is not None
    value = out["simhash"]  # type: ignore[typeddict-item]
    assert len(value) == 16
    int(value, 16)
    error = run([{"use": "simhash"}], failed("http://gone.test/"))
    assert error is not None
    assert error["simhash"] is None  # type: ignore[typeddict-item]


def test_simhash_bits_option() -> None:
    out = run([{"use": "simhash", "bits": 128}], page("http://a.test/", WORDS))
    assert out is not None
    assert len(out["simhash"]) == 32  # type: ignore[typeddict-item]


def test_simhash_identical_texts_are_equal() -> None:
    assert simhash(WORDS) == simhash(WORDS)
    # whitespace and case do not make a page different
    assert simhash(WORDS) == simhash("  " + WORDS.upper().replace(" ", "\n  "))


def test_simhash_near_texts_are_close_and_different_texts_far() -> None:
    near = WORDS.replace("morning coffee", "evening tea")
    other = (
        "quarterly revenue grew eleven percent as the company expanded its cloud offerings "
        "into three new regions and signed several large enterprise contracts in europe "
        "while operating margins narrowed slightly because of higher data center costs"
    )
    assert 0 < bits_apart(simhash(WORDS), simhash(near)) <= 12
    assert bits_apart(simhash(WORDS), simhash(other)) >= 20


def bits_apart(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


# -- drop_duplicates: the main process's job -------------------------------------------


def test_drop_duplicates_is_a_main_process_step_workers_skip() -> None:
    built = steps({"use": "drop_duplicates"}, {"use": "min_words", "min": 1})
    assert [(s.name, s.main_process) for s in built] == [
        ("drop_duplicates", True),
        ("min_words", False),
    ]
    record = page("http://a.test/", "same words")
    assert run_steps(built, record) is record
    assert run_steps(built, page("http://a.test/copy", "same words")) is not None


def test_duplicate_filter_sees_repeated_hashes() -> None:
    seen = DuplicateFilter()
    first, copy, other = (
        str(page("http://a.test/", body)["sha256"]) for body in ("same", "same", "different")
    )
    assert [seen.seen(first), seen.seen(other), seen.seen(copy)] == [False, False, True]
    assert len(seen) == 2


# -- user steps ------------------------------------------------------------------------


def test_user_step_gets_its_options_as_keyword_arguments() -> None:
    record = page("http://shop.test/1", "w", fields={"price": "1.299,00 €"})
    out = run([{"use": f"{USER}:clean_prices", "currency": "EUR"}], record)
    assert out is not None
    assert out["fields"] == {"price": 1299.0, "currency": "EUR"}


def test_user_step_without_options_is_called_with_the_record_only() -> None:
    out = run([{"use": f"{USER}:tag"}], page("http://a.test/", "w"))
    assert out is not None
    assert out["tags"] == ["seen"]  # type: ignore[typeddict-item]


def test_raising_step_gives_step_error_and_skips_later_steps() -> None:
    config: list[dict[str, Any]] = [
        {"use": f"{USER}:tag", "label": "before"},
        {"use": f"{USER}:explode_on_marker"},
        {"use": f"{USER}:tag", "label": "after"},
        {"use": "min_words", "min": 1000},
    ]
    out = run(config, page(f"http://a.test/{RAISE_MARKER}", "a few words"))
    assert out is not None
    assert out["error"] == {
        "code": "step_error",
        "message": f"{USER}:explode_on_marker: ValueError: cannot handle this page",
    }
    assert out["tags"] == ["before"]  # type: ignore[typeddict-item]
    assert out["title"] == "T"
    assert out["word_count"] == 3
    # the same steps on a page without the marker run to the end (and min_words drops it)
    assert run(config, page("http://a.test/fine", "a few words")) is None


def test_step_returning_something_else_is_a_step_error() -> None:
    out = run([{"use": f"{USER}:forgets_to_return"}], page("http://a.test/", "w"))
    assert out is not None
    assert out["error"] == {
        "code": "step_error",
        "message": f"{USER}:forgets_to_return: TypeError: returned bool, not the record or None",
    }


def test_named_step_raises_step_error_naming_the_step() -> None:
    (step,) = steps({"use": f"{USER}:explode_on_marker"})
    with pytest.raises(StepError) as raised:
        step(page(f"http://a.test/{RAISE_MARKER}", "w"))
    assert raised.value.step == f"{USER}:explode_on_marker"
    assert isinstance(raised.value.__cause__, ValueError)


# -- pickling to workers ---------------------------------------------------------------


def test_steps_pickle_round_trip_and_run() -> None:
    built = steps(
        {"use": "drop_matching", "pattern": "/private/"},
        {"use": "language", "allow": ["en"]},
        {"use": f"{USER}:clean_prices", "currency": "EUR"},
        {"use": "trim", "fields": ["text"], "max_chars": 4},
        {"use": "simhash"},
        {"use": "drop_duplicates"},
        {"use": "min_words", "min": 1},
    )
    data = pickle.dumps(built)
    assert b"clean_prices" in data
    clone = pickle.loads(data)
    out = run_steps(clone, page("http://a.test/p", "priced page", fields={"price": "5,50"}))
    assert out is not None
    assert out["fields"] == {"price": 5.5, "currency": "EUR"}
    assert out["text"] == "pric"
    assert out["simhash"] == simhash("pric")  # type: ignore[typeddict-item]
    assert run_steps(clone, page("http://a.test/private/1", "w")) is None


def test_steps_run_in_a_fresh_worker_process() -> None:
    built = steps({"use": f"{USER}:clean_prices", "currency": "EUR"}, {"use": "simhash"})
    record = page("http://a.test/p", "priced page", fields={"price": "5,50"})
    # spawn: the worker imports the user's module itself, as a forkserver worker would
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        out = pool.submit(run_steps, built, record).result(timeout=60)
    assert out is not None
    assert out["fields"] == {"price": 5.5, "currency": "EUR"}
    assert out["simhash"] == simhash("priced page")  # type: ignore[typeddict-item]


def test_step_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(StepError("trim", "KeyError: 'x'")))
    assert str(error) == "trim: KeyError: 'x'"


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        (
            [{"use": "min_words", "min": 1}, {"use": "min_word", "min": 1}],
            "steps[1].use: unknown step 'min_word'",
        ),
        ([{"use": "min_words", "min": "x"}], "steps[0].min: must be an integer >= 0, got 'x'"),
        ([{"use": "min_words", "min": -1}], "steps[0].min: must be an integer >= 0, got -1"),
        ([{"use": "min_words", "min": True}], "steps[0].min: must be an integer >= 0, got true"),
        ([{"use": "min_words"}], "steps[0].min: required by min_words"),
        ([{"use": "min_words", "min": 3, "max": 9}], "steps[0].max: not an option of min_words"),
        (
            [{"use": "drop_matching", "pattern": "(unclosed"}],
            "steps[0].pattern: not a valid regex: ",
        ),
        (
            [{"use": "drop_matching", "pattern": "x", "field": ""}],
            "steps[0].field: must be a non-empty string, got ''",
        ),
        (
            [{"use": "language", "allow": "en"}],
            "steps[0].allow: must be a non-empty list of strings, got 'en'",
        ),
        (
            [{"use": "language", "allow": ["en"], "require": "yes"}],
            "steps[0].require: must be true or false, got 'yes'",
        ),
        ([{"use": "simhash", "bits": 16}], "steps[0].bits: must be one of 32, 64, 128, got 16"),
        (
            [{"use": "trim", "fields": ["text"], "max_chars": 0}],
            "steps[0].max_chars: must be an integer >= 1, got 0",
        ),
        (
            [{"use": "trim", "fields": [], "max_chars": 9}],
            "steps[0].fields: must be a non-empty list of strings, got []",
        ),
        (
            [{"use": "drop_duplicates", "keep": "last"}],
            "steps[0].keep: not an option of drop_duplicates",
        ),
    ],
)
def test_bad_built_in_steps_are_config_errors_naming_the_key(
    configs: list[dict[str, Any]], message: str
) -> None:
    settings = [StepSettings.model_validate(config) for config in configs]
    with pytest.raises(ConfigError) as raised:
        validate_steps(settings)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("use", "message"),
    [
        (
            "mypackage.steps:clean_prices",
            "steps[1].use: cannot import mypackage.steps:clean_prices: No module named 'mypackage'",
        ),
        (
            f"{USER}:no_such_step",
            f"steps[1].use: cannot import {USER}:no_such_step: module '{USER}' has no attribute",
        ),
        (
            f"{USER}:NOT_CALLABLE",
            f"steps[1].use: cannot import {USER}:NOT_CALLABLE: a int, not callable",
        ),
        (f"{USER}:", f"steps[1].use: cannot import {USER}:: not a 'package.module:function' path"),
    ],
)
def test_user_steps_that_do_not_import_are_config_errors(use: str, message: str) -> None:
    settings = [StepSettings(use="simhash"), StepSettings(use=use)]
    with pytest.raises(ConfigError) as raised:
        validate_steps(settings)
    assert str(raised.value).startswith(message)


def test_user_step_options_it_does_not_take_are_a_config_error() -> None:
    settings = [StepSettings.model_validate({"use": f"{USER}:clean_prices", "currncy": "EUR"})]
    with pytest.raises(
        ConfigError, match=r"^steps\[0\]: .*clean_prices does not take these options: .*currncy"
    ):
        validate_steps(settings)


def test_steps_from_a_job_file_shape() -> None:
    settings = build_settings(
        {"steps": [{"use": "min_words", "min": 2}, {"use": f"{USER}:tag", "label": "kept"}]}
    )
    validate_steps(settings.steps)
    out = run_steps(build_steps(settings.steps), page("http://a.test/", "two words"))
    assert out is not None
    assert out["tags"] == ["kept"]  # type: ignore[typeddict-item]
    assert run_steps(build_steps(settings.steps), page("http://a.test/", "one")) is None
