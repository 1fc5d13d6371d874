"""decode_html: the text a reader would see, whatever the page's bytes and labels claim."""

from __future__ import annotations

import codecs
import random

import httpx
import pytest

from pipelines.worker.charset import decode_html
from tests.support.hostile import (
    ENCODED_PAGES,
    FRENCH_TEXT,
    JAPANESE_TEXT,
    KOREAN_TEXT,
    HostileServer,
)

SPANISH_TEXT = (
    "El ayuntamiento aprobó el miércoles un plan para ampliar el horario de las bibliotecas "
    "públicas. A partir de enero, los vecinos podrán pedir libros prestados también los "
    "domingos. «Queremos que la cultura esté al alcance de todos», afirmó la alcaldesa, que "
    "añadió que el coste se cubrirá con ahorros en la administración."
)


def html(text: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"
    )


@pytest.mark.parametrize("name", list(ENCODED_PAGES))
def test_legacy_pages_with_a_wrong_header_come_out_right(name: str) -> None:
    page = ENCODED_PAGES[name]
    text, _ = decode_html(page.body, page.content_type)
    assert text == page.text


@pytest.mark.parametrize("name", list(ENCODED_PAGES))
def test_legacy_pages_without_any_label_are_detected(name: str) -> None:
    page = ENCODED_PAGES[name]
    text, _ = decode_html(page.body, None)
    assert text == page.text


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (KOREAN_TEXT, "euc_kr", "cp949"),
        (JAPANESE_TEXT, "shift_jis", "cp932"),
        (FRENCH_TEXT, "cp1252", "cp1252"),
        (SPANISH_TEXT, "cp1252", "cp1252"),
    ],
)
def test_detection_names_the_browser_encoding(text: str, encoding: str, expected: str) -> None:
    body = html(text).encode(encoding)
    assert decode_html(body, "text/html; charset=utf-8") == (html(text), expected)


def test_utf16_without_bom_or_label_is_detected() -> None:
    page = html(JAPANESE_TEXT)
    assert decode_html(page.encode("utf-16-le"), "text/html")[0] == page


def test_meta_charset_alone_decides() -> None:
    page = html(FRENCH_TEXT, '<meta charset="windows-1252">')
    assert decode_html(page.encode("cp1252"), "text/html") == (page, "cp1252")


def test_http_equiv_alone_decides() -> None:
    head = '<meta http-equiv="Content-Type" content="text/html; charset=EUC-KR">'
    page = html(KOREAN_TEXT, head)
    assert decode_html(page.encode("euc_kr"), None) == (page, "cp949")


def test_header_wins_over_meta() -> None:
    page = html(KOREAN_TEXT, '<meta charset="shift_jis">')
    assert decode_html(page.encode("euc_kr"), "text/html; charset=euc-kr") == (page, "cp949")


def test_header_wins_over_meta_even_when_both_decode() -> None:
    page = html("Grüße aus Köln", '<meta charset="utf-8">')
    body = page.encode("cp1252")
    assert decode_html(body, "text/html; charset=ISO-8859-1") == (page, "cp1252")


def test_bom_wins_over_header() -> None:
    page = ENCODED_PAGES["utf-16"]
    assert decode_html(page.body, "text/html; charset=windows-1252") == (page.text, "utf-16-le")
    body = codecs.BOM_UTF16_BE + page.text.encode("utf-16-be")
    assert decode_html(body, "text/html; charset=utf-8") == (page.text, "utf-16-be")
    body = codecs.BOM_UTF8 + page.text.encode("utf-8")
    assert decode_html(body, "text/html; charset=shift_jis") == (page.text, "utf-8")


def test_utf32_bom_is_not_mistaken_for_utf16() -> None:
    page = html(KOREAN_TEXT)
    body = codecs.BOM_UTF32_LE + page.encode("utf-32-le")
    assert decode_html(body, None) == (page, "utf-32-le")


@pytest.mark.parametrize("label", ["iso-8859-1", "latin1", "ascii", "US-ASCII", "windows-1252"])
def test_latin1_and_ascii_labels_mean_windows_1252(label: str) -> None:
    page = html("“Curly quotes” — and a dash, 5 €")
    body = page.encode("cp1252")
    assert decode_html(body, f"text/html; charset={label}") == (page, "cp1252")


def test_unknown_label_falls_through_to_the_next_step() -> None:
    page = html(KOREAN_TEXT, '<meta charset="euc-kr">')
    assert decode_html(page.encode("euc_kr"), "text/html; charset=x-no-such") == (page, "cp949")


def test_utf7_label_is_refused() -> None:
    body = b"<p>+ADw-script+AD4-alert(1)+ADw-/script+AD4-</p>"
    text, encoding = decode_html(body, "text/html; charset=utf-7")
    assert "<script>" not in text
    assert encoding != "utf-7"


def test_a_few_bad_bytes_do_not_overturn_a_utf8_label() -> None:
    page = html("Ünïcödé text, " * 200)
    body = page.encode("utf-8").replace("ï".encode(), b"\xff", 3)
    text, encoding = decode_html(body, "text/html; charset=utf-8")
    assert encoding == "utf-8"
    assert text.count("\ufffd") == 3
    assert text.count("Ünïcödé") == 197


def test_garbage_bytes_are_replaced_not_raised() -> None:
    garbage = random.Random(7).randbytes(5000)
    for content_type in (None, "text/html; charset=utf-8", "text/html; charset=shift_jis"):
        text, encoding = decode_html(garbage, content_type)
        assert isinstance(text, str)
        assert text
        codecs.lookup(encoding)


def test_empty_body() -> None:
    assert decode_html(b"", None) == ("", "utf-8")
    assert decode_html(b"", "text/html; charset=euc-kr") == ("", "cp949")


def test_plain_ascii_and_utf8_need_no_detection() -> None:
    assert decode_html(b"<p>plain</p>", None) == ("<p>plain</p>", "utf-8")
    page = html(JAPANESE_TEXT)
    assert decode_html(page.encode(), None) == (page, "utf-8")


def test_served_pages_decode_right(hostile_pages: dict[str, tuple[bytes, str | None]]) -> None:
    for name, (body, content_type) in hostile_pages.items():
        assert decode_html(body, content_type)[0] == ENCODED_PAGES[name].text, name


@pytest.fixture
def hostile_pages() -> dict[str, tuple[bytes, str | None]]:
    pages: dict[str, tuple[bytes, str | None]] = {}
    with HostileServer() as server:
        for name in ENCODED_PAGES:
            response = httpx.get(server.url(f"/enc/{name}"))
            pages[name] = (response.content, response.headers.get("content-type"))
    return pages
