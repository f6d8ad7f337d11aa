"""Small real PDFs written by hand (PDF 1.4 syntax), for the tests and the benchmark.

Text is set in Helvetica (a standard font every reader has), so the files stay a few
kilobytes and need no library to make. Each helper returns the bytes of a whole file.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
FONT_SIZE = 10
LEADING = 13


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _text_stream(columns: Sequence[Sequence[str]]) -> bytes:
    """Show each column's lines top-down; columns side by side across the page."""
    width = (PAGE_WIDTH - 100) // max(len(columns), 1)
    parts = [b"BT", b"/F1 %d Tf" % FONT_SIZE, b"%d TL" % LEADING]
    for i, lines in enumerate(columns):
        x = 50 + i * width
        parts.append(b"1 0 0 1 %d %d Tm" % (x, PAGE_HEIGHT - 60))
        for line in lines:
            parts.append(b"(" + _escape(line) + b") Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


def _image_stream() -> bytes:
    # Paint the page's one image over most of the page: what a scanner makes.
    return b"q 495 0 0 700 50 70 cm /Im1 Do Q"


def build_pdf(
    pages: Sequence[bytes | None],
    *,
    image: bool = False,
    encrypt: bool = False,
    compress: bool = False,
) -> bytes:
    """A PDF whose pages draw the given content streams (None: a blank page)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree's number is known
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    resources = b"/Font << /F1 %d 0 R >>" % font
    if image:
        pixels = bytes((x * 7 + y * 3) % 256 for y in range(64) for x in range(64))
        img = add(
            b"<< /Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream"
        )
        resources += b" /XObject << /Im1 %d 0 R >>" % img
    kids = []
    for content in pages:
        entries = b"/Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << %s >>" % (
            tree,
            PAGE_WIDTH,
            PAGE_HEIGHT,
            resources,
        )
        if content is not None:
            data, filters = content, b""
            if compress:
                data, filters = zlib.compress(content), b" /Filter /FlateDecode"
            stream = add(
                b"<< /Length %d%s >>\nstream\n" % (len(data), filters) + data + b"\nendstream"
            )
            entries += b" /Contents %d 0 R" % stream
        kids.append(add(b"<< " + entries + b" >>"))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    trailer_extra = b""
    if encrypt:
        # The standard security handler with a user password: without it no reader
        # can open the file (the /U check fails for the empty password).
        enc = add(
            b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 "
            b"/O <" + b"4f" * 32 + b"> /U <" + b"a5" * 32 + b"> >>"
        )
        trailer_extra = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (enc, b"01" * 16, b"01" * 16)

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R%s >>\n" % (len(objects) + 1, catalog, trailer_extra)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def text_pdf(pages: Sequence[str | Sequence[str]], *, compress: bool = False) -> bytes:
    """A PDF with one page per item: a string is one column of lines (split on newlines),
    a sequence of strings is several columns side by side."""
    streams = []
    for page in pages:
        columns = [page] if isinstance(page, str) else list(page)
        streams.append(_text_stream([c.split("\n") for c in columns]))
    return build_pdf(streams, compress=compress)


def image_only_pdf(page_count: int = 2) -> bytes:
    """A scanned-looking PDF: each page one picture, no text at all."""
    return build_pdf([_image_stream()] * page_count, image=True)


def empty_pdf(page_count: int = 1) -> bytes:
    """A PDF of blank pages."""
    return build_pdf([None] * page_count)


def encrypted_pdf() -> bytes:
    """A PDF that needs a password to open."""
    return build_pdf([_text_stream([["Secret text"]])], encrypt=True)


def corrupt_pdf() -> bytes:
    """Starts like a PDF, then stops: what a broken download leaves."""
    return text_pdf(["This file is cut short"])[:150]


def bomb_pdf(megabytes: int = 300) -> bytes:
    """One page whose content stream inflates to ``megabytes`` of spaces and text."""
    chunk = b"BT /F1 10 Tf 50 800 Td (bomb) Tj ET\n" + b" " * (1 << 20)
    compressor = zlib.compressobj(1)
    data = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    body = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return _raw_pdf_with_stream(body)


def _raw_pdf_with_stream(stream_body: bytes) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream_body,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
