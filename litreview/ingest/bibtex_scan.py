"""Cutting a BibTeX stream into entries: ``@type{...}`` blocks as text, one at a time.

An entry starts at ``@type{`` or ``@type(`` at the start of a line (leading
whitespace allowed) and ends at its balancing delimiter, so memory holds one
entry at a time and an unbalanced entry costs only itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_MAX_ENTRY_CHARS = 10_000_000  # an entry larger than this is an unclosed one

_START = re.compile(r"[ \t\f\v]*@[ \t]*([A-Za-z][\w:.+-]*)[ \t]*([{(])")
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")
_BRACE_SCAN = re.compile(r"[{}]")
_PAREN_SCAN = re.compile(r'[{}()"]')


@dataclass(slots=True)
class Chunk:
    """One ``@type{...}`` block as it stood in the file."""

    kind: str  # lower-cased entry type
    line: int
    text: str
    problem: str = ""  # set when the block is not a complete entry


@dataclass(slots=True)
class ScanState:
    """What the scanner saw besides entries, to tell a non-BibTeX file."""

    heads: int = 0  # @type{ heads met, @comment and @preamble included
    other_text: bool = False  # non-blank text outside entries that is not a % comment


def _lines(stream: Iterable[str]) -> Iterator[str]:
    """The stream's lines; old-Mac lone CR line ends are split too."""
    first = True
    for line in stream:
        if first:
            line = line.lstrip("\ufeff")
            first = False
        if "\r" in line and _LONE_CR.search(line):
            yield from (part for part in _LONE_CR.split(line) if part)
        else:
            yield line


def chunks(stream: Iterable[str], state: ScanState) -> Iterator[Chunk]:
    """The file's entries as text, one at a time, in file order."""
    kind = ""  # the open entry's type; "" between entries
    parts: list[str] = []
    size = start = depth = 0
    delim = "{"
    quoted = skipping = False
    lineno = 0
    for line in _lines(stream):
        lineno += 1
        if kind and _START.match(line):
            if not skipping:
                text = "".join(parts).rstrip()
                problem = (
                    "unbalanced braces: the entry is still open where the next one "
                    f"starts, on line {lineno}"
                )
                yield Chunk(kind, start, text, problem)
            kind, parts, skipping = "", [], False
        pos = 0
        while True:
            if not kind:
                match = _START.match(line, pos)
                if not match:
                    if not state.other_text:
                        rest = line[pos:].strip()
                        state.other_text = bool(rest) and not rest.startswith("%")
                    break
                state.heads += 1
                name = match.group(1).lower()
                if name in ("comment", "preamble"):
                    break  # ignored, as is everything up to the next entry
                kind, start, delim = name, lineno, match.group(2)
                depth, quoted, size = 0, False, 0
                parts = [line[line.index("@", pos) : match.end()]]
                pos = match.end()
            if skipping:
                break
            end = _find_end(line, pos, delim, depth, quoted)
            if isinstance(end, tuple):  # the entry goes on past this line
                depth, quoted = end
                parts.append(line[pos:] if pos else line)
                size += len(line) - pos
                if size > _MAX_ENTRY_CHARS:
                    text = "".join(parts)[:1000]
                    yield Chunk(kind, start, text, "the entry is too long: unbalanced braces?")
                    parts, skipping = [], True
                break
            parts.append(line[pos : end + 1])
            yield Chunk(kind, start, "".join(parts))
            kind, parts = "", []
            pos = end + 1  # the rest of the line: junk, or another entry
    if kind and not skipping:
        problem = "unbalanced braces: the entry is still open at the end of the file"
        yield Chunk(kind, start, "".join(parts).rstrip(), problem)


def _find_end(text: str, pos: int, delim: str, depth: int, quoted: bool) -> int | tuple[int, bool]:
    """Index of the entry's closing delimiter in ``text[pos:]``, or the state to carry on.

    ``depth`` counts braces inside the entry body. A ``(``-delimited entry ends at
    a ``)`` outside braces and outside a ``"..."`` value.
    """
    if delim == "{":
        if "}" not in text:
            return depth + text.count("{", pos), False
        for match in _BRACE_SCAN.finditer(text, pos):
            if match.group() == "{":
                depth += 1
            elif depth == 0:
                return match.start()
            else:
                depth -= 1
        return depth, False
    for match in _PAREN_SCAN.finditer(text, pos):
        char = match.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            if char == '"':
                quoted = not quoted
            elif char == ")" and not quoted:
                return match.start()
    return depth, quoted
