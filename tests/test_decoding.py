"""Every way a file's bytes can fail to decode ends in one line that names the line (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from litreview.ingest.decoding import read_file
from litreview.ingest.record_data import UnreadableFile

FIXTURES = Path(__file__).parent / "data" / "fixtures"
ENTRY = "@article{a, title = {Caf\u00e9 culture}, year = 2020}\n"


def unreadable(path: Path) -> str:
    with pytest.raises(UnreadableFile) as caught:
        read_file(path)
    return str(caught.value)


def test_a_utf16_declaration_on_a_file_that_is_not_utf16_is_set_aside(tmp_path):
    path = tmp_path / "converted.bib"  # JabRef's header kept after the file became UTF-8
    path.write_bytes(("% Encoding: utf-16\n\n" + ENTRY).encode("utf-8"))
    fmt, [record] = read_file(path)
    assert (fmt, record.title, record.line) == ("bibtex", "Café culture", 3)


def test_utf16_without_a_bom_is_read_with_or_without_its_declaration(tmp_path):
    for name, text in (("declared.bib", "% Encoding: utf-16\n\n" + ENTRY), ("bare.bib", ENTRY)):
        path = tmp_path / name
        path.write_bytes(text.encode("utf-16-le"))
        _, [record] = read_file(path)
        assert record.title == "Café culture"
    # JabRef's own UTF-16 file, with its BOM and header, still reads.
    _, [record] = read_file(FIXTURES / "jabref_encoding-utf-16BE-with-header.bib")
    assert record.title == "Ü ist ein Umlaut"


def test_a_declared_encoding_that_does_not_exist_names_its_line(tmp_path):
    path = tmp_path / "odd.bib"
    path.write_bytes(b"% written by a tool\n% Encoding: klingon-8\n" + ENTRY.encode())
    assert unreadable(path) == f"{path}: line 2: declares unknown encoding 'klingon-8'"
    path.write_bytes(b"% Encoding: base64\n" + ENTRY.encode())  # not a text encoding
    assert read_file(path)[1][0].title == "Café culture"


def test_a_bad_byte_after_a_character_split_by_the_read_boundary_names_its_line(tmp_path):
    """The check reads 1 MiB at a time; 'é' straddles the boundary, a bad byte follows it."""
    line = b"% " + b"a" * 70 + b"\n"  # 73 bytes
    body = (line * 15_000)[: (1 << 20) - 1]  # 14,364 lines and 3 bytes of the next
    path = tmp_path / "big.bib"
    path.write_bytes(body + "é".encode() + b"\xff\n" + ENTRY.encode())
    assert unreadable(path) == (
        f"{path}: line 14365: not valid utf-8 (byte 0xff); "
        "save the file as UTF-8 and import it again"
    )


@pytest.mark.parametrize(("newline", "name"), [("\n", "lf"), ("\r\n", "crlf"), ("\r", "cr")])
def test_the_line_counts_every_kind_of_line_end(tmp_path, newline, name):
    path = tmp_path / f"{name}.bib"
    text = newline.join(["% one", "% two", ENTRY.strip(), "% four"]) + newline
    path.write_bytes(text.encode("utf-8") + b"% five \xe9" + newline.encode())
    assert ": line 5: not valid utf-8 (byte 0xe9)" in unreadable(path)


def test_a_file_cut_in_the_middle_of_a_character_names_its_last_line(tmp_path):
    path = tmp_path / "cut.bib"
    path.write_bytes((ENTRY + "% caf").encode() + "é".encode()[:1])
    assert unreadable(path) == (
        f"{path}: line 2: the file ends in the middle of a utf-8 character (cut short?)"
    )
    utf16 = tmp_path / "cut16.bib"
    utf16.write_bytes(ENTRY.encode("utf-16") + b"\x00")  # an odd number of bytes
    assert "line 2: the file ends in the middle of a utf-16 character" in unreadable(utf16)


def test_an_encoding_failure_on_import_is_one_line_not_unexpected(review_cli, tmp_path):
    body = (b"% " + b"a" * 70 + b"\n") * 14_364 + b"% a"
    path = tmp_path / "big.bib"
    path.write_bytes(body + "é".encode() + b"\xff\n" + ENTRY.encode())
    result = review_cli("import", "ai-sw", str(path), ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {path}: line 14365: not valid utf-8 (byte 0xff); "
        "save the file as UTF-8 and import it again"
    )
