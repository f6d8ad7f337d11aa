"""A backup document checked as it streams, before it is read into memory.

A backup is one JSON document; reading it means holding all of it (``json.loads``).
So it is first read in chunks of 1 MiB and checked, holding nothing: its size
(``MAX_DOCUMENT_BYTES``, also checked against what a zip member declares before a
byte is read), UTF-8, JSON's shape outside strings (an object first, nothing but
JSON's own characters between values, nothing after the end), how deep arrays and
objects nest (``MAX_DEPTH``: the json module recurses, and a few thousand levels
end in a RecursionError), and whether it ends where the document does (truncated).
A file of zeros, a deep nesting or a cut-off file is refused at the first chunk
that shows it. What passes is then read once more and parsed.

The scan: outside strings, one regular expression finds each string (skipped whole,
in C), bracket and stray byte; a string cut by a chunk boundary is carried over as
a state (inside a string, after a backslash or not), never as text.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import IO

from litreview.backup.contents import BackupRefused

MAX_DOCUMENT_BYTES = 1_000_000_000  # a review of 50,000 records writes a few hundred MB
MAX_DEPTH = 64  # a backup nests 7 levels deep (document, tables, rows, JSON columns)
CHUNK = 1 << 20

_OPEN, _CLOSE = frozenset(b"{["), frozenset(b"}]")
_PAIRS = {ord("{"): ord("}"), ord("["): ord("]")}
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
# Outside strings: a whole string, a lone quote (a string the chunk cuts), a bracket,
# or a byte JSON has no use for there. Numbers, true/false/null, , and : are skipped.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|"|[\[\]{}]|[^\s,:0-9eE.+\-truefalsn\[\]{}"]', re.DOTALL)
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_SPACE = re.compile(rb"[ \t\r\n]*+")


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def refuse_if_too_large(size: int, path: Path, what: str) -> None:
    """Refuse a document whose size (on disk, or declared by its zip) is over the limit."""
    if size > MAX_DOCUMENT_BYTES:
        raise BackupRefused(
            f"{path}: {what} is {_size(size)}; a backup document may be at most "
            f"{_size(MAX_DOCUMENT_BYTES)} (not a backup litreview wrote?)"
        )


class _Scan:
    """The state of the scan between chunks."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self.size = 0
        self.line = 1  # of the chunk's first byte
        self.depth = 0
        self.open: list[int] = []  # the brackets open, innermost last
        self.started = self.ended = False
        self.in_string = self.escaped = False
        self.utf8 = codecs.getincrementaldecoder("utf-8")()

    def refuse(self, chunk: bytes, pos: int, reason: str) -> BackupRefused:
        line = self.line + chunk.count(b"\n", 0, pos)
        return BackupRefused(f"{self.path}: {reason} (line {line} of {self.what})")

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_DOCUMENT_BYTES:
            refuse_if_too_large(self.size, self.path, self.what)
        try:
            self.utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            start = max(exc.start - len(exc.object) + len(chunk), 0)
            raise self.refuse(chunk, start, "not a litreview backup: not UTF-8 text") from None
        if self.size == len(chunk) and chunk.startswith(codecs.BOM_UTF8):
            chunk = b"   " + chunk[3:]  # a byte-order mark (a hand-edited file): as space
        pos, end = 0, len(chunk)
        if self.in_string:
            pos = self._string(chunk, 0)
        while pos < end:
            if self.depth == 0:
                pos = _SPACE.match(chunk, pos).end()
                if pos == end:
                    break
                if self.ended:
                    raise self.refuse(chunk, pos, "not a litreview backup: more after its end")
                if chunk[pos] != ord("{"):
                    raise self.refuse(
                        chunk, pos, f"not a litreview backup: not JSON (byte {chunk[pos]:#04x})"
                    )
            token = _TOKEN.search(chunk, pos)
            if token is None:
                break
            first = chunk[token.start()]
            pos = token.end()
            if first == _QUOTE:
                if pos - token.start() == 1:  # a string the chunk cuts
                    pos = self._string(chunk, pos)
            elif first in _OPEN:
                self.started = True
                self.depth += 1
                self.open.append(first)
                if self.depth > MAX_DEPTH:
                    raise self.refuse(
                        chunk,
                        token.start(),
                        f"not a litreview backup: nested more than {MAX_DEPTH} levels deep",
                    )
            elif first in _CLOSE:
                if not self.open or _PAIRS[self.open.pop()] != first:
                    reason = f"not a litreview backup: not JSON (a stray {chr(first)})"
                    raise self.refuse(chunk, token.start(), reason)
                self.depth -= 1
                self.ended = self.depth == 0
            else:
                reason = f"not a litreview backup: not JSON (byte {first:#04x})"
                raise self.refuse(chunk, token.start(), reason)
        self.line += chunk.count(b"\n")

    def _string(self, chunk: bytes, pos: int) -> int:
        """Go on inside a string from ``pos``; where it closes (after the quote), or the end."""
        if self.escaped:
            pos, self.escaped = pos + 1, False
        pos = _STRING_REST.match(chunk, pos).end()
        if pos < len(chunk) and chunk[pos] == _QUOTE:
            self.in_string = False
            return pos + 1
        self.in_string = True
        self.escaped = pos < len(chunk) and chunk[pos] == _BACKSLASH  # cut after a backslash
        return len(chunk)

    def finish(self) -> None:
        try:
            self.utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise self.refuse(b"", 0, "not a litreview backup: not UTF-8 text") from None
        if not self.started:
            raise self.refuse(b"", 0, "not a litreview backup: no JSON object in it")
        if not self.ended or self.in_string:
            raise self.refuse(b"", 0, "not complete JSON (the file ends too early: truncated?)")


def check_stream(stream: IO[bytes], path: Path, what: str) -> int:
    """Read ``stream`` to its end in chunks, holding none; refuse what cannot be a backup.

    Returns the number of bytes read.
    """
    scan = _Scan(path, what)
    while chunk := stream.read(CHUNK):
        scan.feed(chunk)
    scan.finish()
    return scan.size
