"""LaTeX in BibTeX values as Unicode text.

The common accents and escapes are decoded by a table here; anything else goes
to pylatexenc; then NFC.
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


@lru_cache(maxsize=4096)
def from_latex(value: str) -> str:
    """``value`` (which holds a backslash or math) as Unicode text."""
    decoded = _ACCENT.sub(_accent, value)
    if "\\" not in decoded and "$" not in decoded:
        return _plain(decoded)
    if decoded.count("$") == decoded.count("\\$"):
        unescaped = decoded.replace("\\$", "$")
        if "\\" not in unescaped:
            return _plain(unescaped)
    # pylatexenc reads character by character: give it only the words that
    # still hold LaTeX (a long abstract often has one formula).
    out = []
    hard: list[str] = []
    dollars = 0
    for word, space in _words(decoded):
        if hard or "\\" in word or "$" in word:
            hard.append(word + space)
            dollars += word.count("$") - word.count("\\$")
            if dollars % 2 == 0:  # not inside $...$: the group may end here
                out.append(pylatexenc_text("".join(hard).rstrip()) + space)
                hard, dollars = [], 0
        else:
            out.append(_plain(word) + space)
    if hard:
        out.append(pylatexenc_text("".join(hard)))
    return "".join(out)


def pylatexenc_text(value: str) -> str:
    """``value`` decoded by pylatexenc alone (what :func:`from_latex` must agree with)."""
    try:
        # A bare % starts a LaTeX comment, but in a .bib value it is meant as text.
        return _latex.latex_to_text(_BARE_PERCENT.sub(r"\\%", value))
    except Exception:  # pylatexenc is tolerant; still, a field must not cost the entry
        return _plain(value.replace("\\", ""))


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
    r"""\\(?:
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
    """What LaTeX decoding does to text without commands or math: cheaply."""
    if "{" in value or "}" in value:
        value = value.replace("{", "").replace("}", "")
    if "--" in value:
        value = value.replace("---", "\u2014").replace("--", "\u2013")
    if "~" in value:
        value = value.replace("~", "\u00a0")
    if "``" in value or "''" in value:
        value = value.replace("``", "\u201c").replace("''", "\u201d")
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
