"""Citations in real CSL styles: a record as a CSL-JSON item, formatted by citeproc-py.

citeproc-py copies the text of a record's fields into its HTML as it is, so every
field is HTML-escaped before formatting, and the HTML that comes out is parsed into
runs of text (italic, bold...) and written again by us: only the markup we write
ever reaches a page, whatever a title holds.

A formatted citation depends only on the record's fields and the style, so it is kept
in the CitationCache table, keyed by record and style, with a fingerprint of the item
that was formatted (and of the style file); it is reused until the record changes.

Formatting is one record at a time (no year suffixes such as 2021a, no
"subsequent author" dashes): that is what makes a citation cacheable. In a numbered
style (Vancouver) the style's own number is taken out; the renderers number the
entries of each section themselves.

citeproc-py spends most of its time searching the style's XML again and again for
the same macros and asking again whether a node calls a variable. Both answers are
fixed once the style is parsed, so :mod:`._citeproc_memo` remembers them; the output
is the same (a test checks it), four to five times sooner.

citeproc's HTML is read back into plain runs by :mod:`litreview.export.citation_markup`.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import citeproc
import sqlalchemy as sa
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc import formatter as citeproc_formatter
from citeproc.source.json import CiteProcJSON
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from litreview.errors import Invalid
from litreview.export import _citeproc_memo
from litreview.export.citation_markup import clean_text, parse_runs, runs_to_html
from litreview.library.fields import CITED_TEXT, OTHER_CSL_TEXT
from litreview.models import CitationCache, Record

log = logging.getLogger(__name__)

# Bump when what we do to citeproc's output changes, so cached citations are redone.
CACHE_VERSION = "1"
_RENDERING = threading.Lock()


@dataclass(frozen=True)
class StyleInfo:
    """A style we ship: the name people type, its file, and a short title to show."""

    name: str
    file: str
    title: str


STYLES: dict[str, StyleInfo] = {
    s.name: s
    for s in (
        StyleInfo("apa", "apa.csl", "APA 7th edition"),
        StyleInfo("harvard", "harvard-cite-them-right.csl", "Harvard (Cite Them Right 12th ed.)"),
        StyleInfo("vancouver", "nlm-citation-sequence.csl", "Vancouver (NLM, Citing Medicine)"),
        StyleInfo("chicago-author-date", "chicago-author-date.csl", "Chicago 18th (author-date)"),
    )
}
# Other spellings people use for the same styles.
ALIASES = {
    "apa7": "apa",
    "harvard-cite-them-right": "harvard",
    "nlm": "vancouver",
    "chicago": "chicago-author-date",
}
DEFAULT_STYLE = "apa"

# Our record types as CSL types; "document" (CSL 1.0.2) for anything else.
CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "chapter": "chapter",
    "conference": "paper-conference",
    "thesis": "thesis",
    "report": "report",
    "webpage": "webpage",
    "dataset": "dataset",
    "other": "document",
}


def resolve_style(name: str | None) -> StyleInfo:
    """The style called ``name`` (default APA); an unknown name lists the styles there are."""
    key = (name or DEFAULT_STYLE).strip().lower()
    key = ALIASES.get(key, key)
    if key not in STYLES:
        known = ", ".join(f"{s.name} ({s.title})" for s in STYLES.values())
        raise Invalid(f"unknown citation style {name!r}; the styles there are: {known}")
    return STYLES[key]


# ---------------------------------------------------------------- records as CSL-JSON


def _names(authors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    names = []
    for author in authors or ():
        family = clean_text(author.get("family")).strip()
        given = clean_text(author.get("given")).strip()
        if family and given:
            names.append({"family": family, "given": given})
        elif family or given:
            # A corporate author ("World Health Organization") is one literal name.
            names.append({"literal": family or given})
    return names


def cited_item(record: Record) -> dict[str, Any]:
    """The CSL-JSON item a citation is formatted from: only fields a citation shows.

    Empty fields are left out, so a record with missing fields formats without
    "None" anywhere.
    """
    item: dict[str, Any] = {"id": f"r{record.id}", "type": CSL_TYPES.get(record.type, "document")}
    authors = _names(record.authors)
    if authors:
        item["author"] = authors
    if record.year:
        item["issued"] = {"date-parts": [[int(record.year)]]}
    for field in CITED_TEXT:
        value = clean_text(getattr(record, field.name)).strip()
        if value:
            item[field.csl] = value
    return item


def csl_item(record: Record, item_id: str | None = None) -> dict[str, Any]:
    """The record as a full CSL-JSON item (for export): cited fields, abstract, keywords..."""
    item = cited_item(record)
    item["id"] = item_id or f"litreview-{record.id}"
    for field in OTHER_CSL_TEXT:
        value = clean_text(getattr(record, field.name)).strip()
        if value:
            item[field.csl] = value
    if record.keywords:
        item["keyword"] = "; ".join(clean_text(k) for k in record.keywords if k)
    return item


# ---------------------------------------------------------------- styles


@dataclass
class LoadedStyle:
    """A parsed style, ready to format; ``numbered`` when the style numbers its entries."""

    info: StyleInfo
    style: CitationStylesStyle
    numbered: bool
    digest: str


def style_path(info: StyleInfo):
    """The shipped CSL file of a style (see styles/LICENSE)."""
    return files(__package__).joinpath("styles").joinpath(info.file)


def load_style(name: str) -> LoadedStyle:
    """The style called ``name``, parsed once per process, its citation numbers taken out."""
    return _load_style(resolve_style(name).name)


@cache
def _load_style(name: str) -> LoadedStyle:
    info = STYLES[name]
    data = style_path(info).read_bytes()
    _citeproc_memo.install()
    style = CitationStylesStyle(_BytesSource(data), validate=False)
    bibliography = style.root.bibliography
    if bibliography is None:
        raise Invalid(f"style {info.name} has no bibliography layout")
    numbered = False
    for node in list(bibliography.iter("{*}text")):
        if node.get("variable") == "citation-number":
            node.getparent().remove(node)
            numbered = True
    digest = hashlib.sha256(
        b"\n".join([data, citeproc.__version__.encode(), CACHE_VERSION.encode()])
    ).hexdigest()
    return LoadedStyle(info, style, numbered, digest)


class _BytesSource:
    """citeproc-py takes a file name or a file-like object; give it the bytes we read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._read = False

    def read(self, size: int = -1) -> bytes:
        if self._read:
            return b""
        self._read = True
        return self._data


