"""Small PDFs made in the tests: text in chosen font sizes, link annotations, an outline."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link

Line = tuple[float, str]
"""(font size, text) of one line of a page."""


def make_pdf(
    pages: Sequence[Sequence[Line]],
    *,
    info: dict[str, str] | None = None,
    lang: str | None = None,
) -> bytes:
    """A PDF of one page per item of ``pages``, each line set in Helvetica at its size.

    Written by hand (pypdf writes no text), with a correct cross-reference table.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree's number is known
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    page_numbers = []
    for lines in pages:
        stream = _content_stream(lines)
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        page_numbers.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (tree, content, font)
            )
        )
    kids = b" ".join(b"%d 0 R" % number for number in page_numbers)
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_numbers))
    language = b" /Lang (%s)" % lang.encode() if lang else b""
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (tree, language)
    info_number = None
    if info:
        entries = b" ".join(b"/%s (%s)" % (k.encode(), v.encode()) for k, v in info.items())
        info_number = add(b"<< %s >>" % entries)
    return _assembled(objects, catalog, info_number)


def _content_stream(lines: Sequence[Line]) -> bytes:
    commands = [b"BT"]
    y = 740.0
    for size, text in lines:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        commands.append(b"/F1 %g Tf 1 0 0 1 72 %g Tm (%s) Tj" % (size, y, escaped.encode()))
        y -= size * 1.4
    commands.append(b"ET")
    return b"\n".join(commands)


def _assembled(objects: list[bytes], catalog: int, info: int | None) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    info_entry = b" /Info %d 0 R" % info if info else b""
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, catalog, info_entry, xref)
    )
    return out.getvalue()


def with_links_and_outline(
    pdf: bytes, links: Sequence[str], outline: Sequence[tuple[str, int]] = ()
) -> bytes:
    """``pdf`` with a link annotation to each of ``links`` on its first page, and outline
    items (title, nesting depth from 0) pointing at the first page."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for number, target in enumerate(links):
        box = (72, 100 + 20 * number, 200, 115 + 20 * number)
        writer.add_annotation(page_number=0, annotation=Link(rect=box, url=target))
    parents: list[object] = []
    for title, depth in outline:
        parent = parents[depth - 1] if depth else None
        item = writer.add_outline_item(title=title, page_number=0, parent=parent)
        parents[depth:] = [item]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted(pdf: bytes, user_password: str) -> bytes:
    """``pdf`` encrypted (AES-256); an empty user password opens it without asking."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
