"""Template filters: highlight words (escaping first), authors, labels.

Imported text is untrusted. ``highlight`` finds the words in the raw text, escapes
every piece, and only then wraps the matched pieces in ``<mark>``: the only markup in
its output is its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flask import Flask
from markupsafe import Markup, escape

STAGE_NAMES = {"title_abstract": "Title/abstract", "full_text": "Full text"}
DECISION_NAMES = {
    "include": "Include",
    "exclude": "Exclude",
    "maybe": "Maybe",
    "conflict": "Conflict",
    "pending": "Pending",
}


def _pattern(word: str) -> str:
    """A highlight word as a regex: matched at a word start; a trailing * matches any ending."""
    word = " ".join(word.split())
    stem = word.rstrip("*")
    body = re.escape(stem).replace(r"\ ", r"\s+")
    tail = r"\w*" if word.endswith("*") else r"(?!\w)"
    return rf"(?<!\w){body}{tail}"


@lru_cache(maxsize=64)
def _compile(include: tuple[str, ...], exclude: tuple[str, ...]) -> re.Pattern[str] | None:
    groups = []
    for name, words in (("inc", include), ("exc", exclude)):
        words = tuple(w for w in words if w.strip().rstrip("*"))
        if words:
            # Longer words first, so "risk assessment" wins over "risk".
            alternatives = "|".join(_pattern(w) for w in sorted(words, key=len, reverse=True))
            groups.append(f"(?P<{name}>{alternatives})")
    if not groups:
        return None
    return re.compile("|".join(groups), re.IGNORECASE)


def highlight(text: Any, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Markup:
    """``text`` escaped, with include words in ``<mark class="hl-inc">`` and exclude words
    in ``<mark class="hl-exc">``."""
    if text is None:
        return Markup("")
    text = str(text)
    pattern = _compile(tuple(include or ()), tuple(exclude or ()))
    if pattern is None:
        return escape(text)
    out: list[str] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() == match.end():
            continue
        out.append(str(escape(text[at : match.start()])))
        kind = "inc" if "inc" in pattern.groupindex and match.group("inc") else "exc"
        out.append(f'<mark class="hl-{kind}">{escape(match.group(0))}</mark>')
        at = match.end()
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def authors(people: Any, limit: int | None = None) -> str:
    """Authors as "Family, Given; Family, Given" (``limit``: then "et al.")."""
    if not people:
        return ""
    names = []
    for a in people:
        family, given = a.get("family") or "", a.get("given")
        names.append(f"{family}, {given}" if given else family)
    if limit is not None and len(names) > limit:
        return "; ".join(names[:limit]) + " et al."
    return "; ".join(names)


def init_app(app: Flask) -> None:
    app.add_template_filter(highlight, "highlight")
    app.add_template_filter(authors, "authors")
    app.add_template_filter(lambda value: (value, value), "pair")
    app.add_template_filter(lambda s: STAGE_NAMES.get(s, s), "stage_name")
    app.add_template_filter(lambda d: DECISION_NAMES.get(d, d or ""), "decision_name")
    app.add_template_filter(
        lambda dt: dt.strftime("%Y-%m-%d %H:%M") if dt is not None else "", "when"
    )
