"""Duplicate detection with no database: certain matches by key, probable ones by fuzzy title.

Certain (merged at import): the same DOI, the same PMID, or the same folded title
with the same year and the same first author's family name. Probable (listed for a
person): titles alike by Indel similarity with the same or an adjacent year.
Probable pairs are found by sorted neighbourhoods (titles sorted forwards and
backwards, each compared with its next few neighbours), so 50,000 records cost
about a million comparisons instead of a billion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from litreview.ingest.normalize import fold

PROBABLE_THRESHOLD = 0.88
WINDOW = 12
_AMPERSAND = re.compile(r"\s*&\s*")


def title_key(title: str | None) -> str | None:
    """The title folded for matching: case, accents, punctuation and '&'/'and' ignored."""
    if not title:
        return None
    return fold(_AMPERSAND.sub(" and ", title)) or None


def match_key(title: str | None, year: int | None, first_family: str | None) -> str | None:
    """Folded title + year + first author's family name, or None when one is missing."""
    key = title_key(title)
    if not key or year is None or not first_family:
        return None
    return f"{key}|{year}|{fold(first_family)}"


# What a match key is made of: a record gets a new key when one of them changes.
KEY_FIELDS = frozenset(("title", "year", "authors"))


def record_match_key(title: str | None, year: int | None, authors: list[dict]) -> str | None:
    """:func:`match_key` of a record as stored (authors as ``{"family", "given"}`` dicts)."""
    return match_key(title, year, authors[0]["family"] if authors else None)


@dataclass(frozen=True, slots=True)
class Match:
    record_id: int
    rule: str  # "doi", "pmid" or "title_year_author"


class CertainIndex:
    """Finds a record that is certainly the same as a new one, by DOI, PMID or match key."""

    def __init__(self) -> None:
        self._doi: dict[str, int] = {}
        self._pmid: dict[str, int] = {}
        self._key: dict[str, tuple[int, str | None]] = {}

    def add(self, record_id: int, doi: str | None, pmid: str | None, key: str | None) -> None:
        if doi:
            self._doi.setdefault(doi, record_id)
        if pmid:
            self._pmid.setdefault(pmid, record_id)
        if key:
            self._key.setdefault(key, (record_id, doi))

    def find(self, doi: str | None, pmid: str | None, key: str | None) -> Match | None:
        if doi and doi in self._doi:
            return Match(self._doi[doi], "doi")
        if pmid and pmid in self._pmid:
            return Match(self._pmid[pmid], "pmid")
        if key and key in self._key:
            found, found_doi = self._key[key]
            # Two different DOIs say two different works, however alike the titles.
            if not (doi and found_doi and doi != found_doi):
                return Match(found, "title_year_author")
        return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """What probable-duplicate detection needs of a record."""

    id: int
    title: str | None
    year: int | None
    first_family: str | None
    doi: str | None


@dataclass(frozen=True, slots=True)
class Pair:
    a: int
    b: int
    score: float
    why: str


def probable_pairs(
    candidates: Iterable[Candidate],
    keep_apart: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
    threshold: float = PROBABLE_THRESHOLD,
    window: int = WINDOW,
) -> list[Pair]:
    """Pairs of records that are probably the same work, best first; nothing is merged."""
    rows = [(title_key(c.title), c) for c in candidates]
    rows = [(key, c) for key, c in rows if key]
    seen: set[tuple[int, int]] = set()
    pairs: list[Pair] = []
    for order in (
        sorted(rows, key=lambda r: r[0]),
        sorted(rows, key=lambda r: r[0][::-1]),
    ):
        for i, (key_a, a) in enumerate(order):
            for key_b, b in order[i + 1 : i + 1 + window]:
                ids = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if ids in seen or ids in keep_apart:
                    continue
                if a.year is not None and b.year is not None and abs(a.year - b.year) > 1:
                    continue
                score = Indel.normalized_similarity(key_a, key_b, score_cutoff=threshold)
                if not score:
                    continue
                seen.add(ids)
                first, second = (a, b) if a.id < b.id else (b, a)
                pairs.append(Pair(ids[0], ids[1], round(score, 3), _why(first, second, score)))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def _why(a: Candidate, b: Candidate, score: float) -> str:
    reasons = [f"titles {score:.0%} alike"]
    if a.year == b.year:
        reasons.append(f"same year ({a.year})" if a.year else "no year on either")
    else:
        reasons.append(f"years {a.year or '?'} and {b.year or '?'}")
    if a.first_family and b.first_family:
        if fold(a.first_family) == fold(b.first_family):
            reasons.append(f"same first author ({a.first_family})")
        else:
            reasons.append(f"first authors {a.first_family} / {b.first_family}")
    if a.doi and b.doi and a.doi != b.doi:
        reasons.append("different DOIs (a preprint and its article?)")
    elif bool(a.doi) != bool(b.doi):
        reasons.append("DOI on one only")
    return "; ".join(reasons)
