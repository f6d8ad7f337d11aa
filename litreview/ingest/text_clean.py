"""Text every database can store: the one rule, applied wherever text comes in.

PostgreSQL cannot store the NUL character (U+0000) in a text column nor in JSON, and
refuses the whole statement; SQLite takes it. Without this rule one NUL in one entry
(``\\u0000`` in a CSL-JSON file, a stray byte in a RIS export) failed a whole import on
PostgreSQL while the same file landed on SQLite. No database stores a lone surrogate
(half of a UTF-16 pair, as ``"\\ud800"`` in a JSON file gives): it has no UTF-8 form.

:func:`storable` is the rule: NUL characters are removed, lone surrogates become
U+FFFD (the replacement character). It is applied

* to every entry as it leaves the readers, before anything is stored
  (:func:`storable_items`, called once by ``library.imports.import_items``, through
  which files and Zotero libraries pass), each cleaned entry noted in the import
  report's warnings with its line and key;
* to every form field and query-string value the web app reads (``web.form_input``);
* to the text of Zotero notes, full texts and changed items (``zotero``);
* to every value of a backup being restored (``backup.restoring``): backups of older
  versions, or edited by hand, may hold what was never cleaned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from litreview.ingest.record_data import Author, EntryError, Item, RecordData

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FIELDS = tuple(RecordData.__dataclass_fields__)
# The fields that hold one text (or None); authors, keywords and extra are read by name.
_TEXT_FIELDS = tuple(
    name for name, f in RecordData.__dataclass_fields__.items() if f.type in ("str", "str | None")
)


def _fine(text: str) -> bool:
    # The common case costs two C-level scans: no NUL, and ASCII (so no surrogate).
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    # Only a lone surrogate has no UTF-8 form; encoding finds one several times faster
    # than a regular expression searching for it.
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _all_fine(data: RecordData) -> bool:
    """Whether every text of ``data`` is storable already (nearly every entry is): one
    check over all its texts joined, as per-field checks cost more than the joining."""
    texts = [v for name in _TEXT_FIELDS if (v := getattr(data, name))]
    texts += data.keywords
    for author in data.authors:
        texts.append(author.family)
        if author.given:
            texts.append(author.given)
    if data.extra:
        texts += data.extra.keys()
        texts += data.extra.values()
    return _fine("".join(texts))


def _replace(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def storable(text: str) -> str:
    """``text`` as every database can store it: NUL characters removed, lone surrogates
    replaced by U+FFFD. Text without either is returned as it is (the same object)."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(_replace, text)


def _count(text: str, counts: list[int]) -> str:
    """:func:`storable`, adding to ``counts`` the NULs removed and the characters replaced."""
    if _UNSTORABLE.search(text) is None:
        return text
    for found in _UNSTORABLE.findall(text):
        counts[0 if found == "\x00" else 1] += 1
    return storable(text)


def _storable_value(value: Any, counts: list[int]) -> Any:
    if isinstance(value, str):
        return _count(value, counts)
    if isinstance(value, Author):
        family = _count(value.family, counts)
        given = None if value.given is None else _count(value.given, counts)
        if family is value.family and given is value.given:
            return value
        return Author(family, given)
    if isinstance(value, list):
        cleaned = [_storable_value(v, counts) for v in value]
        same = all(a is b for a, b in zip(cleaned, value, strict=True))
        return value if same else cleaned
    if isinstance(value, dict):
        pairs = [(_count(k, counts), _storable_value(v, counts)) for k, v in value.items()]
        same = all(
            k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)
        )
        return value if same else dict(pairs)
    return value


def storable_value(value: Any) -> Any:
    """A value read from JSON (text, or lists and objects of them, nested) with every text
    in it :func:`storable`; the same object when nothing needed cleaning."""
    return _storable_value(value, [0, 0])


def storable_record(data: RecordData) -> tuple[list[str], int, int]:
    """Make every text of ``data`` storable, in place (the entry as read, verbatim text,
    key and table columns included). Returns the names of the fields that changed, the
    NULs removed and the characters replaced."""
    changed: list[str] = []
    counts = [0, 0]
    if _all_fine(data):
        return changed, 0, 0
    for name in _FIELDS:
        value = getattr(data, name)
        cleaned = _storable_value(value, counts)
        if cleaned is not value:
            setattr(data, name, cleaned)
            changed.append(name)
    return changed, counts[0], counts[1]


def _note(changed: list[str], nuls: int, replaced: int) -> str:
    fields = [f for f in changed if f != "raw"] or ["the entry as read"]
    what = []
    if nuls:
        what.append("NUL characters removed")
    if replaced:
        what.append("unpaired surrogates replaced by U+FFFD")
    return f"{' and '.join(what)} in {', '.join(fields)}; imported without them"


def storable_items(items: Iterable[Item], warnings: list[dict[str, Any]]) -> Iterator[Item]:
    """The reader's ``items`` with every text made storable; each entry that needed it is
    noted in ``warnings`` (``{"line", "entry", "message"}``, as entry errors are)."""
    for item in items:
        if isinstance(item, EntryError):
            counts = [0, 0]
            entry = None if item.entry is None else _count(item.entry, counts)
            message = _count(item.message, counts)
            if counts != [0, 0]:
                item = EntryError(item.line, entry, message)
            yield item
            continue
        changed, nuls, replaced = storable_record(item)
        if changed:
            warnings.append(
                {
                    "line": item.line or None,
                    "entry": item.entry_key or None,
                    "message": _note(changed, nuls, replaced),
                }
            )
        yield item
