"""LaTeX in BibTeX values as Unicode text.

Most of what .bib files hold is decoded here, by regular expressions, at a cost in
proportion to the text: the common accents and escapes (a table); text-style
commands whose argument is the text (``\\textbf{x}``, ``\\emph{x}``, ``\\mathrm{x}``)
and font declarations (``{\\em x}``); every symbol command pylatexenc knows without
arguments (``\\alpha``, ``\\ldots``, ``\\textregistered``: its own table, read once);
``$...$`` math; sub- and superscripts (``latex_scripts``: ``CO$_2$`` is CO₂). What is
left (a command with arguments such as ``\\frac{a}{b}``, or one nobody knows) goes to
pylatexenc, a few words at a time, within a budget: pylatexenc takes 6-15 µs a
character, so a value gives it at most ``_BUDGET_FLOOR`` characters plus one in
``_BUDGET_SHARE`` of its length, and the rest is decoded roughly (an unknown
command dropped, its arguments kept as text, which is what pylatexenc does with
one it does not know). Then NFC.

Where we read differently from pylatexenc, on purpose: ``\\texttt{x}``,
``\\textsf{x}``, ``\\textup{x}`` keep their text (pylatexenc drops it);
``\\mathbf{x}``, ``\\mathbb{R}`` are plain letters, not mathematical alphanumeric
symbols that no search finds; scripts are Unicode where Unicode has them; ``\\-``
(a hyphenation hint) is nothing, not a soft hyphen; ``\\LaTeX`` and
``\\copyright`` are text, not nothing; a space after a symbol command stays
(``\\LaTeX and``); a lone ``$`` is a dollar sign; a doubled backslash before an
accent (``D\\\\'ecoret``, from a file escaped once too often) is the accent, not a
line break and a stray accent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from pylatexenc.latex2text import (
    LatexNodes2Text,
    MacroTextSpec,
    SpecialsTextSpec,
    get_default_latex_context_db,
)
from pylatexenc.latexwalker import get_default_latex_context_db as walker_context_db

from litreview.ingest.latex_scripts import math_scripts, text_scripts
from litreview.ingest.normalize import clean, nfc

_latex_context = get_default_latex_context_db()
_latex_context.add_context_category(
    "litreview",
    prepend=True,
    macros=[MacroTextSpec("mbox", discard=False), MacroTextSpec("url", "%s")],
    specials=[SpecialsTextSpec("&", "&")],
)
_latex = LatexNodes2Text(latex_context=_latex_context, math_mode="text")
_BARE_PERCENT = re.compile(r"(?<!\\)%")

_BUDGET_FLOOR = 300  # characters of a value pylatexenc may always read (~3 ms)
_BUDGET_SHARE = 50  # and one character in this many of the value's length
_CACHED_UP_TO = 2_000  # longer values are not kept in the cache


def from_latex(value: str) -> str:
    """``value`` (which holds a backslash or math) as Unicode text."""
    return _from_latex_cached(value) if len(value) <= _CACHED_UP_TO else _from_latex(value)


def _from_latex(value: str) -> str:
    decoded = _ACCENT.sub(_accent, value)
    if "\\text" in decoded:
        decoded = text_scripts(decoded)
    if "$" in decoded:
        decoded = _math(decoded)
    elif "\\" in decoded:
        decoded = _COMMAND.sub(_text_command, decoded)
    if "\\" not in decoded:
        return _plain(decoded)
    if "\\" not in decoded.replace("\\$", ""):
        return _plain(decoded.replace("\\$", "$"))
    return _hard(decoded, _BUDGET_FLOOR + len(value) // _BUDGET_SHARE)


_from_latex_cached = lru_cache(maxsize=4096)(_from_latex)


def _hard(decoded: str, budget: int) -> str:
    """What is left after the fast passes: pylatexenc for the words that hold LaTeX.

    pylatexenc reads character by character: it gets only the words that still
    hold LaTeX (a long abstract often has one formula), ``budget`` characters at
    most; the rest of the text then goes to :func:`_rough` in one piece.
    """
    out = []
    hard: list[str] = []
    dollars = consumed = 0
    for word, space in _words(decoded):
        if hard or "\\" in word or "$" in word:
            hard.append(word + space)
            dollars += word.count("$") - word.count("\\$")
            if dollars % 2 == 0:  # not inside $...$: the group may end here
                group = "".join(hard)
                budget -= len(group)
                if budget < 0:
                    out.append(_rough(decoded[consumed:]))
                    return "".join(out)
                out.append(pylatexenc_text(group.rstrip()) + space)
                consumed += len(group)
                hard, dollars = [], 0
        else:
            out.append(_plain(word) + space)
            consumed += len(word) + len(space)
    if hard:
        group = "".join(hard)
        out.append(pylatexenc_text(group) if budget >= len(group) else _rough(group))
    return "".join(out)


def pylatexenc_text(value: str) -> str:
    """``value`` decoded by pylatexenc alone (what :func:`from_latex` must agree with)."""
    try:
        # A bare % starts a LaTeX comment, but in a .bib value it is meant as text.
        return _latex.latex_to_text(_BARE_PERCENT.sub(r"\\%", value))
    except Exception:  # pylatexenc is tolerant; still, a field must not cost the entry
        return _rough(value)


_ROUGH = re.compile(r"\\(?:([A-Za-z]+)\*?[ \t\n]*|(.))", re.DOTALL)


def _rough(value: str) -> str:
    """LaTeX read without pylatexenc: unknown commands dropped, their arguments kept."""
    text = _ROUGH.sub(lambda m: "" if m.group(1) else m.group(2), value)
    return _plain(text.replace("$", ""))


# --------------------------------------------------------------------------
# Commands read here: text styles, font declarations, symbols

# A command whose argument is its text (pylatexenc agrees, except where noted above).
_STYLES = frozenset(
    """textbf textit emph textsc texttt textrm textsf textsl textup textnormal textmd
    mbox hbox text mathrm mathbf mathit mathsf mathtt mathnormal mathbb mathfrak boldsymbol bm
    underline uline NoCaseChange ensuremath operatorname MakeUppercase uppercase
    MakeLowercase lowercase""".split()
)
# A declaration that changes the font of what follows: nothing as text.
_DECLARATIONS = frozenset(
    """em bf it sc sl tt rm sf normalfont upshape itshape bfseries mdseries scshape
    slshape ttfamily rmfamily sffamily tiny scriptsize footnotesize small normalsize
    large Large LARGE huge Huge relax protect noindent""".split()
)
# Spacing commands and hints.
_SHORT = {",": " ", ";": " ", ":": " ", " ": " ", "!": "", "-": "", "/": "", "\\": " "}


# A symbol whose text holds one of these is left to pylatexenc: the passes after this
# one would read it again (\\textbackslash is "\\", \\textasciitilde "~").
_RETOUCHED = re.compile(r"[\\{}$~%#&_^`'-]")


def _symbol_table() -> dict[str, str]:
    """pylatexenc's commands without arguments whose text is fixed (\\alpha: α)."""
    walker = walker_context_db()
    table = {}
    for spec in _latex_context.iter_macro_specs():
        text = spec.simplify_repl
        if not isinstance(text, str) or spec.macroname in table or _RETOUCHED.search(text):
            continue
        parsing = walker.get_macro_spec(spec.macroname)
        arguments = getattr(getattr(parsing, "args_parser", None), "argspec", "")
        if not arguments:
            table[spec.macroname] = text
    return table


