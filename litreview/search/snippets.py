"""Snippets: the passages of a hit that match, cut from the database's text, the same
for every backend.

A backend says which records match and how well; the words a person sees marked are
found here, in the record's title, abstract and keywords and in the pages of its full
texts as the database holds them, by the analysis every backend indexes with
(:mod:`litreview.search.analysis`): a word is marked when its index term is one the
query asks for, a prefix's words when they begin with it as typed, a phrase's words
where they stand in a row. So snippets, their page numbers and their escaping are one
piece of code, whatever engine found the record.

The text is untrusted: everything but the ``<b>`` marks is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.models import Attachment, AttachmentPage, Record
from litreview.search import analysis
from litreview.search.backend import Snippet
from litreview.search.query import Node, Phrase, Prefix, Term, leaves

PAGES_PER_HIT = 2
PASSAGE_CHARS = 240
_SURROUND = 70
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_OTHER_SPACES = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"  # ASCII white space but space and newline
_WHOLE = ("title", "keywords")  # short: shown whole
_FIELDS = ("title", "abstract", "keywords")


@dataclass
class Marks:
    """What to mark, per field (None: the default fields), from a query's tree."""

    terms: dict[str | None, set[str]] = field(default_factory=lambda: defaultdict(set))
    prefixes: dict[str | None, set[str]] = field(default_factory=lambda: defaultdict(set))
    phrases: dict[str | None, list[list[tuple[str, ...]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def of(cls, query: Node) -> Marks:
        marks = cls()
        for leaf in leaves(query):
            if isinstance(leaf, Term):
                marks.terms[leaf.field].update(analysis.terms(leaf.word))
            elif isinstance(leaf, Prefix):
                marks.prefixes[leaf.field].add(leaf.prefix)
            elif isinstance(leaf, Phrase):
                marks.phrases[leaf.field].append([analysis.terms(w) for w in leaf.words])
        return marks

    def for_field(self, name: str) -> _FieldMarks:
        default = name in ("title", "keywords", "abstract", "author", "fulltext")
        terms = set(self.terms.get(name, ()))
        prefixes = set(self.prefixes.get(name, ()))
        phrases = list(self.phrases.get(name, ()))
        if default:
            terms |= self.terms.get(None, set())
            prefixes |= self.prefixes.get(None, set())
            phrases += self.phrases.get(None, [])
        return _FieldMarks(frozenset(terms), tuple(prefixes), phrases)


@dataclass
class _FieldMarks:
    terms: frozenset[str]
    prefixes: tuple[str, ...]
    phrases: list[list[tuple[str, ...]]]

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes or self.phrases)

    @cached_property
    def _roots(self) -> tuple[str, ...]:
        """What a word that may be marked begins with: the root of a term (a Snowball
        stem begins every word it stems once a final e, i or y is taken off and "bl"
        read as "b": ``hope``/hoping, ``happi``/happy, ``probabl``/probability), or a
        prefix as typed."""
        roots = {_root(t) for t in self.terms} | set(self.prefixes)
        roots |= {_root(t) for phrase in self.phrases for t in phrase[0]}
        return tuple(sorted(roots))

    def _candidates(self, text: str) -> Iterator[tuple[int, int]]:
        """The words of ``text`` that may be marked, (start, end), in no order: those
        beginning with a root (found by plain string search), and those with a letter
        that is not ASCII (folding may change it). Only these are folded and stemmed,
        so a page of 450 words costs a few scans, not 450 stems."""
        lower = text.lower()
        if "" in self._roots or len(lower) != len(text):  # every word, one by one
            yield from (m.span() for m in analysis.WORD.finditer(text))
            return
        for root in self._roots:
            at = lower.find(root)
            while at >= 0:
                if at == 0 or not text[at - 1].isalnum():
                    end = analysis.WORD.match(text, at).end()
                    yield at, end
                    at = lower.find(root, end)
                else:
                    at = lower.find(root, at + 1)
        if not text.isascii():
            for match in _NOT_ASCII.finditer(text):
                at = match.start()
                if text[at].isalnum():
                    start = at
                    while start and text[start - 1].isalnum():
                        start -= 1
                    yield start, analysis.WORD.match(text, start).end()

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the marked words are in ``text``: (start, end) character offsets."""
        found: set[tuple[int, int]] = set()
        for start, end in set(self._candidates(text)):
            folded = analysis.fold(text[start:end])
            stem = analysis.stem(folded)
            if stem in self.terms or (self.prefixes and folded.startswith(self.prefixes)):
                found.add((start, end))
            for phrase in self.phrases:
                if stem in phrase[0]:
                    rest = list(islice(analysis.WORD.finditer(text, end), len(phrase) - 1))
                    if len(rest) == len(phrase) - 1 and all(
                        analysis.term(m.group()) in terms
                        for m, terms in zip(rest, phrase[1:], strict=True)
                    ):
                        found.add((start, end))
                        found.update(m.span() for m in rest)
        return sorted(found)


def _root(term: str) -> str:
    root = term.rstrip("eiy")
    return root[:-1] if root.endswith("bl") else root


def snippets_for(
    session: Session,
    query: Node,
    record_ids: Iterable[int],
    page_ids: Collection[int] | None = None,
) -> dict[int, list[Snippet]]:
    """Each record's snippets: its title, abstract and keywords where they match, then
    the best ``PAGES_PER_HIT`` pages of its full texts, best first: of all its pages,
    or of ``page_ids`` only (a backend's best-matching pages: AttachmentPage ids)."""
    ids = list(record_ids)
    marks = Marks.of(query)
    out: dict[int, list[Snippet]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        sa.select(Record.id, Record.title, Record.abstract, Record.keywords).where(
            Record.id.in_(ids)
        )
    )
    for record_id, title, abstract, keywords in rows:
        texts = {
            "title": title or "",
            "abstract": abstract or "",
            "keywords": "; ".join(keywords or []),
        }
        for name in _FIELDS:
            field_marks = marks.for_field(name)
            if not field_marks or not texts[name]:
                continue
            text = _one_spaced(texts[name])
            spans = field_marks.spans(text)
            if spans:
                shown = _marked(text, spans) if name in _WHOLE else _passages(text, spans)
                out[record_id].append(Snippet(field=name, page=None, text=shown))
    fulltext = marks.for_field("fulltext")
    if fulltext:
        for record_id, passages in _page_passages(session, ids, fulltext, page_ids).items():
            out[record_id].extend(passages)
    return out


def _page_passages(
    session: Session,
    ids: list[int],
    marks: _FieldMarks,
    page_ids: Collection[int] | None = None,
) -> dict[int, list[Snippet]]:
    best: dict[int, list[tuple[tuple[int, int], int, Snippet]]] = defaultdict(list)
    statement = (
        sa.select(Attachment.record_id, AttachmentPage.page, AttachmentPage.text)
        .join(Attachment, Attachment.id == AttachmentPage.attachment_id)
        .where(Attachment.record_id.in_(ids))
        .order_by(Attachment.id, AttachmentPage.page)
    )
    if page_ids is not None:
        statement = statement.where(AttachmentPage.id.in_(page_ids))
    pages = session.execute(statement)
    for order, (record_id, page, text) in enumerate(pages):
        if not text:
            continue
        text = _one_spaced(text)
        spans = marks.spans(text)
        if not spans:
            continue
        start, end = _window(text, spans)
        inside = [s for s in spans if s[0] >= start and s[1] <= end]
        distinct = len({text[s:e].lower() for s, e in inside})
        snippet = Snippet(field="fulltext", page=page, text=_cut(text, inside, start, end))
        best[record_id].append(((-distinct, -len(inside)), order, snippet))
    return {
        record_id: [s for _k, _o, s in sorted(found, key=lambda x: (x[0], x[1]))[:PAGES_PER_HIT]]
        for record_id, found in best.items()
    }


def _one_spaced(text: str) -> str:
    """``text`` with each run of white space as one space, and none at either end."""
    flat = text.replace("\n", " ")
    # A page's lines end in newlines: most pages need no more than that (and these
    # single-character searches are much cheaper than splitting 450 words).
    if flat.isascii() and "  " not in flat and not any(c in flat for c in _OTHER_SPACES):
        return flat.strip()
    return " ".join(text.split())


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    return _cut(text, spans, 0, len(text))


def _passages(text: str, spans: list[tuple[int, int]]) -> str:
    """Up to two passages of a longer field, joined by an ellipsis, in text order."""
    if len(text) <= PASSAGE_CHARS:
        return _marked(text, spans)
    first = _window(text, spans)
    rest = [s for s in spans if s[0] >= first[1] or s[1] <= first[0]]
    windows = [first] + ([_window(text, rest)] if rest else [])
    windows.sort()
    parts = [_cut(text, [s for s in spans if s[0] >= a and s[1] <= b], a, b) for a, b in windows]
    return " … ".join(parts)


def _window(text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """About PASSAGE_CHARS around the densest run of marked words, cut at word ends."""
    best, best_count = 0, 0
    j = 0
    for i, (start, _end) in enumerate(spans):
        while j < len(spans) and spans[j][1] - start <= PASSAGE_CHARS - 2 * _SURROUND:
            j += 1
        if j - i > best_count:
            best, best_count = i, j - i
    first, last = spans[best][0], spans[best + best_count - 1][1]
    room = max(PASSAGE_CHARS - (last - first), 0)
    start = max(first - min(_SURROUND, room // 2), 0)
    end = min(last + (room - (first - start)), len(text))
    if start > 0 and text[start - 1].isalnum():
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    if end < len(text) and text[end].isalnum():
        space = text.rfind(" ", last, end)
        end = space if space >= 0 else end
    return start, end


def _cut(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` as HTML with the spans in ``<b>``."""
    out, at = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(html.escape(text[at:s], quote=True))
        out.append("<b>" + html.escape(text[s:e], quote=True) + "</b>")
        at = e
    out.append(html.escape(text[at:end], quote=True))
    return "".join(out).strip()
