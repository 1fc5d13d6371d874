"""Tests for pipelines.worker.extract: the named fields a user configures, on real HTML snippets."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from bs4 import BeautifulSoup

from crawler.errors import ConfigError
from crawler.settings import ExtractSettings, build_settings
from pipelines.worker.extract import Extractor

URL = "https://shop.test/products/42"

PRODUCT = """
<html lang="en"><head><title>Blue kettle</title></head>
<body>
  <h1 class="title  main">
      Blue   <em>electric</em>
      kettle
  </h1>
  <p class="price"></p>
  <p class="price">Price: 1.299,00 EUR</p>
  <ul class="tags">
    <li><a href="/t/kitchen" rel="tag nofollow">kitchen</a></li>
    <li><a href="/t/blue">  blue </a></li>
    <li><a href="/t/empty"></a></li>
    <li><a href="/t/sale">on sale</a></li>
  </ul>
  <div class="stock">In stock: 17 left</div>
  <img src="/img/kettle.jpg" alt="A blue kettle">
</body></html>
"""


def extract(
    fields: dict[str, Any], html: str = PRODUCT, url: str = URL, rules: Any = ()
) -> dict[str, Any]:
    settings = ExtractSettings.model_validate({"fields": fields, "rules": list(rules)})
    return Extractor(settings).fields_for(url, BeautifulSoup(html, "lxml"))


# -- text, attributes, lists -----------------------------------------------------------


def test_text_is_whitespace_normalized_across_nested_tags() -> None:
    assert extract({"name": {"css": "h1"}}) == {"name": "Blue electric kettle"}


def test_first_non_empty_match_is_taken() -> None:
    assert extract({"price": {"css": "p.price"}}) == {"price": "Price: 1.299,00 EUR"}


def test_attribute_instead_of_text() -> None:
    assert extract({"alt": {"css": "img", "attr": "alt"}}) == {"alt": "A blue kettle"}


def test_url_attributes_are_absolute_urls_against_the_page() -> None:
    fields = extract(
        {"image": {"css": "img", "attr": "src"}, "first": {"css": "a", "attr": "href"}},
        url="https://shop.test/products/42?color=blue",
    )
    assert fields == {
        "image": "https://shop.test/img/kettle.jpg",
        "first": "https://shop.test/t/kitchen",
    }
    relative = '<a href="../b.html#top">b</a><a href="c.html">c</a><a href="mailto:x@shop.test">'
    links = {"links": {"css": "a", "attr": "href", "all": True}}
    assert extract(links, relative, url="https://shop.test/a/b/page") == {
        "links": [
            "https://shop.test/a/b.html#top",
            "https://shop.test/a/b/c.html",
            "mailto:x@shop.test",
        ]
    }


def test_a_base_href_is_what_url_attributes_resolve_against() -> None:
    html = '<head><base><base href="https://cdn.shop.test/v2/"></head><img src="k.jpg">'
    fields = extract({"image": {"css": "img", "attr": "src"}}, html)
    assert fields == {"image": "https://cdn.shop.test/v2/k.jpg"}


def test_absolute_false_keeps_the_url_as_written_and_true_resolves_any_value() -> None:
    html = '<img src="/img/k.jpg" data-zoom="/img/k-big.jpg"><span class=u>/p/1</span>'
    fields = extract(
        {
            "raw": {"css": "img", "attr": "src", "absolute": False},
            "zoom": {"css": "img", "attr": "data-zoom"},
            "zoom_url": {"css": "img", "attr": "data-zoom", "absolute": True},
            "text_url": {"css": ".u", "absolute": True},
            "host": {"css": "img", "attr": "src", "regex": r"//([^/]+)/"},
        },
        html,
    )
    assert fields == {
        "raw": "/img/k.jpg",
        "zoom": "/img/k-big.jpg",  # not a URL attribute: as written unless asked
        "zoom_url": "https://shop.test/img/k-big.jpg",
        "text_url": "https://shop.test/p/1",
        "host": "shop.test",  # the regex sees the absolute URL
    }


def test_multi_valued_attribute_is_joined_with_spaces() -> None:
    fields = extract(
        {"classes": {"css": "h1", "attr": "class"}, "rel": {"css": "a", "attr": "rel"}}
    )
    assert fields == {"classes": "title main", "rel": "tag nofollow"}


def test_missing_attribute_skips_to_the_next_match() -> None:
    # only the second link has a title: the field skips elements without one
    html = '<a href="/a">a</a><a href="/b" title=" second ">b</a>'
    assert extract({"title": {"css": "a", "attr": "title"}}, html) == {"title": "second"}


def test_all_lists_every_non_empty_match_in_document_order() -> None:
    fields = extract({"tags": {"css": "ul.tags a", "all": True}})
    assert fields == {"tags": ["kitchen", "blue", "on sale"]}


def test_all_with_attribute() -> None:
    fields = extract({"hrefs": {"css": "ul.tags a", "attr": "href", "all": True}})
    tags = ["kitchen", "blue", "empty", "sale"]
    assert fields == {"hrefs": [f"https://shop.test/t/{tag}" for tag in tags]}


def test_values_are_plain_strings_and_pickle_without_the_tree() -> None:
    fields = extract({"name": {"css": "h1"}, "tags": {"css": "a", "all": True}})
    assert type(fields["name"]) is str
    assert all(type(tag) is str for tag in fields["tags"])
    assert len(pickle.dumps(fields)) < 200


# -- regex -----------------------------------------------------------------------------


def test_regex_with_a_group_keeps_the_group() -> None:
    fields = extract({"stock": {"css": ".stock", "regex": r"(\d+) left"}})
    assert fields == {"stock": "17"}


def test_regex_without_a_group_keeps_the_whole_match() -> None:
    fields = extract({"price": {"css": ".price", "regex": r"[\d.,]+ EUR"}})
    assert fields == {"price": "1.299,00 EUR"}


def test_regex_that_does_not_match_gives_the_default() -> None:
    fields = extract({"price": {"css": ".price", "regex": r"\$(\d+)", "default": "n/a"}})
    assert fields == {"price": "n/a"}


def test_regex_on_all_drops_values_that_do_not_match() -> None:
    fields = extract({"short": {"css": "ul.tags a", "all": True, "regex": r"^\w{4,5}$"}})
    assert fields == {"short": ["blue"]}


def test_optional_group_that_took_no_part_is_no_value() -> None:
    fields = extract({"n": {"css": ".stock", "regex": r"stock(?:: (x))?"}})
    assert fields == {"n": None}


# -- defaults --------------------------------------------------------------------------


def test_selector_that_matches_nothing_gives_none_or_the_default() -> None:
    fields = extract(
        {
            "sku": {"css": ".sku"},
            "rating": {"css": ".rating", "default": 0},
            "reviews": {"css": ".review", "all": True},
            "colors": {"css": ".color", "all": True, "default": ["unknown"]},
        }
    )
    assert fields == {"sku": None, "rating": 0, "reviews": [], "colors": ["unknown"]}


def test_a_default_list_is_not_shared_between_pages() -> None:
    extractor = Extractor(
        ExtractSettings.model_validate({"fields": {"c": {"css": ".c", "default": ["x"]}}})
    )
    first = extractor.fields_for(URL, BeautifulSoup("<p></p>", "lxml"))
    first["c"].append("changed by a step")
    second = extractor.fields_for(URL, BeautifulSoup("<p></p>", "lxml"))
    assert second == {"c": ["x"]}


def test_only_empty_matches_give_the_default() -> None:
    fields = extract({"price": {"css": "p.price", "default": "?"}}, '<p class="price"> </p>')
    assert fields == {"price": "?"}


# -- rules by URL ----------------------------------------------------------------------


RULES = [
    {"match": r"/products/\d+", "fields": {"stock": {"css": ".stock", "regex": r"(\d+)"}}},
    {"match": r"/blog/", "fields": {"author": {"css": ".author"}}},
    {"match": r"shop\.test", "fields": {"name": {"css": "img", "attr": "alt"}}},
]


def test_rules_apply_only_to_matching_urls_after_the_global_fields() -> None:
    fields = extract({"title": {"css": "title"}}, rules=RULES[:2])
    assert list(fields) == ["title", "stock"]
    assert fields == {"title": "Blue kettle", "stock": "17"}


def test_no_rule_matches_gives_only_the_global_fields() -> None:
    fields = extract({"title": {"css": "title"}}, url="https://other.test/about", rules=RULES)
    assert fields == {"title": "Blue kettle"}


def test_a_rule_field_overrides_a_global_field_of_the_same_name() -> None:
    fields = extract({"name": {"css": "h1"}}, rules=RULES)
    assert fields == {"name": "A blue kettle", "stock": "17"}


# -- the extractor as a whole ----------------------------------------------------------


def test_empty_when_nothing_is_configured() -> None:
    assert Extractor(ExtractSettings()).empty
    assert not Extractor(ExtractSettings.model_validate({"rules": RULES[:1]})).empty
    assert Extractor(ExtractSettings()).fields_for(URL, BeautifulSoup(PRODUCT, "lxml")) == {}


def test_extractor_pickles_and_works_after() -> None:
    settings = ExtractSettings.model_validate(
        {"fields": {"price": {"css": ".price", "regex": r"([\d.,]+)"}}, "rules": RULES}
    )
    clone = pickle.loads(pickle.dumps(Extractor(settings)))
    assert clone.fields_for(URL, BeautifulSoup(PRODUCT, "lxml")) == {
        "price": "1.299,00",
        "stock": "17",
        "name": "A blue kettle",
    }


def test_settings_from_a_job_file_shape() -> None:
    settings = build_settings(
        {"extract": {"fields": {"h": {"css": "h1", "all": True}}, "rules": RULES[:1]}}
    )
    fields = Extractor(settings.extract).fields_for(URL, BeautifulSoup(PRODUCT, "lxml"))
    assert fields == {"h": ["Blue electric kettle"], "stock": "17"}


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extract_settings", "message"),
    [
        (
            {"fields": {"price": {"css": ".price", "regex": "(\\d+"}}},
            "extract.fields.price.regex: not a valid regex: missing ), unterminated subpattern",
        ),
        (
            {"fields": {"title": {"css": "h1 >"}}},
            "extract.fields.title.css: not a valid CSS selector: ",
        ),
        (
            {"fields": {"title": {"css": "p::before"}}},
            "extract.fields.title.css: not a valid CSS selector: ",
        ),
        (
            {"rules": [{"match": "[a-", "fields": {}}]},
            "extract.rules[0].match: not a valid regex: ",
        ),
        (
            {"rules": [*RULES[:1], {"match": ".", "fields": {"x": {"css": "a[href"}}}]},
            "extract.rules[1].fields.x.css: not a valid CSS selector: ",
        ),
    ],
)
def test_bad_regex_or_selector_is_a_config_error_naming_the_key(
    extract_settings: dict[str, Any], message: str
) -> None:
    settings = ExtractSettings.model_validate(extract_settings)
    with pytest.raises(ConfigError) as raised:
        Extractor.validate(settings)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
    with pytest.raises(ConfigError):
        Extractor(settings)


def test_valid_settings_validate() -> None:
    Extractor.validate(
        ExtractSettings.model_validate({"fields": {"a": {"css": "a"}}, "rules": RULES})
    )