# ---------------------------------------------------------------- formatting


@dataclass(frozen=True)
class Formatted:
    """One citation: safe HTML (only i, b, u, sup, sub and small caps), and plain text."""

    html: str
    text: str

    def runs(self) -> list[tuple[str, frozenset[str]]]:
        """The citation as text runs with their styles (i, b, u, sup, sub, sc)."""
        return parse_runs(self.html)


def fingerprint(item: dict[str, Any], style: LoadedStyle) -> str:
    """Changes when anything a citation shows changes, or the style does."""
    fields = {k: v for k, v in item.items() if k != "id"}
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False) + "\n" + style.digest
    return hashlib.sha256(payload.encode()).hexdigest()


def format_items(style_name: str, items: Sequence[dict[str, Any]]) -> list[Formatted]:
    """Format CSL items in one style, in order; every item gets a citation."""
    style = load_style(style_name)
    # A parsed style keeps per-item state while it renders: one thread at a time.
    with _RENDERING:
        raw = _render(style, items)
        if raw is None:  # some item rendered to nothing: one by one, to keep the order
            raw = []
            for item in items:
                one = _render(style, [item])
                raw.append(one[0] if one else "")
    return [_finish(text, item) for text, item in zip(raw, items, strict=True)]


def _escaped(value: Any) -> Any:
    """Field values as HTML text: citeproc-py copies variables into its HTML unescaped."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def _render(style: LoadedStyle, items: Sequence[dict[str, Any]]) -> list[str] | None:
    source = [{**_escaped(item), "id": item["id"], "type": item["type"]} for item in items]
    bibliography = CitationStylesBibliography(
        style.style, CiteProcJSON(source), citeproc_formatter.html
    )
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(text) for text in bibliography.bibliography()]
    return rendered if len(rendered) == len(items) else None


def _finish(raw_html: str, item: dict[str, Any]) -> Formatted:
    runs = parse_runs(raw_html.strip())
    if not "".join(text for text, _ in runs).strip():
        runs = [(item.get("title") or "(no details)", frozenset())]
    return Formatted(runs_to_html(runs), "".join(text for text, _ in runs))


def sort_key(text: str) -> str:
    """Order citations as author-date styles do: by their text, case and accents aside."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return folded.lstrip(" \"'“”‘’«»([<-–—.")


