"""Tests for pipelines.worker.parse: what a user reads from a page, on real and broken HTML."""

from __future__ import annotations

import hashlib
import pickle

from pipelines.worker.parse import cap_links, parse_page

URL = "http://site.test/dir/page.html"
HTML_HEADERS = {"content-type": "text/html"}


def parse(html: str, url: str = URL) -> dict[str, object]:
    return dict(parse_page(url, html.encode("utf-8"), {"content-type": "text/html; charset=utf-8"}))


def links_of(body: str, url: str = URL) -> list[str] | None:
    return parse(f"<html><body>{body}</body></html>", url)["links"]  # type: ignore[return-value]


# -- title, description, lang, canonical ---------------------------------------------


def test_title_is_whitespace_normalized() -> None:
    fields = parse("<html><head><title>\n   Hello \t  big\n  World  </title></head></html>")
    assert fields["title"] == "Hello big World"


def test_missing_or_blank_title_is_none() -> None:
    assert parse("<html><body><p>no title</p></body></html>")["title"] is None
    assert parse("<html><head><title>   </title></head></html>")["title"] is None


def test_title_entities_are_decoded() -> None:
    assert parse("<title>Fish &amp; Chips &eacute;</title>")["title"] == "Fish & Chips é"


def test_meta_description_name_is_case_insensitive() -> None:
    html = '<head><meta NAME="Description" content="  A   short\n summary "></head>'
    assert parse(html)["description"] == "A short summary"


def test_meta_description_missing_is_none() -> None:
    html = '<head><meta name="keywords" content="a, b"><meta charset="utf-8"></head>'
    assert parse(html)["description"] is None


def test_lang_from_html_element() -> None:
    assert parse('<html lang=" en-GB "><body>x</body></html>')["lang"] == "en-GB"
    assert parse("<html><body>x</body></html>")["lang"] is None
    assert parse('<html lang=""><body>x</body></html>')["lang"] is None


def test_relative_canonical_is_made_absolute_without_fragment() -> None:
    html = '<head><link rel="canonical" href="../real/page.html#top"></head>'
    assert parse(html)["canonical"] == "http://site.test/real/page.html"


def test_canonical_among_several_rel_values() -> None:
    html = (
        '<head><link rel="stylesheet" href="/s.css">'
        '<link rel="Canonical alternate" href="https://other.test/c"></head>'
    )
    assert parse(html)["canonical"] == "https://other.test/c"


def test_no_canonical_is_none() -> None:
    assert parse('<head><link rel="stylesheet" href="/s.css"></head>')["canonical"] is None


# -- text ----------------------------------------------------------------------------


def test_text_leaves_out_script_style_and_noscript() -> None:
    html = """<html><head><title>T</title><style>p { color: red }</style>
    <script>var secret = "hidden words";</script></head>
    <body><noscript>Please enable JavaScript</noscript>
    <p>Visible   first</p><script type="application/ld+json">{"x": "json"}</script>
    <div>visible
       second</div><style>.x{}</style></body></html>"""
    fields = parse(html)
    assert fields["text"] == "Visible first visible second"
    assert fields["word_count"] == 4


def test_words_in_adjacent_elements_are_separated() -> None:
    fields = parse("<body><p>one</p><p>two</p><span>three</span><br>four</body>")
    assert fields["text"] == "one two three four"
    assert fields["word_count"] == 4


def test_text_of_empty_page() -> None:
    fields = parse("<html><body></body></html>")
    assert fields["text"] == ""
    assert fields["word_count"] == 0


# -- links ---------------------------------------------------------------------------


def test_relative_links_are_resolved_against_the_page() -> None:
    assert links_of('<a href="other.html">1</a><a href="/root">2</a><a href="../up/">3</a>') == [
        "http://site.test/dir/other.html",
        "http://site.test/root",
        "http://site.test/up/",
    ]


def test_base_href_is_respected() -> None:
    html = (
        '<html><head><base href="https://cdn.test/base/"></head>'
        '<body><a href="rel.html">r</a><a href="/abs">a</a></body></html>'
    )
    assert parse(html)["links"] == ["https://cdn.test/base/rel.html", "https://cdn.test/abs"]


def test_relative_base_href_is_resolved_against_the_page() -> None:
    html = '<head><base href="/sub/"></head><body><a href="x.html">x</a></body>'
    assert parse(html)["links"] == ["http://site.test/sub/x.html"]


