"""BibTeX ``crossref``: an entry takes the fields it lacks from the entry it names.

BibTeX wants the target after the entries that cite it, so an entry whose target is
still to come is held back, and what follows it waits behind it so that items come
out in file order; past ``_MAX_HELD`` waiting items, or at the end of the file, it
goes with what could be found.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from litreview.ingest.record_data import EntryError

# Types whose editors are the record's own responsible persons (used as authors
# when there is no author), and which may be the target of a crossref.
VOLUME_TYPES = frozenset(
    {
        "book",
        "mvbook",
        "collection",
        "mvcollection",
        "reference",
        "mvreference",
        "proceedings",
        "mvproceedings",
        "periodical",
        "booklet",
        "manual",
    }
)

# Fields an entry inherits from the entry it crossrefs, when it lacks them.
_INHERITED = (
    "author",
    "editor",
    "booktitle",
    "booksubtitle",
    "journal",
    "journaltitle",
    "series",
    "volume",
    "number",
    "year",
    "date",
    "month",
    "publisher",
    "institution",
    "school",
    "organization",
    "address",
    "location",
    "isbn",
    "edition",
    "language",
    "langid",
)

_MAX_HELD = 5_000  # items held back behind an entry waiting for its crossref target


@dataclass(slots=True)
class BibEntry:
    """An entry whose fields could be read, before it becomes a record."""

    kind: str
    key: str
    fields: dict[str, str]
    line: int
    raw: str
    waiting: str = ""  # the crossref target it still waits for


def _inheritable(fields: dict[str, str]) -> dict[str, str]:
    """What another entry may take from this one (kept small: some are held to the end)."""
    return {name: fields[name] for name in (*_INHERITED, "title", "crossref") if name in fields}


class Crossrefs:
    """Items in file order, an entry held back while the entry it crossrefs is still to come.

    At most ``_MAX_HELD`` items wait behind a held entry: past that, it
    inherits what is known and goes, so memory stays bounded.
    """

    def __init__(self) -> None:
        self.known: dict[str, dict[str, str]] = {}  # lower-case key -> inheritable fields
        self.queue: deque[BibEntry | EntryError] = deque()
        self.wanted: set[str] = set()

    def add(self, item: BibEntry | EntryError) -> Iterator[BibEntry | EntryError]:
        """Take the next item of the file; yield those now ready, in file order."""
        self.queue.append(item)
        if isinstance(item, BibEntry):
            key = item.key.lower()
            if item.kind in VOLUME_TYPES or key in self.wanted:
                self.known.setdefault(key, _inheritable(item.fields))
            if item.fields.get("crossref") and not self._resolve(item):
                self.wanted.add(item.waiting)
            if key in self.wanted:  # some held entries may be complete now
                self.wanted = set()
                for held in self.queue:
                    if isinstance(held, BibEntry) and held.waiting and not self._resolve(held):
                        self.wanted.add(held.waiting)
        if len(self.queue) > _MAX_HELD:
            front = self.queue[0]
            if isinstance(front, BibEntry) and front.waiting:
                self._give_up(front)
        yield from self._ready()

    def finish(self) -> Iterator[BibEntry | EntryError]:
        """At the end of the file: what still waits inherits whatever was found."""
        for held in self.queue:
            if isinstance(held, BibEntry) and held.waiting:
                self._give_up(held)
        yield from self._ready()

    def _ready(self) -> Iterator[BibEntry | EntryError]:
        queue = self.queue
        while queue and not getattr(queue[0], "waiting", ""):
            yield queue.popleft()

    def _give_up(self, entry: BibEntry) -> None:
        _inherit(entry, self._chain(entry)[0])
        entry.waiting = ""

    def _resolve(self, entry: BibEntry) -> bool:
        """Inherit from the crossref chain if it is complete; else note what is awaited."""
        chain, awaited = self._chain(entry)
        entry.waiting = awaited
        if not awaited:
            _inherit(entry, chain)
        return not awaited

    def _chain(self, entry: BibEntry) -> tuple[list[dict[str, str]], str]:
        """The entries ``entry`` inherits from, nearest first, and the key still awaited."""
        chain: list[dict[str, str]] = []
        seen = {entry.key.lower()}
        fields: dict[str, str] | None = entry.fields
        while True:
            target = (fields.get("crossref") or "").strip().lower()
            if not target or target in seen:  # the end, or a cycle
                return chain, ""
            fields = self.known.get(target)
            if fields is None:
                return chain, target
            seen.add(target)
            chain.append(fields)


def _inherit(entry: BibEntry, chain: list[dict[str, str]]) -> None:
    if not chain:
        return
    fields = dict(entry.fields)
    for parent in chain:
        for name in _INHERITED:
            if name not in fields and parent.get(name):
                fields[name] = parent[name]
        # The title of the volume is the booktitle of what is in it.
        if "booktitle" not in fields and "journal" not in fields and parent.get("title"):
            fields["booktitle"] = parent["title"]
    entry.fields = fields
