"""Page metadata read from the tree: meta tags, OpenGraph, Twitter cards, JSON-LD, dates."""

from __future__ import annotations

import json

from pipelines.worker.content import cheap_meta, page_meta, parse_html, with_detected_language
from pipelines.worker.lxml_parse import parse_document_lxml

URL = "https://blog.example/posts/42"

RICH_HEAD = """<html lang="en-GB"><head>
<title>  Tea   and cake </title>
<base href="https://static.example/">
<meta name="description" content="A post about tea.">
<meta name="author" content="Ada Lovelace">
<link rel="Canonical" href="/posts/tea-and-cake">
<meta property="og:title" content="Tea and cake">
<meta property="og:type" content="article">
<meta property="og:image" content="img/tea.png">
<meta property="og:image" content="img/second.png">
<meta property="og:site_name" content="Ada's blog">
<meta property="article:published_time" content="2024-03-01T09:30:00+01:00">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:creator" content="@ada">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "BlogPosting",
 "headline": "Tea and cake", "dateModified": "2024-03-02"}</script>
<script type="application/ld+json">{"@type": "Thing", "name": broken json</script>
<script type="application/ld+json">[{"@type": "BreadcrumbList"}, {"@type": "Person"}]</script>
</head><body><p>Hello</p></body></html>"""


def test_the_head_fields_are_read_and_urls_made_absolute() -> None:
    meta = page_meta(parse_html(RICH_HEAD), URL)

    assert meta["lang"] == "en-gb"
    assert meta["lang_detected"] is False
    assert meta["title"] == "Tea and cake"
    assert meta["description"] == "A post about tea."
    assert meta["author"] == "Ada Lovelace"
    assert meta["canonical"] == "https://static.example/posts/tea-and-cake"
    assert meta["image"] == "https://static.example/img/tea.png"
    assert meta["site_name"] == "Ada's blog"
    assert meta["published"] == "2024-03-01T09:30:00+01:00"
    assert meta["modified"] == "2024-03-02"


def test_opengraph_and_twitter_fields_come_as_dicts_without_their_prefix() -> None:
    meta = page_meta(parse_html(RICH_HEAD), URL)

    assert meta["opengraph"] == {
        "title": "Tea and cake",
        "type": "article",
        "image": "img/tea.png",  # as the page wrote it; ``image`` holds the absolute URL
        "site_name": "Ada's blog",
    }
    assert meta["twitter"] == {"card": "summary_large_image", "creator": "@ada"}


def test_json_ld_blocks_are_parsed_and_a_malformed_one_skipped() -> None:
    meta = page_meta(parse_html(RICH_HEAD), URL)

    assert [thing["@type"] for thing in meta["json_ld"]] == [
        "BlogPosting",
        "BreadcrumbList",
        "Person",
    ]
    assert json.loads(json.dumps(meta)) == meta  # plain JSON, ready for a record


def test_json_ld_supplies_what_the_meta_tags_lack() -> None:
    html = """<html><head><script type="application/ld+json">
    <!-- {"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "name": "Site"},
      {"@type": "NewsArticle", "datePublished": "2023-11-05T08:00:00Z",
       "author": [{"@type": "Person", "name": "Grace Hopper"}, {"name": "Alan Turing"}],
       "image": {"@type": "ImageObject", "url": "/pics/a.jpg"},
       "publisher": {"@type": "Organization", "name": "The Daily Example"}}]} -->
    </script></head><body></body></html>"""

    meta = page_meta(parse_html(html), URL)

    assert meta["author"] == "Grace Hopper, Alan Turing"
    assert meta["published"] == "2023-11-05T08:00:00+00:00"
    assert meta["image"] == "https://blog.example/pics/a.jpg"
    assert meta["site_name"] == "The Daily Example"


def test_a_time_element_gives_the_date_when_nothing_else_does() -> None:
    html = """<body><time datetime="2020-01-01">header clock</time>
    <article><time pubdate datetime="2019-07-14T12:00">14 July</time></article></body>"""

    assert page_meta(parse_html(html), URL)["published"] == "2019-07-14T12:00:00"


def test_dates_that_are_no_dates_are_left_out() -> None:
    html = """<head><meta property="article:published_time" content="last Tuesday">
    <meta property="article:modified_time" content="2024-13-45"></head>"""

    meta = page_meta(parse_html(html), URL)

    assert (meta["published"], meta["modified"]) == (None, None)


def test_a_page_without_metadata_has_every_key_empty() -> None:
    meta = page_meta(parse_html("<p>nothing here</p>"), URL)

    assert meta["title"] is None
    assert (meta["opengraph"], meta["twitter"], meta["json_ld"]) == ({}, {}, [])
    assert (meta["lang"], meta["lang_detected"]) == (None, False)


def test_the_language_is_detected_from_the_main_text_only_when_undeclared() -> None:
    undeclared = page_meta(parse_html("<p>x</p>"), URL)
    german = "Der Fluss ist wieder voller Fische, und die Biologen sind nicht überrascht."

    assert with_detected_language(undeclared, german)["lang"] == "de"
    assert with_detected_language(undeclared, german)["lang_detected"] is True
    declared = page_meta(parse_html("<html lang='fr'><p>x</p></html>"), URL)
    assert with_detected_language(declared, german)["lang"] == "fr"


def test_the_declared_language_may_come_from_a_content_language_meta() -> None:
    html = '<head><meta http-equiv="Content-Language" content="pt_BR, en"></head>'

    assert cheap_meta(parse_html(html), URL)["lang"] == "pt-br"


def test_cheap_meta_is_the_near_free_subset() -> None:
    assert cheap_meta(parse_html(RICH_HEAD), URL) == {
        "lang": "en-gb",
        "description": "A post about tea.",
        "canonical": "https://static.example/posts/tea-and-cake",
    }


def test_an_unusable_canonical_or_image_url_is_none() -> None:
    html = """<head><link rel=canonical href="javascript:alert(1)">
    <meta property="og:image" content="http://[broken"></head>"""

    meta = page_meta(parse_html(html), URL)

    assert (meta["canonical"], meta["image"]) == (None, None)


def test_cheap_meta_reads_the_tree_the_fast_parse_path_already_has() -> None:
    page = """<html><head><meta http-equiv="content-language" content="de">
    <meta property="og:description" content="Only the OpenGraph summary.">
    <link rel="canonical" href="/c"></head><body><p>Text</p></body></html>"""
    fields, tree = parse_document_lxml(URL, page.encode(), {"content-type": "text/html"})

    meta = cheap_meta(tree, URL)

    assert meta["canonical"] == fields["canonical"] == "https://blog.example/c"
    assert (fields["lang"], meta["lang"]) == (None, "de")  # the record reads <html lang> only
    assert (fields["description"], meta["description"]) == (None, "Only the OpenGraph summary.")