def test_fragments_removed_and_duplicates_dropped_in_page_order() -> None:
    links = links_of(
        '<a href="b.html#one">b</a><a href="a.html">a</a><a href="b.html#two">b</a>'
        '<a href="b.html">b</a><a href="#top">top</a><a href="http://site.test/dir/a.html">a</a>'
    )
    assert links == ["http://site.test/dir/b.html", "http://site.test/dir/a.html"]


def test_a_link_under_many_fragments_is_the_same_link_as_without_them() -> None:
    links = links_of(
        '<a href="a b.html#x">1</a><a href="c.html #y">2</a><a href="c.html%20#w">3</a>'
        '<a href="d.html?#z">4</a><a href="?q=1#f">5</a><a href="e.html#">6</a>'
        '<a href="e.html#a#b">7</a><a href="http://site.test:99999/#f">8</a>'
        '<a href="http://site.test:99999/#g">9</a>'
    )
    assert links == [
        "http://site.test/dir/a%20b.html",
        "http://site.test/dir/c.html",
        "http://site.test/dir/c.html%20",
        "http://site.test/dir/d.html",
        "http://site.test/dir/page.html?q=1",
        "http://site.test/dir/e.html",
    ]
    body = '<a href="http://site.test:99999/#f">8</a><a href="http://site.test:99999/#g">9</a>'
    assert parse(f"<html><body>{body}</body></html>")["links_dropped"] == 2  # each counted


def test_non_http_links_are_skipped() -> None:
    links = links_of(
        '<a href="mailto:me@site.test">m</a><a href="javascript:void(0)">j</a>'
        '<a href="JavaScript:go()">J</a><a href="tel:+441234">t</a>'
        '<a href="ftp://files.test/x">f</a><a href="data:text/plain,hi">d</a>'
        '<a href="">empty</a><a>no href</a><a href="https://ok.test/">ok</a>'
    )
    assert links == ["https://ok.test/"]


def test_area_links_are_included() -> None:
    links = links_of(
        '<a href="/first">a</a><img usemap="#m">'
        '<map name="m"><area shape="rect" coords="0,0,1,1" href="/from-area" alt="x"></map>'
    )
    assert links == ["http://site.test/first", "http://site.test/from-area"]


def test_link_tags_and_images_are_not_links() -> None:
    html = (
        '<head><link rel="stylesheet" href="/s.css"><link rel="canonical" href="/c"></head>'
        '<body><img src="/i.png"><script src="/s.js"></script><a href="/real">r</a></body>'
    )
    assert parse(html)["links"] == ["http://site.test/real"]


def test_hostile_href_is_skipped_not_raised() -> None:
    links = links_of('<a href="http://[::1/broken">bad</a><a href="/fine">fine</a>')
    assert links == ["http://site.test/fine"]


# -- broken markup -------------------------------------------------------------------


def test_broken_markup_still_yields_fields() -> None:
    html = (
        "<html><head><title>Broken page</title><body><div><p>First para <b>bold"
        "<p>second para <a href='/one'>one</a></i></span>>> &&& <<junk"
        '<table><tr><td>cell <a href=/two>two</td></div><a href="/three">three'
    )
    fields = parse(html)
    assert fields["title"] == "Broken page"
    text = fields["text"]
    assert isinstance(text, str)
    for word in ("First", "bold", "second", "cell", "three"):
        assert word in text
    assert fields["links"] == [
        "http://site.test/one",
        "http://site.test/two",
        "http://site.test/three",
    ]


def test_fragment_without_html_or_body() -> None:
    fields = parse("<title>Bare</title>just some text <a href=x>link</a>")
    assert fields["title"] == "Bare"
    assert fields["text"] == "just some text link"
    assert fields["links"] == ["http://site.test/dir/x"]


# -- encodings -----------------------------------------------------------------------


def test_windows_1252_with_meta_charset() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>Caf\u00e9 \u201cquoted\u201d</title>'
        "</head><body>na\u00efve \u20ac5 \u2013 dash</body></html>"
    )
    body = html.encode("cp1252")
    fields = parse_page(URL, body, {"content-type": "text/html"})
    assert fields["title"] == "Caf\u00e9 \u201cquoted\u201d"
    assert fields["text"] == "na\u00efve \u20ac5 \u2013 dash"


def test_shift_jis_declared_only_in_content_type_header() -> None:
    html = (
        "<html><head><title>日本語のページ</title></head><body><p>こんにちは 世界</p></body></html>"
    )
    body = html.encode("shift_jis")
    fields = parse_page(URL, body, {"content-type": "text/html; charset=Shift_JIS"})
    assert fields["title"] == "日本語のページ"
    assert fields["text"] == "こんにちは 世界"


