"""A restore checks size, nesting and completeness while the backup streams, and refuses before
it holds the file in memory; a damaged zip is called a damaged zip (issue 15).

The bad files are made here, in tmp_path: a zip member that claims 2 GB (its header
edited), a member of zeros that unpacks to 64 MB, a nesting 100,000 deep, a zip cut short.
"""

from __future__ import annotations

import hashlib
import json
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from litreview.backup import BackupRefused, read_backup
from litreview.backup.contents import ZIP_DOCUMENT
from litreview.backup.streaming import CHUNK, MAX_DEPTH

MINIMAL = {
    "format": "litreview-backup",
    "format_version": 1,
    "review": {"title": "A review"},
    "tables": {},
    "users": [],
    "files": {},
}


def refused(path: Path) -> str:
    with pytest.raises(BackupRefused) as caught:
        read_backup(path)
    return str(caught.value)


def peak_while_refused(path: Path) -> tuple[str, int]:
    """The refusal, and the most memory Python held while reading up to it."""
    tracemalloc.start()
    try:
        message = refused(path)
        return message, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def zip_with(path: Path, document: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ZIP_DOCUMENT, document)
    return path


def test_a_member_claiming_2_gb_is_refused_before_a_byte_of_it_is_read(tmp_path):
    path = zip_with(tmp_path / "huge.zip", json.dumps(MINIMAL).encode())
    data = bytearray(path.read_bytes())
    # The central directory's "uncompressed size" (offset 24 of its entry): 2 GB.
    entry = data.rindex(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = struct.pack("<I", 2_000_000_000)
    path.write_bytes(bytes(data))
    message, peak = peak_while_refused(path)
    assert message == (
        f"{path}: its backup.json is 2.0 GB; a backup document may be at most 1.0 GB "
        "(not a backup litreview wrote?)"
    )
    assert peak < 1_000_000


def test_a_member_of_zeros_is_refused_at_its_first_chunk(tmp_path):
    path = zip_with(tmp_path / "zeros.zip", bytes(64 << 20))  # 64 MB unpacked, 64 KB packed
    assert path.stat().st_size < 1 << 20
    message, peak = peak_while_refused(path)
    assert message == (
        f"{path}: not a litreview backup: not JSON (byte 0x00) (line 1 of backup.json)"
    )
    assert peak < 4 * CHUNK  # a chunk or two, never the 64 MB


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, review_cli):
    nested = '{"format": "litreview-backup",\n "review": ' + "[" * 100_000 + "]" * 100_000 + "}"
    plain = tmp_path / "deep.json"
    plain.write_text(nested)
    assert refused(plain) == (
        f"{plain}: not a litreview backup: nested more than {MAX_DEPTH} levels deep "
        "(line 2 of the file)"
    )
    zipped = zip_with(tmp_path / "deep.zip", nested.encode())
    assert f"nested more than {MAX_DEPTH} levels deep (line 2 of backup.json)" in refused(zipped)
    result = review_cli("restore", "deep", str(plain), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [f"Error: {refused(plain)}"]


def test_a_truncated_or_corrupted_zip_is_called_a_damaged_zip(tmp_path, review_cli):
    good = tmp_path / "good.zip"
    review_cli("export", "ai-sw", "backup", "-o", str(good))
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut-{cut}.zip"
        path.write_bytes(data[:cut])
        message = refused(path)
        assert message.startswith(
            f"{path}: a damaged zip file (truncated, or not completely copied?): "
        ), message
        result = review_cli("restore", "cut", str(path), ok=False)
        assert result.stderr.strip() == f"Error: {message}"
    # A byte changed inside the compressed document: the zip's checks catch it.
    corrupted = bytearray(data)
    start = data.index(ZIP_DOCUMENT.encode()) + len(ZIP_DOCUMENT) + 40
    corrupted[start] ^= 0xFF
    path = tmp_path / "corrupted.zip"
    path.write_bytes(bytes(corrupted))
    assert refused(path).startswith(f"{path}: a damaged zip file")


def test_what_is_not_json_or_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"format": "litreview-backup",\n\n "review": {"title": "Caf\xe9"}}')
    assert refused(path) == (f"{path}: not a litreview backup: not UTF-8 text (line 3 of the file)")
    path.write_text(json.dumps(MINIMAL) + "\n{}")
    assert refused(path) == (
        f"{path}: not a litreview backup: more after its end (line 2 of the file)"
    )
    path.write_text('{"review": [}')
    assert "not JSON (a stray })" in refused(path)
    path.write_text(json.dumps(MINIMAL)[:-10])
    assert "not complete JSON (the file ends too early: truncated?)" in refused(path)


def test_strings_cut_by_the_read_boundary_still_read(tmp_path):
    """Escapes, quotes and brackets fall on both sides of the 1 MiB chunk boundary."""
    tricky = '\\"quoted\\" [not a bracket] {nor this} \\\\'
    before = json.dumps(dict(MINIMAL, review={"title": "A review", "description": "@"}))
    start = before.index("@")  # where the description's text starts in the file
    for offset in range(-6, 2):
        description = "x" * (CHUNK + offset - start) + tricky
        assert json.dumps(description)[1:].index("\\") == CHUNK + offset - start
        document = dict(MINIMAL, review={"title": "A review", "description": description})
        text = json.dumps(document)
        plain = tmp_path / f"long{offset}.json"
        plain.write_text(text)
        assert read_backup(plain).document["review"]["description"] == description
        zipped = zip_with(tmp_path / f"long{offset}.zip", text.encode())
        assert read_backup(zipped).document["review"]["description"] == description


def test_a_damaged_attachment_in_a_zip_is_a_damaged_zip(tmp_path):
    content = b"%PDF-1.4 a full text " * 5000
    sha = hashlib.sha256(content).hexdigest()
    document = dict(MINIMAL, files={sha: f"{sha}.pdf"})
    path = tmp_path / "with-file.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ZIP_DOCUMENT, json.dumps(document))
        archive.writestr(f"files/{sha}.pdf", content)
    assert read_backup(path).files  # as written, it reads
    data = bytearray(path.read_bytes())
    member = data.index(f"files/{sha}.pdf".encode()) + len(f"files/{sha}.pdf") + 20
    data[member] ^= 0xFF  # a byte of the compressed attachment
    path.write_bytes(bytes(data))
    assert refused(path).startswith(f"{path}: a damaged zip file")