# Symbols pylatexenc knows nothing of, or reads as nothing.
_OWN_SYMBOLS = {
    "TeX": "TeX",
    "LaTeX": "LaTeX",
    "LaTeXe": "LaTeX2e",
    "BibTeX": "BibTeX",
    "XeTeX": "XeTeX",
    "copyright": "©",
    "S": "§",
    "P": "¶",
}
_SYMBOLS = _symbol_table() | _OWN_SYMBOLS
_COMMAND = re.compile(r"\\(?:([A-Za-z]+)(\s*)|([,;: !\-/\\]))")


def _text_command(match: re.Match[str]) -> str:
    name, space, short = match.groups()
    if short:
        return _SHORT[short]
    if name in _STYLES:
        return ""  # its argument follows, in braces that _plain removes
    if name in _DECLARATIONS:
        return ""  # TeX eats the space after it
    symbol = _SYMBOLS.get(name)
    return match.group() if symbol is None else symbol + space


def _math(text: str) -> str:
    """Math segments (between unescaped ``$``) read: commands, then scripts; ``$`` dropped.

    A segment that still holds a command pylatexenc must read keeps its ``$``.
    An odd ``$`` at the end is a dollar sign.
    """
    parts = _DOLLAR.split(text)
    if len(parts) % 2 == 0:  # an odd number of $: the last one is text
        parts[-2:] = [parts[-2] + "$" + parts[-1]]
    out = []
    for i, part in enumerate(parts):
        if "\\" in part:
            part = _COMMAND.sub(_text_command, part)
        if i % 2:
            part = math_scripts(part)
            if "\\" in part:
                part = "$" + part + "$"
        out.append(part)
    return "".join(out)


