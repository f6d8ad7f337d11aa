"""Screening decisions as other tools write them in a table's cell: one rule, here.

* ASReview LAB and the SYNERGY datasets: ``included`` / ``label_included`` holds 1
  (relevant), 0 (irrelevant), -1 or nothing (not labelled).
* Rayyan writes every reviewer's decision into the ``notes`` column::

      RAYYAN-INCLUSION: {"Alice"=>"Included", "Bob"=>"Excluded"} | RAYYAN-LABELS: RCT |
      RAYYAN-EXCLUSION-REASONS: wrong population,foreign language | USER-NOTES: {...}

  (the exclusion reasons are the record's, comma-separated, not one reviewer's).
* Anything else a person may have typed: include/exclude/maybe and their past
  participles, yes/no, y/n, true/false, relevant/irrelevant, unsure, 1.0/0.0.

Pure functions over text: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INCLUDE, EXCLUDE, MAYBE = "include", "exclude", "maybe"

_WORDS = {
    INCLUDE: {"include", "included", "1", "1.0", "yes", "y", "true", "relevant", "in"},
    EXCLUDE: {"exclude", "excluded", "0", "0.0", "no", "n", "false", "irrelevant", "out"},
    MAYBE: {"maybe", "unsure", "uncertain", "?", "undecided"},
}
_BY_WORD = {word: decision for decision, words in _WORDS.items() for word in words}
# "Not labelled": ASReview's -1, an empty cell, a dash.
_NONE = {"", "-1", "-1.0", "-", "na", "nan", "none", "null"}

_RAYYAN_PART = re.compile(r"(?:^|\|)\s*([A-Z][A-Z-]+):\s*")
_RAYYAN_VOTE = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*"((?:[^"\\]|\\.)*)"')


class UnknownLabel(ValueError):
    """A cell that is not a decision this module knows."""


@dataclass(frozen=True)
class Label:
    """A decision read from a cell; ``reasons`` go with an exclusion (Rayyan's)."""

    decision: str
    reasons: tuple[str, ...] = ()


@dataclass
class RayyanNotes:
    """What Rayyan wrote into a record's notes."""

    decisions: dict[str, str] = field(default_factory=dict)  # reviewer name -> decision
    labels: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def has_rayyan_marks(text: str | None) -> bool:
    """True for a cell holding Rayyan's decision markers."""
    return bool(text) and ("RAYYAN-INCLUSION:" in text or "RAYYAN-EXCLUSION-REASONS:" in text)


def parse_rayyan(text: str) -> RayyanNotes:
    """Rayyan's ``RAYYAN-INCLUSION`` / ``-LABELS`` / ``-EXCLUSION-REASONS`` markers."""
    notes = RayyanNotes()
    parts = _RAYYAN_PART.split(text)
    # split() with one group: [before, NAME, value, NAME, value, ...]
    for name, value in zip(parts[1::2], parts[2::2], strict=False):
        value = value.strip()
        if name == "RAYYAN-INCLUSION":
            for who, said in _RAYYAN_VOTE.findall(value):
                decision = _BY_WORD.get(said.strip().casefold())
                if decision is None:
                    raise UnknownLabel(f"Rayyan decision {said!r} of {who!r}")
                notes.decisions[who.strip()] = decision
        elif name == "RAYYAN-LABELS":
            notes.labels = [v.strip() for v in value.split(",") if v.strip()]
        elif name == "RAYYAN-EXCLUSION-REASONS":
            notes.reasons = [v.strip() for v in value.split(",") if v.strip()]
    return notes


def read_label(value: str | None, reviewer_names: tuple[str, ...] = ()) -> Label | None:
    """The decision in a cell, or None when the cell holds none.

    For Rayyan's notes, the decision of the first of ``reviewer_names`` that Rayyan
    names (compared ignoring case); None when none of them decided this record.
    Raises UnknownLabel for a cell that is neither a decision nor empty.
    """
    text = (value or "").strip()
    if has_rayyan_marks(text):
        notes = parse_rayyan(text)
        by_name = {name.casefold(): d for name, d in notes.decisions.items()}
        for name in reviewer_names:
            decision = by_name.get(name.casefold())
            if decision is not None:
                reasons = tuple(notes.reasons) if decision == EXCLUDE else ()
                return Label(decision, reasons)
        return None
    word = text.casefold()
    if word in _NONE:
        return None
    decision = _BY_WORD.get(word)
    if decision is None:
        raise UnknownLabel(f"{text[:40]!r} is not a decision (include/exclude/maybe, 1/0, yes/no)")
    return Label(decision)


def rayyan_reviewers(value: str | None) -> list[str]:
    """The reviewer names in a cell's Rayyan markers (none for any other cell)."""
    if not has_rayyan_marks(value):
        return []
    try:
        return list(parse_rayyan(value or "").decisions)
    except UnknownLabel:
        return []
