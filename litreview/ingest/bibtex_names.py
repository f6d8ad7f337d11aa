"""BibTeX names as authors: "First von Last", "von Last, First", "von Last, Jr, First".

A von part and a Jr stay with the family name ("van der Berg", "Knuth Jr."); a
name in braces is a corporate author (family only).
"""

from __future__ import annotations

import re
from functools import lru_cache

from litreview.ingest.latex_text import display_text
from litreview.ingest.record_data import Author

_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMMA = re.compile(r",")
_BLANKS = re.compile(r"[\s~]+")
_SUFFIXES = frozenset({"jr", "sr", "2nd", "3rd", "ii", "iii", "iv"})


def _split_top(text: str, separator: re.Pattern[str]) -> list[str]:
    """``text`` split at the ``separator`` matches that are outside braces."""
    if "{" not in text:
        return separator.split(text)
    pieces = []
    last = scanned = depth = 0
    for match in separator.finditer(text):
        depth += text.count("{", scanned, match.start()) - text.count("}", scanned, match.start())
        scanned = match.start()
        if depth <= 0:
            pieces.append(text[last : match.start()])
            last = match.end()
    pieces.append(text[last:])
    return pieces


def parse_names(value: str | None) -> list[Author]:
    """BibTeX names, ``and``-separated (any case), as authors; ``others`` dropped."""
    if not value:
        return []
    authors = []
    for name in _split_top(value.strip(), _AND):
        author = _name(name)
        if author is not None:
            authors.append(author)
    return authors


@lru_cache(maxsize=4096)
def _name(name: str) -> Author | None:
    """One BibTeX name: "First von Last", "von Last, First" or "von Last, Jr, First".

    The von part stays with the family name, as does Jr. A name in braces (a
    corporate author) is a family name without given name.
    """
    name = name.strip().strip(",").strip()
    if not name or name.lower() == "others":
        return None
    parts = [part.strip() for part in _split_top(name, _COMMA)]
    if len(parts) == 1:
        tokens = [token for token in _split_top(parts[0], _BLANKS) if token]
        if not tokens:
            return None
        # Family: from the first lower-case (von) word, else the last word.
        von = [i for i, token in enumerate(tokens[:-1]) if _is_lower(token)]
        cut = von[0] if von else len(tokens) - 1
        family, given = " ".join(tokens[cut:]), " ".join(tokens[:cut])
    elif len(parts) == 2:
        family, given = parts
    else:
        # "von Last, Jr, First"; also the common slip "Last, First, Jr".
        family, jr, given = parts[0], parts[1], ", ".join(parts[2:])
        if _is_suffix(given) and not _is_suffix(jr):
            jr, given = given, jr
        family = f"{family} {jr}" if jr else family
    family_text, given_text = display_text(family), display_text(given)
    if not family_text:
        if not given_text:
            return None
        family_text, given_text = given_text, None
    return Author(family=family_text, given=given_text)


def _is_suffix(text: str) -> bool:
    return text.lower().rstrip(".") in _SUFFIXES


def _is_lower(token: str) -> bool:
    """BibTeX's test for a von word: its first letter is lower case; a braced word has none."""
    if token.startswith("{") and not token.startswith("{\\"):
        return False
    if token.startswith(("\\", "{\\")):
        token = display_text(token) or ""
    for char in token:
        if char.isalpha():
            return char.islower()
        if char == "{":
            return False
    return False