# ---------------------------------------------------------------- the cache


def citations(session: Session, records: Sequence[Record], style_name: str) -> dict[int, Formatted]:
    """Every record's citation in the style: from the cache while the record is unchanged.

    Citations formatted anew are written to the cache (flushed, not committed); two
    exports racing to write the same citation do not fail: the cache is only a cache.
    """
    style = load_style(style_name)
    name = style.info.name
    items = {record.id: cited_item(record) for record in records}
    prints = {record_id: fingerprint(item, style) for record_id, item in items.items()}
    found: dict[int, Formatted] = {}
    stale: dict[int, int] = {}  # record id -> cache row id
    ids = list(items)
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        rows = session.execute(
            sa.select(
                CitationCache.id,
                CitationCache.record_id,
                CitationCache.fingerprint,
                CitationCache.html,
                CitationCache.text,
            ).where(CitationCache.style == name, CitationCache.record_id.in_(chunk))
        )
        for row in rows:
            if row.fingerprint == prints[row.record_id]:
                found[row.record_id] = Formatted(row.html, row.text)
            else:
                stale[row.record_id] = row.id
    missing = [record_id for record_id in ids if record_id not in found]
    if missing:
        log.info(
            "formatting %s citations in %s (%s from the cache)", len(missing), name, len(found)
        )
        fresh = format_many(name, [items[record_id] for record_id in missing])
        for record_id, formatted in zip(missing, fresh, strict=True):
            found[record_id] = formatted
        _store(session, name, missing, fresh, prints, stale)
    return found


def _store(
    session: Session,
    style: str,
    record_ids: list[int],
    fresh: list[Formatted],
    prints: dict[int, str],
    stale: dict[int, int],
) -> None:
    updates = [
        {"id": stale[rid], "fingerprint": prints[rid], "html": f.html, "text": f.text}
        for rid, f in zip(record_ids, fresh, strict=True)
        if rid in stale
    ]
    inserts = [
        {
            "record_id": rid,
            "style": style,
            "fingerprint": prints[rid],
            "html": f.html,
            "text": f.text,
        }
        for rid, f in zip(record_ids, fresh, strict=True)
        if rid not in stale
    ]
    if updates:
        session.execute(sa.update(CitationCache), updates)
    if inserts:
        # Two exports may format the same citation at once: the first one's row stays.
        dialect = session.get_bind().dialect.name
        insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(dialect)
        if insert is None:
            session.execute(sa.insert(CitationCache), inserts)
        else:
            statement = insert(CitationCache).on_conflict_do_nothing(
                index_elements=["record_id", "style"]
            )
            for start in range(0, len(inserts), 2000):
                session.execute(statement, inserts[start : start + 2000])


# ---------------------------------------------------------------- many at once


def format_many(style_name: str, items: Sequence[dict[str, Any]]) -> list[Formatted]:
    """Format any number of items, a few hundred per citeproc bibliography.

    One process: on the 2-core machine this was measured on, a pool of processes
    (spawned, so as not to share database connections) formatted 2,000 citations
    no sooner than one process did, its start-up eating the gain (bench/RESULTS.md).
    """
    out: list[Formatted] = []
    for start in range(0, len(items), 200):
        out += format_items(style_name, items[start : start + 200])
    return out
