"""A file in, its format and its entries out: decoding and format detection from content."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from litreview.ingest import bibtex, csljson, medline, ris, tables, wos
from litreview.ingest.record_data import Item, Reader, UnreadableFile

READERS: dict[str, Reader] = {
    "bibtex": bibtex.read,
    "ris": ris.read,
    "medline": medline.read,
    "wos": wos.read,
    "csljson": csljson.read,
    "csv": tables.read,
    "tsv": tables.read_tsv,
}

EXTENSIONS = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".ris": "ris",
    ".nbib": "medline",
    ".medline": "medline",
    ".json": "csljson",
    ".ciw": "wos",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
}
# Extensions that say "a table" even when the header names no title column, so that
# the reader can say which columns it found.
_TABLES = frozenset((".csv", ".tsv", ".tab"))

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# JabRef and others write "% Encoding: windows-1252" at the top of a .bib file.
_DECLARED = re.compile(rb"^%\s*Encoding:\s*([\w.-]+)", re.IGNORECASE | re.MULTILINE)
_RIS = re.compile(r"^\s*TY\s{0,2}-", re.IGNORECASE | re.MULTILINE)
# A RIS file whose TY line is lost still has tagged lines and an ER.
_RIS_TAG = re.compile(r"^[A-Z][A-Z0-9]  - ", re.MULTILINE)
_RIS_END = re.compile(r"^ER  -", re.MULTILINE)
_BIBTEX = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_ZIP = b"PK\x03\x04"
_HEAD_BYTES = 64 * 1024
_CHECK_CHUNK = 1 << 20


# ---------------------------------------------------------------- files that are not text
# A PDF, a Word file or an archive chosen by mistake is named as what it is, before any
# decoding: "line 2: not valid utf-8" would send the person looking for a bad character.
_NOT_TEXT = (
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Word or Excel file"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"SQLite format 3\x00", "a SQLite database"),
)


def refuse_non_text(path: Path, head: bytes) -> None:
    """UnreadableFile naming what the file is, when its first bytes say it is not text."""
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            hint = " (attach PDFs to their records instead)" if magic == b"%PDF-" else ""
            raise UnreadableFile(
                f"{path}: {what}, not a bibliography file{hint}: import the BibTeX, RIS, "
                "PubMed/MEDLINE, Web of Science or CSL-JSON export of your search"
            )


# ---------------------------------------------------------------- text


def sniff_encoding(path: Path, head: bytes) -> str:
    """The file's encoding from its BOM, its declaration, or its bytes; UTF-8 is the default.

    A declaration (``% Encoding: ...``, as JabRef writes it) counts only when the
    declared encoding reads the declaration itself as written: one found as ASCII
    bytes cannot be true of UTF-16 or UTF-32 (the file was converted and kept its
    old header), so it is set aside and the bytes decide.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    sample = head[:512]
    if len(sample) >= 4:
        # UTF-16 without a BOM: every other byte of ASCII text is zero.
        zeros_even = sample[0::2].count(0)
        zeros_odd = sample[1::2].count(0)
        half = len(sample) // 2
        if zeros_even > half * 0.6:
            return "utf-16-be"
        if zeros_odd > half * 0.6:
            return "utf-16-le"
    declared = _DECLARED.search(head[:4096])
    if declared:
        name = declared.group(1).decode("ascii", "replace")
        line = head.count(b"\n", 0, declared.start()) + 1
        try:
            encoding = codecs.lookup(name).name
        except LookupError:
            raise UnreadableFile(
                f"{path}: line {line}: declares unknown encoding {name!r}"
            ) from None
        try:
            # A text encoding (not base64, zlib...), and one the header is written in.
            header = declared.group(0)
            if header.decode(encoding) == header.decode("ascii"):
                return encoding
        except (LookupError, UnicodeError, ValueError):
            pass
    return "utf-8"


