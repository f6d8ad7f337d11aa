"""The fields of one BibTeX entry, and the ``@string`` macros, read by a scanner of our own.

bibtexparser 1.4 read them before, through its pyparsing grammar: 2 s of CPU per
100 KB of a field made of brace groups, through private names of the library. This
reader costs time in proportion to the text (a field is one regular-expression pass
over its braces) and keeps bibtexparser 1.4's readings, so that records read the
same as before:

* field names are lower-cased; of a field given twice, the first counts;
* a value is pieces joined by ``#``: ``{braced}`` and ``"quoted"`` text (inner
  braces kept, a quote inside braces is text), a number, or a macro name;
* a macro name is matched without case; ``jan`` ... ``dec`` are predefined; a
  macro that is not defined stands for its own name, as written (the entry is
  kept: see ``bibtex``); a macro applies from its definition on;
* in braced and quoted text, each line after the first loses its leading blanks;
  a value ``{{}}`` is empty.

Beyond what bibtexparser read (as Zotero's BibTeX translator does): a missing
comma between two fields (``title = {A}  year = 2000``) is recovered when what
follows the value is plainly the next ``name =``; a number can be a piece of a
concatenation; a field given twice in different cases counts once.
"""

from __future__ import annotations

import re

from litreview.ingest.normalize import clean

MONTHS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "may": "May",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}

_BLANKS = re.compile(r"\s*")
_SEPARATORS = re.compile(r"[\s,]*")
# A field name and its '=': anything BibTeX allows in a name, up to the '='.
_NAME_EQ = re.compile(r"""([^\s"#%',={}]+)\s*=\s*""")
_NUMBER = re.compile(r"\d+")
_MACRO = re.compile(r"""[^\s\d"#%',={}()][^\s"#%',={}()]*""")
_QUOTE_OR_BRACE = re.compile(r'[{}"]')
_STRING_HEAD = re.compile(r"@\s*string\s*[{(]\s*", re.IGNORECASE)


class BibSyntaxError(ValueError):
    """Where in a text the reader gave up, and a few characters from there."""

    def __init__(self, text: str, offset: int) -> None:
        self.offset = max(0, min(offset, len(text)))
        near = clean(text[self.offset : self.offset + 40])
        super().__init__(f"syntax error near {near!r}" if near else "syntax error at the end")


class FieldReader:
    """Reads entries' fields and keeps the ``@string`` macros defined so far."""

    def __init__(self) -> None:
        self.macros: dict[str, str] = dict(MONTHS)

    def parse_fields(self, body: str) -> dict[str, str]:
        """Fields of one entry from the text after its key: ``a = {x}, b = y``.

        Raises BibSyntaxError with the offset in ``body`` where reading stopped.
        """
        fields: dict[str, str] = {}
        end = len(body)
        pos = _SEPARATORS.match(body).end()
        while pos < end:
            name = _NAME_EQ.match(body, pos)
            if name is None:
                raise BibSyntaxError(body, pos)
            value, pos = self._value(body, name.end())
            fields.setdefault(name.group(1).lower(), value)
            pos = _BLANKS.match(body, pos).end()
            if pos < end and body[pos] == ",":
                pos = _SEPARATORS.match(body, pos).end()
            elif pos < end and _NAME_EQ.match(body, pos) is None:
                raise BibSyntaxError(body, pos)
            # else the end, or the next field after a missing comma: read on
        return fields

    def add_string(self, text: str) -> str:
        """Define the macro of one ``@string{name = value}`` block; returns its name.

        Raises BibSyntaxError with the offset in ``text``.
        """
        head = _STRING_HEAD.match(text)
        if head is None:
            raise BibSyntaxError(text, 0)
        inner = text[:-1]  # without the closing delimiter (the scanner ends the block there)
        name = _MACRO.match(inner, head.end())
        if name is None:
            raise BibSyntaxError(text, head.end())
        equals = _BLANKS.match(inner, name.end()).end()
        if inner[equals : equals + 1] != "=":
            raise BibSyntaxError(text, equals)
        value, pos = self._value(inner, _BLANKS.match(inner, equals + 1).end())
        pos = _BLANKS.match(inner, pos).end()
        if pos < len(inner):
            raise BibSyntaxError(text, pos)
        self.macros[name.group().lower()] = value
        return name.group()

    def _value(self, text: str, pos: int) -> tuple[str, int]:
        """The value starting at ``pos``, its pieces joined; and where it ends."""
        parts: list[str] = []
        end = len(text)
        while True:
            char = text[pos : pos + 1]
            if char == "{":
                close = _closing_brace(text, pos)
                parts.append(_strip_lines(text[pos + 1 : close]))
                pos = close + 1
            elif char == '"':
                close = _closing_quote(text, pos)
                parts.append(_strip_lines(text[pos + 1 : close]))
                pos = close + 1
            elif char.isdigit():
                number = _NUMBER.match(text, pos)
                assert number is not None
                parts.append(number.group())
                pos = number.end()
            else:
                macro = _MACRO.match(text, pos)
                if macro is None:
                    raise BibSyntaxError(text, pos)
                name = macro.group()
                parts.append(self.macros.get(name.lower(), name))
                pos = macro.end()
            after = _BLANKS.match(text, pos).end()
            if after < end and text[after] == "#":
                pos = _BLANKS.match(text, after + 1).end()
                continue
            value = parts[0] if len(parts) == 1 else "".join(parts)
            return ("" if value == "{}" else value), pos


def _closing_brace(text: str, start: int) -> int:
    """Index of the brace that closes the one at ``start``.

    One ``find`` per closing brace: between two closing braces there are only
    opening ones, so the depth is known at each.
    """
    depth, pos = 1, start + 1
    while True:
        close = text.find("}", pos)
        if close < 0:
            raise BibSyntaxError(text, start)
        depth += text.count("{", pos, close) - 1
        if depth == 0:
            return close
        pos = close + 1


def _closing_quote(text: str, start: int) -> int:
    """Index of the quote that closes the one at ``start``: the next one outside braces."""
    depth = 0
    for match in _QUOTE_OR_BRACE.finditer(text, start + 1):
        char = match.group()
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                break  # a brace the value did not open: not a value
            depth -= 1
        elif depth == 0:
            return match.start()
    raise BibSyntaxError(text, start)


def _strip_lines(text: str) -> str:
    """Each line after the first without its leading blanks (as bibtexparser 1.4 did)."""
    if "\n" not in text and "\r" not in text:
        return text
    lines = text.splitlines()
    return "\n".join([lines[0], *(line.lstrip() for line in lines[1:])]) if lines else ""
