"""Small normalisers shared by the readers and by deduplication."""

from __future__ import annotations

import re
import unicodedata

from litreview.ingest.record_data import Author

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"10\.\d{4,9}/\S+")
_NON_WORD = re.compile(r"[^\w]+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")


def clean(value: str | None) -> str | None:
    """Collapse runs of whitespace; empty becomes None."""
    if value is None:
        return None
    return " ".join(value.split()) or None


def normalize_doi(value: str | None) -> str | None:
    """A DOI as ``10.xxxx/yyy`` in lower case, without URL or ``doi:`` prefix.

    DOIs are case-insensitive by definition, so lower case is safe for matching
    and for storage. Returns None when nothing DOI-shaped is there.
    """
    if not value:
        return None
    value = value.strip()
    if not value.startswith("10."):  # a bare DOI, the usual value, has no prefix to remove
        value = _DOI_PREFIX.sub("", value)
    match = _DOI_SHAPE.search(value)
    if not match:
        return None
    return match.group(0).rstrip(".,;").lower()


def parse_year(value: str | int | None) -> int | None:
    """The first plausible four-digit year in a date string ('2021/05/03', 'Spring 2021')."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1500 <= value <= 2100 else None
    match = _YEAR.search(value)
    return int(match.group(1)) if match else None


def split_name(name: str) -> Author | None:
    """An author from 'Family, Given' or 'Given Family' (RIS, MEDLINE FAU, WoS AF).

    A name with no comma and a single word is kept as a family name only,
    which is also how corporate authors come out.
    """
    name = clean(name) or ""
    name = name.strip(" ,;")
    if not name:
        return None
    if "," in name:
        family, _, given = name.partition(",")
        # "Family, Jr., Given": keep the suffix with the family name.
        given = given.strip()
        if given.lower().rstrip(".") in {"jr", "sr", "ii", "iii", "iv"} or "," in given:
            suffix, _, rest = given.partition(",")
            if suffix.lower().rstrip(".") in {"jr", "sr", "ii", "iii", "iv"}:
                family, given = f"{family.strip()} {suffix.strip()}", rest.strip()
        return Author(family=family.strip(), given=given or None)
    parts = name.split(" ")
    if len(parts) == 1:
        return Author(family=name)
    return Author(family=parts[-1], given=" ".join(parts[:-1]))


def fold(text: str) -> str:
    """Lower case, accents removed, only letters and digits separated by single spaces.

    Used for matching titles and names, never for display.
    """
    if not text.isascii():  # ASCII has no accents to strip: most titles skip this
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text.casefold()).replace("_", " ").strip()


def nfc(text: str | None) -> str | None:
    """Unicode NFC, so that 'ö' is one code point whichever way the file wrote it."""
    return unicodedata.normalize("NFC", text) if text else text


_NAME_SUFFIXES = {"jr", "sr", "2nd", "3rd", "ii", "iii", "iv"}


def split_initials(name: str) -> Author | None:
    """An author from 'Family Initials' (MEDLINE AU 'de Hoon MJ', WoS AU 'PARKES-LOACH PS').

    The last word is taken as the given name when it looks like initials (upper case,
    at most five letters, dots and hyphens allowed), after an optional 'Jr'/'2nd'
    suffix, which is kept with the family name as :func:`split_name` does.
    A name with a comma ('Family, Given') comes out as from :func:`split_name`, only
    quicker, since readers meet thousands of them.
    """
    if name.isascii() and name.isprintable() and "  " not in name:
        name = name.strip(" ,;")  # already as clean() would leave it
    else:
        name = (clean(name) or "").strip(" ,;")
    if not name:
        return None
    if "," in name:
        family, comma, given = name.partition(", ")
        if comma and given and "," not in given and given.lower().rstrip(".") not in _NAME_SUFFIXES:
            return Author(family=family.rstrip(), given=given)
        return split_name(name)
    parts = name.split(" ")
    suffix = None
    if len(parts) > 2 and parts[-1].lower().rstrip(".") in _NAME_SUFFIXES:
        suffix = parts.pop()
    given = None
    if len(parts) > 1:
        letters = parts[-1].replace(".", "").replace("-", "")
        if letters.isalpha() and letters.isupper() and len(letters) <= 5:
            given = parts.pop()
    family = " ".join(parts)
    if suffix:
        family = f"{family} {suffix}"
    return Author(family=family, given=given)