def test_utf8_bom_wins_over_a_wrong_header() -> None:
    html = (
        "<html><head><title>Cr\u00e8me br\u00fbl\u00e9e</title></head><body>\u00fcber</body></html>"
    )
    body = b"\xef\xbb\xbf" + html.encode("utf-8")
    for headers in ({}, {"content-type": "text/html; charset=iso-8859-1"}):
        fields = parse_page(URL, body, headers)
        assert fields["title"] == "Cr\u00e8me br\u00fbl\u00e9e"
        assert fields["text"] == "\u00fcber"


def test_undeclared_utf8_is_read_as_utf8() -> None:
    body = "<html><body>gr\u00fc\u00dfe</body></html>".encode()
    assert parse_page(URL, body, {})["text"] == "gr\u00fc\u00dfe"


def test_invalid_bytes_do_not_stop_parsing() -> None:
    body = b"<html><head><title>Ok</title></head><body>good \xff\xfe bad</body></html>"
    fields = parse_page(URL, body, {"content-type": "text/html; charset=utf-8"})
    assert fields["title"] == "Ok"
    assert "good" in str(fields["text"])


# -- hash, empty body, plain types ---------------------------------------------------


def test_sha256_is_of_the_raw_body() -> None:
    body = "<html><body>\u00e9</body></html>".encode("cp1252")
    fields = parse_page(URL, body, HTML_HEADERS)
    assert fields["sha256"] == hashlib.sha256(body).hexdigest()


def test_empty_body() -> None:
    fields = parse_page(URL, b"", HTML_HEADERS)
    assert fields["title"] is None
    assert fields["description"] is None
    assert fields["lang"] is None
    assert fields["canonical"] is None
    assert fields["text"] == ""
    assert fields["word_count"] == 0
    assert fields["links"] == []
    assert fields["sha256"] == hashlib.sha256(b"").hexdigest()


def test_fields_are_plain_types_that_pickle_small() -> None:
    paragraphs = "".join(
        f'<p class="c{n}">Paragraph number {n} with <b>some</b> <i>words</i> '
        f'and <a href="/p/{n}">a link</a>.</p>'
        for n in range(300)
    )
    html = (
        '<html lang="en"><head><title>Big page</title>'
        '<meta name="description" content="About it">'
        '<link rel="canonical" href="/canon"></head>'
        f"<body>{paragraphs}</body></html>"
    )
    fields = parse(html)

    for key in ("title", "description", "lang", "canonical", "text", "sha256"):
        assert type(fields[key]) is str, key
    assert type(fields["word_count"]) is int
    links = fields["links"]
    assert type(links) is list
    assert len(links) == 300
    assert all(type(link) is str for link in links)

    text = fields["text"]
    assert isinstance(text, str)
    assert len(pickle.dumps(fields)) < 2 * len(text)


# -- links as they would be requested ------------------------------------------------


def test_links_with_invalid_ports_are_dropped_and_counted() -> None:
    hrefs = ["http://site.test:99999/", "//site.test:abc/", "http://site.test:+80/", "/fine"]
    fields = parse("".join(f'<a href="{href}">x</a>' for href in hrefs))
    assert fields["links"] == ["http://site.test/fine"]
    assert fields["links_dropped"] == 3


def test_links_are_percent_encoded_without_credentials() -> None:
    links = links_of('<a href="/a b/ü?q=ä x">1</a><a href="http://u:pw@other.test/x">2</a>')
    assert links == ["http://site.test/a%20b/%C3%BC?q=%C3%A4%20x", "http://other.test/x"]


def test_an_unusable_base_href_is_ignored() -> None:
    fields = parse('<head><base href="http://[::1"></head><body><a href="x">x</a></body>')
    assert fields["links"] == ["http://site.test/dir/x"]


def test_links_past_the_cap_are_counted_not_kept() -> None:
    anchors = "".join(f'<a href="/p{number}">x</a>' for number in range(25))
    body = f"<html><body>{anchors}</body></html>".encode()
    fields = parse_page(URL, body, HTML_HEADERS, max_links=10)
    assert fields["links"] == [f"http://site.test/p{number}" for number in range(10)]
    assert fields["links_dropped"] == 15


def test_cap_links_trims_a_custom_parse_s_links_and_counts_them() -> None:
    page = parse_page(URL, b"<a href='/a'>a</a><a href='/b'>b</a><a href='/c'>c</a>", HTML_HEADERS)
    capped = cap_links(page, 1)
    assert capped["links"] == ["http://site.test/a"]
    assert capped["links_dropped"] == 2
    assert cap_links(page, 5) is page