_DOLLAR = re.compile(r"(?<!\\)\$")


_WORD_SCAN = re.compile(r"[{}]|\s+")


def _words(text: str) -> Iterator[tuple[str, str]]:
    """``text`` as (word, following space) pairs, not splitting inside braces."""
    depth = start = 0
    for match in _WORD_SCAN.finditer(text):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth <= 0:
            yield text[start : match.start()], token
            start = match.end()
    yield text[start:], ""


# The LaTeX most .bib files hold: accents, a few letters, escaped specials. It
# is decoded here, the same as pylatexenc does it (tests check that) but much
# faster; whatever is left goes to pylatexenc.
_COMBINING = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "r": "\u030a",
    "c": "\u0327",
    "k": "\u0328",
    "d": "\u0323",
    "b": "\u0331",
}
_LETTERS = {
    "ss": "ß",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}
_ACCENT = re.compile(
    r"""\\\\?(?:
        (['`^"~=.])\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))
      | ([uvHrckdb])(?:\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s+([A-Za-z]))
      | (ss|aa|AA|ae|AE|oe|OE|[oOlLij])(?![A-Za-z])(?:\{\}|[ \t\n]*)
      | ([&%_\#])
    )""",
    re.VERBOSE,
)


def _accent(match: re.Match[str]) -> str:
    symbol, braced, bare, letter_accent, braced2, bare2, letter, special = match.groups()
    if special:
        return special
    if letter:
        return _LETTERS[letter]
    base = braced or bare or braced2 or bare2
    if base.startswith("\\"):
        base = base[1]  # an accent on a dotless i or j is an accent on i or j
    return base + _COMBINING[symbol or letter_accent]


def _plain(value: str) -> str:
    """What LaTeX decoding does to text without commands or math: cheaply.

    Braces go last: a brace breaks a ligature (``-{}-`` and ``\\mbox{-}-`` are two
    hyphens, as the BibTeX export writes them), as in TeX.
    """
    if "--" in value:
        value = value.replace("---", "\u2014").replace("--", "\u2013")
    if "~" in value:
        value = value.replace("~", "\u00a0")
    if "``" in value or "''" in value:
        value = value.replace("``", "\u201c").replace("''", "\u201d")
    if "{" in value or "}" in value:
        value = value.replace("{", "").replace("}", "")
    return value


def display_text(value: str | None) -> str | None:
    """A field as display text: LaTeX decoded (only if it needs it), NFC, spaces collapsed."""
    if not value:
        return None
    if "\\" in value or value.count("$") > 1:
        value = from_latex(value)
    else:
        value = _plain(value)
    return clean(nfc(value))


_ESCAPED = re.compile(r"\\([_%&#$~])")
_URL_MACRO = re.compile(r"\\url\s*\{([^{}]*)\}")


def verbatim(value: str | None) -> str | None:
    """A URL or identifier: a url macro, TeX escapes and braces removed, nothing decoded."""
    if not value:
        return None
    match = _URL_MACRO.search(value)
    if match:
        value = match.group(1)
    if "\\" in value:
        value = _ESCAPED.sub(r"\1", value)
    return clean(value.replace("{", "").replace("}", ""))
