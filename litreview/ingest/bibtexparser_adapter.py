"""bibtexparser 1.4 behind two calls: the fields of one entry, and one ``@string``.

This is the only module that knows bibtexparser; moving to bibtexparser 2.x
touches only it.
"""

from __future__ import annotations

from bibtexparser.bibdatabase import BibDatabase, BibDataString, UndefinedString, as_text
from bibtexparser.bparser import BibTexParser

from litreview.ingest.normalize import clean


class _Macro(BibDataString):
    """A macro reference that falls back to its own name when it is undefined."""

    def __init__(self, database: BibDatabase, name: str) -> None:
        super().__init__(database, name)
        self.original = name

    def get_value(self) -> str:
        try:
            return super().get_value()
        except UndefinedString:
            # Decision: keep the entry, with the macro's name as its text.
            return self.original


class EntryParser:
    """bibtexparser 1.4 behind two calls: the fields of one entry, and one @string.

    Parsing entry by entry through the parser's own entry and @string grammar
    gives each bad entry its own exception, and keeps the @string macros (and
    the month macros) across entries. This and :class:`_Macro` are the only
    code that knows bibtexparser.
    """

    def __init__(self) -> None:
        parser = BibTexParser(
            ignore_nonstandard_types=False,
            common_strings=True,
            homogenize_fields=False,
            interpolate_strings=True,
        )
        parser.expect_multiple_parse = True
        database = parser.bib_database
        grammar = parser._expr  # bibtexparser 1.4's pyparsing grammar
        grammar.set_string_name_parse_action(lambda s, loc, t: _Macro(database, t[0]))
        # Redefining a macro is legitimate: no log warning for it.
        parser._add_string = lambda name, value: database.strings.__setitem__(name, as_text(value))
        self._entries = database.entries
        self._entry = grammar.entry
        self._string = grammar.string_def
        self._error = grammar.ParseException

    def parse_fields(self, body: str) -> dict[str, str]:
        """Fields of one entry from the text after its key: ``a = {x}, b = y``.

        Raises ValueError with a readable reason when the entry is malformed.
        """
        self._entries.clear()
        prefix = "@x{k,"
        try:
            self._entry.parse_string(prefix + body + "}", parse_all=True)
        except self._error as exc:
            raise BibSyntaxError(body, exc.loc - len(prefix)) from None
        if len(self._entries) != 1:
            raise BibSyntaxError(body, 0)
        fields = self._entries.pop()
        del fields["ENTRYTYPE"], fields["ID"]
        return fields

    def add_string(self, text: str) -> None:
        """Define the macro of one ``@string{name = value}`` block."""
        try:
            self._string.parse_string(text, parse_all=True)
        except self._error as exc:
            raise BibSyntaxError(text, exc.loc) from None


class BibSyntaxError(ValueError):
    """Where in a text the parser gave up, and a few characters from there."""

    def __init__(self, text: str, offset: int) -> None:
        self.offset = max(0, min(offset, len(text)))
        near = clean(text[self.offset : self.offset + 40])
        super().__init__(f"syntax error near {near!r}" if near else "syntax error at the end")
