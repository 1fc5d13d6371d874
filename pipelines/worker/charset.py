"""Turn an HTML body's bytes into text the way a browser would, and better when labels lie.

Pure and CPU-only (runs in the worker processes); it never raises on bad bytes.
"""

from __future__ import annotations

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

DETECTION_SAMPLE_BYTES = 65536
LAST_RESORT = "cp1252"

NEAR_TIE_CHAOS = 0.02
"""How much messier than the detector's pick windows-1252 may look and still be preferred."""

MAX_ERROR_RATIO = 0.005
"""A declared charset whose decoding replaces more than this share of characters is a lie."""

# WHATWG: a bare "utf-16" label means little-endian; Python's codec would guess per BOM.
BARE_UNICODE_LABELS = {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML body to text, choosing the encoding as a browser would.

    In order: a byte order mark; the ``charset`` of ``content_type``; a ``<meta>``
    declaration in the first 4 KB; strictly valid UTF-8; detection by charset_normalizer;
    then windows-1252. A declared charset that the bytes contradict (too many undecodable
    sequences, e.g. EUC-KR served as ``charset=utf-8``) is skipped. WHATWG label rules
    apply: ``iso-8859-1``, ``latin1`` and ``ascii`` mean windows-1252; unknown labels are
    ignored.

    Args:
        body: the raw (already Content-Encoding-decoded) body.
        content_type: the ``Content-Type`` header value, if any.

    Returns:
        The text (undecodable bytes become U+FFFD) and the Python codec name used.
    """
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return to_unicode(body[len(bom) :], bom_encoding), str(bom_encoding)
    declared = [
        _label(http_content_type_encoding(content_type)),
        _meta_label(html_body_declared_encoding(body)),
    ]
    for encoding in declared:
        if encoding is not None and (text := _decode_if_plausible(body, encoding)) is not None:
            return text, encoding
    # Valid UTF-8 with non-ASCII bytes is almost never legacy text, and most of the web is
    # UTF-8: settle it before the (slower, guessing) detector.
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in (_detect(body), "utf-8"):
        if encoding is not None and (text := _decode_if_plausible(body, encoding)) is not None:
            return text, encoding
    return to_unicode(body, LAST_RESORT), LAST_RESORT


def _label(encoding: str | None) -> str | None:
    """A codec name from w3lib (already WHATWG-mapped), with bare UTF-16/32 made explicit."""
    if encoding is None:
        return None
    return BARE_UNICODE_LABELS.get(encoding, encoding)


def _meta_label(encoding: str | None) -> str | None:
    # WHATWG: bytes that spell an ASCII <meta> cannot be UTF-16/32, so such a meta means UTF-8.
    if encoding is not None and encoding.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return _label(encoding)


def _detect(body: bytes) -> str | None:
    sample = body[:DETECTION_SAMPLE_BYTES]
    if len(body) > len(sample):
        # Cut at a newline so no multi-byte character is split, which would rule out the
        # right encoding.
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    # here, not above: most pages declare their charset or are UTF-8, and the detector's
    # import (every codec module) costs a worker some 3 MB that would go unused
    import charset_normalizer  # noqa: PLC0415

    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    # On a short Western page the detector often ranks a Baltic or Central European code
    # page first by a hair; windows-1252 is far more common, so a near tie goes to it.
    for match in matches:
        near_tie = match.chaos <= best.chaos + NEAR_TIE_CHAOS
        if near_tie and LAST_RESORT in match.could_be_from_charset:
            return LAST_RESORT
    return _label(resolve_encoding(best.encoding))


def _decode_if_plausible(body: bytes, encoding: str) -> str | None:
    """``body`` decoded with ``encoding``, or None if too much of it does not decode."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return None
    text = to_unicode(body, encoding)
    return text if text.count("\ufffd") <= len(text) * MAX_ERROR_RATIO else None