def check_decodes(path: Path, encoding: str) -> None:
    """Decode the whole file once so a bad byte is reported up front, with its line.

    The file is read in chunks; a character may be split between two of them, so
    the position of a bad byte is taken from the decoder's own error (which counts
    the bytes it held back from the chunk before).
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    line, after_cr = 1, False
    with path.open("rb") as f:
        while chunk := f.read(_CHECK_CHUNK):
            state = decoder.getstate()
            try:
                text = decoder.decode(chunk)
            except UnicodeError as exc:
                raise _undecodable(path, encoding, line, after_cr, state, exc) from None
            if text:
                line += _line_ends(text, after_cr)
                after_cr = text.endswith("\r")
        try:
            decoder.decode(b"", final=True)
        except UnicodeError:
            raise UnreadableFile(
                f"{path}: line {line}: the file ends in the middle of a {encoding} character "
                "(cut short?)"
            ) from None


def _line_ends(text: str, after_cr: bool) -> int:
    """Line ends in ``text`` as the readers count them: LF, CRLF and a lone CR."""
    ends = text.count("\n")
    if "\r" in text:  # most files have none: one scan instead of three
        ends += text.count("\r") - text.count("\r\n")
    return ends - 1 if after_cr and text.startswith("\n") else ends


def _undecodable(
    path: Path,
    encoding: str,
    line: int,
    after_cr: bool,
    state: tuple[bytes, int],
    exc: UnicodeError,
) -> UnreadableFile:
    """The one-line error for a byte ``encoding`` cannot decode, on its line."""
    what = ""
    if isinstance(exc, UnicodeDecodeError):
        data, start = exc.object, exc.start
        what = f" (byte {data[start]:#04x})" if start < len(data) else ""
        # Everything before the bad byte decodes: count its line ends, from where the
        # decoder stood before this chunk (a BOM or byte order already read).
        before = codecs.getincrementaldecoder(encoding)(errors="replace")
        before.setstate((b"", state[1]))
        line += _line_ends(before.decode(bytes(data[:start])), after_cr)
    return UnreadableFile(
        f"{path}: line {line}: not valid {encoding}{what}; "
        "save the file as UTF-8 and import it again"
    )


def detect_format(path: Path, head: str) -> str:
    """The format from the content; the extension only breaks ties."""
    # Old Mac files end lines with a bare CR; the patterns below look for line starts.
    head = head.replace("\r\n", "\n").replace("\r", "\n")
    stripped = head.lstrip("\ufeff \t\n")
    candidates = []
    if stripped[:1] in "[{" and csljson.looks_like(head):
        candidates.append("csljson")
    if wos.looks_like(head):
        candidates.append("wos")
    if medline.looks_like(head):
        candidates.append("medline")
    if _RIS.search(head) or len(_RIS_TAG.findall(head)) >= 3 and _RIS_END.search(head):
        candidates.append("ris")
    if _BIBTEX.search(head):
        candidates.append("bibtex")
    if path.suffix.lower() in _TABLES or tables.looks_like(head):
        first = stripped.split("\n", 1)[0]
        candidates.append("tsv" if tables.sniff_delimiter(first) == "\t" else "csv")
    if not candidates:
        raise UnreadableFile(
            f"{path}: not a bibliography file (no BibTeX, RIS, PubMed/MEDLINE, "
            "Web of Science or CSL-JSON entries, nor a table with a title column, found)"
        )
    by_extension = EXTENSIONS.get(path.suffix.lower())
    return by_extension if by_extension in candidates else candidates[0]


@contextmanager
def open_bibliography(path: Path, format: str | None = None) -> Iterator[tuple[str, TextIO]]:
    """Open a bibliography file as text: yields its format and a text stream."""
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD_BYTES)
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror})") from None
    if not head.strip():
        raise UnreadableFile(f"{path}: the file is empty")
    if head.startswith(_ZIP):
        raise UnreadableFile(
            f"{path}: is a zip file (an Excel .xlsx workbook?): save it as CSV (UTF-8) "
            "and import that"
        )
    refuse_non_text(path, head)
    encoding = sniff_encoding(path, head)
    check_decodes(path, encoding)
    head_text = head.decode(encoding, errors="ignore")
    if format is None:
        format = detect_format(path, head_text)
    elif format not in READERS:
        raise UnreadableFile(f"unknown format {format!r}; known: {', '.join(READERS)}")
    with open(path, encoding=encoding, newline=None) as stream:
        # utf-16 without BOM decodes a leading U+FEFF as text; readers tolerate it.
        yield format, stream


def read_file(path: Path, format: str | None = None) -> tuple[str, list[Item]]:
    """Every item of a file at once: for tests and small files, not for imports."""
    with open_bibliography(path, format) as (fmt, stream):
        return fmt, list(READERS[fmt](stream, str(path)))
