"""Two records side by side, field by field, for a person judging whether they are the
same work: which fields really differ, which say the same thing written differently,
and which one record has and the other lacks.

The title is compared as duplicate detection compares it (:func:`~litreview.ingest.dedup
.title_key`: case, accents, punctuation and "&"/"and" aside), so the similarity figure
shown with a pair and the title's mark agree: titles 100% alike are never marked as
differing, and titles less alike always are. Other fields are compared in the form that
carries their meaning: a DOI without its URL prefix, pages with any dash ("12-34" and
"12–34"; "349-69" is 349-369), an author's given names by their initials ("John" and
"J."), a venue against its abbreviation ("J. Soc. Work" for "Journal of Social Work").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litreview.ingest.dedup import title_key
from litreview.ingest.normalize import fold, normalize_doi
from litreview.models import Record

SAME, ALIKE, MISSING, DIFFERS = "same", "alike", "missing", "differs"
FIELDS = (
    ("Title", "title"),
    ("Authors", "authors"),
    ("Year", "year"),
    ("Venue", "venue"),
    ("Volume", "volume"),
    ("Issue", "issue"),
    ("Pages", "pages"),
    ("DOI", "doi"),
    ("PMID", "pmid"),
    ("Type", "type"),
    ("Abstract", "abstract"),
)
_DASHES = re.compile(r"\s*[-\u2010-\u2015]+\s*")
_VENUE_STOP_WORDS = {"of", "the", "and", "for", "in", "on", "a", "an"}


@dataclass(frozen=True)
class FieldComparison:
    """One field of two records: how each shows it, and how they compare (``state``:
    same, alike (the same thing written differently), missing (on one side only), or
    differs)."""

    label: str
    name: str
    left: str
    right: str
    state: str

    @property
    def differs(self) -> bool:
        return self.state == DIFFERS


def percent_alike(score: float) -> str:
    """A pair's title similarity as a whole percentage, rounded down: "100%" only for
    titles that are the same once folded, as the title's mark says."""
    return f"{math.floor(score * 100 + 1e-9)}%"


def authors_text(authors: list[dict[str, Any]] | None) -> str:
    """Authors as "Family, Given; Family, Given"."""
    return "; ".join(
        f"{a.get('family')}, {a['given']}" if a.get("given") else str(a.get("family") or "")
        for a in authors or ()
    )


def compare(a: Record, b: Record) -> list[FieldComparison]:
    """The fields either record has, in order, each with how the two compare."""
    found = []
    for label, name in FIELDS:
        left_value, right_value = getattr(a, name), getattr(b, name)
        if name == "authors":
            left, right = authors_text(left_value), authors_text(right_value)
        else:
            left = "" if left_value is None else str(left_value)
            right = "" if right_value is None else str(right_value)
        if not (left or right):
            continue
        found.append(
            FieldComparison(
                label, name, left, right, _state(name, left_value, right_value, left, right)
            )
        )
    return found


def _state(name: str, left_value: Any, right_value: Any, left: str, right: str) -> str:
    if not (left and right):
        return MISSING
    if " ".join(left.split()) == " ".join(right.split()):
        return SAME
    alike = _ALIKE.get(name, _folded_equal)
    return ALIKE if alike(left_value, right_value) else DIFFERS


def _folded_equal(a: Any, b: Any) -> bool:
    return fold(str(a)) == fold(str(b))


def _titles_alike(a: str, b: str) -> bool:
    return title_key(a) == title_key(b)


def _dois_alike(a: str, b: str) -> bool:
    return (normalize_doi(a) or a.strip().lower()) == (normalize_doi(b) or b.strip().lower())


def _page_range(pages: str) -> tuple[str, ...]:
    parts = [p for p in _DASHES.split(pages.strip()) if p]
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        first, last = parts
        if len(last) < len(first):  # "349-69": the last page written short
            last = first[: len(first) - len(last)] + last
        return (first, last) if first != last else (first,)
    return tuple(fold(p) for p in parts)


def _pages_alike(a: str, b: str) -> bool:
    return _page_range(a) == _page_range(b)


def _initials(given: str | None) -> list[str]:
    return [part[0] for part in fold(given or "").replace("-", " ").split()]


def _given_alike(a: str | None, b: str | None) -> bool:
    """ "John" and "J.", "Anna M." and "A. M.": the initials of the shorter agree."""
    x, y = _initials(a), _initials(b)
    if not x or not y:
        return True  # one gave no given name: nothing contradicts
    n = min(len(x), len(y))
    return x[:n] == y[:n]


def _authors_alike(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    if len(a) != len(b):
        return False
    return all(
        fold(x.get("family") or "") == fold(y.get("family") or "")
        and _given_alike(x.get("given"), y.get("given"))
        for x, y in zip(a, b, strict=True)
    )


def _venue_words(venue: str) -> list[str]:
    return [w for w in fold(venue.replace(".", " ")).split() if w not in _VENUE_STOP_WORDS]


def _venues_alike(a: str, b: str) -> bool:
    """The same venue, or one an abbreviation of the other word by word."""
    x, y = _venue_words(a), _venue_words(b)
    if x == y:
        return True
    if len(x) != len(y) or not x:
        return False
    return all(p.startswith(q) or q.startswith(p) for p, q in zip(x, y, strict=True))


_ALIKE: dict[str, Callable[[Any, Any], bool]] = {
    "title": _titles_alike,
    "authors": _authors_alike,
    "venue": _venues_alike,
    "pages": _pages_alike,
    "doi": _dois_alike,
    "year": lambda a, b: a == b,
    "type": lambda a, b: a == b,
}
