"""A Zotero Web API v3 server on loopback, for the tests and the benchmark.

It speaks the part of the API that pyzotero uses for litreview: items, top items,
children, single items, files (a 302 redirect to storage, as zotero.org does), full
text, deleted objects, collections and their items, item types and fields, version
listings, and item writes (PATCH/PUT) under If-Unmodified-Since-Version, answering 412
when the item moved on. Responses carry the headers of the real API:
Total-Results, Link (next/last/alternate), Last-Modified-Version, Zotero-API-Version,
and, when told to, Backoff and Retry-After.

The shapes follow the real responses in ``tests/data/zotero/pyzotero_*.json`` (from
pyzotero's test suite). Faults are injected per request path: an HTTP status, extra
headers, a connection dropped halfway through the body, or a body cut short into
malformed JSON. ``prefix="/api"`` with ``library_type="user", library_id="0"`` makes it
look like the desktop app's local API, which serves files as ``file://`` redirects.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

DATA = Path(__file__).parent / "data" / "zotero"
KEY_ALPHABET = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"  # Zotero's item key alphabet
STAMP = "2025-03-01T10:00:00Z"


def item_key(n: int) -> str:
    """The n-th key of an invented library: eight characters of Zotero's alphabet."""
    chars = []
    for _ in range(8):
        n, digit = divmod(n, len(KEY_ALPHABET))
        chars.append(KEY_ALPHABET[digit])
    return "".join(reversed(chars))


def article(n: int, **fields: Any) -> dict[str, Any]:
    """An invented journal article, every field Zotero sends for one (empty ones too)."""
    data = {
        "itemType": "journalArticle",
        "title": f"Invented study {n} of machine learning in social work practice",
        "creators": [
            {"creatorType": "author", "firstName": "Ada", "lastName": f"Author{n}"},
            {"creatorType": "author", "firstName": "Ben", "lastName": "Second"},
        ],
        "abstractNote": f"An invented abstract for study {n}.",
        "publicationTitle": "Invented Journal of Social Work",
        "volume": str(1 + n % 30),
        "issue": str(1 + n % 4),
        "pages": f"{n % 100 + 1}-{n % 100 + 12}",
        "date": str(2000 + n % 25),
        "series": "",
        "seriesTitle": "",
        "seriesText": "",
        "journalAbbreviation": "Inv. J. Soc. Work",
        "language": "en",
        "DOI": f"10.5555/zot.{n}",
        "ISSN": "",
        "shortTitle": "",
        "url": "",
        "accessDate": "",
        "archive": "",
        "archiveLocation": "",
        "libraryCatalog": "",
        "callNumber": "",
        "rights": "",
        "extra": "",
        "tags": [{"tag": "social work"}, {"tag": "machine learning", "type": 1}],
        "collections": [],
        "relations": {},
        "dateAdded": STAMP,
        "dateModified": STAMP,
    }
    data.update(fields)
    return data


def pdf_bytes(text: str) -> bytes:
    """A small but well-formed one-page PDF showing ``text``."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class Library:
    """One Zotero library: items, collections, files, full texts, a version counter."""

    def __init__(
        self,
        library_type: str = "group",
        library_id: str = "12345",
        *,
        name: str = "AI in social work (invented)",
        api_key: str | None = None,
    ) -> None:
        self.library_type = library_type
        self.library_id = str(library_id)
        self.name = name
        self.api_key = api_key
        self.version = 0
        self.items: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, int] = {}
        self.collections: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.fulltexts: dict[str, tuple[dict[str, Any], int]] = {}
        self._next = 1
        self.lock = threading.RLock()

    # ------------------------------------------------------------ building

    def new_key(self) -> str:
        key = item_key(self._next * 7919)
        self._next += 1
        return key

    def _bump(self) -> int:
        self.version += 1
        return self.version

    def add(self, data: dict[str, Any], key: str | None = None) -> str:
        """Add one item (a write of its own: the library version goes up)."""
        return self.add_many([data], [key] if key else None)[0]

    def add_many(self, datas: list[dict[str, Any]], keys: list[str] | None = None) -> list[str]:
        """Add items in one write, as a batch upload does: they share one version."""
        with self.lock:
            version = self._bump()
            out = []
            for n, data in enumerate(datas):
                key = keys[n] if keys else data.get("key") or self.new_key()
                stored = {"key": key, "version": version, **copy.deepcopy(data)}
                stored["key"], stored["version"] = key, version
                self.items[key] = stored
                out.append(key)
            return out

    def change(self, key: str, **fields: Any) -> int:
        """Change fields of an item, as a person editing it in Zotero."""
        with self.lock:
            version = self._bump()
            self.items[key].update(copy.deepcopy(fields))
            self.items[key]["version"] = version
            self.items[key]["dateModified"] = STAMP
            return version

    def add_tag(self, key: str, tag: str, tag_type: int | None = None) -> int:
        tags = list(self.items[key].get("tags", []))
        tags.append({"tag": tag} if tag_type is None else {"tag": tag, "type": tag_type})
        return self.change(key, tags=tags)

    def tags(self, key: str) -> list[dict[str, Any]]:
        return self.items[key].get("tags", [])

    def delete(self, key: str) -> None:
        """Delete an item for good (it then shows in /deleted)."""
        with self.lock:
            del self.items[key]
            self.deleted[key] = self._bump()

    def trash(self, key: str) -> None:
        self.change(key, deleted=1)

    def add_collection(self, name: str, key: str | None = None) -> str:
        with self.lock:
            key = key or self.new_key()
            self.collections[key] = {
                "key": key,
                "version": self._bump(),
                "name": name,
                "parentCollection": False,
                "relations": {},
            }
            return key

    def add_note(self, parent: str, html: str) -> str:
        return self.add(
            {
                "itemType": "note",
                "parentItem": parent,
                "note": html,
                "tags": [],
                "relations": {},
                "dateAdded": STAMP,
                "dateModified": STAMP,
            }
        )

    def attach(
        self,
        parent: str | None,
        content: bytes | None,
        filename: str = "paper.pdf",
        *,
        link_mode: str = "imported_file",
        content_type: str = "application/pdf",
        md5: str | None = None,
    ) -> str:
        """An attachment item; ``content`` None leaves the file out of storage."""
        data = {
            "itemType": "attachment",
            "linkMode": link_mode,
            "title": "Full Text PDF",
            "accessDate": "",
            "url": "",
            "note": "",
            "contentType": content_type,
            "charset": "",
            "filename": filename,
            "md5": md5 or (hashlib.md5(content).hexdigest() if content else None),
            "mtime": 1740823200000,
            "tags": [],
            "relations": {},
            "dateAdded": STAMP,
            "dateModified": STAMP,
        }
        if link_mode == "linked_file":
            data["path"] = f"/home/someone/papers/{filename}"
            del data["filename"], data["md5"], data["mtime"]
        if parent:
            data["parentItem"] = parent
        key = self.add(data)
        if content is not None:
            self.files[key] = content
        return key

    def set_fulltext(self, key: str, text: str, pages: int = 1) -> None:
        with self.lock:
            body = {"content": text, "indexedPages": pages, "totalPages": pages}
            self.fulltexts[key] = (body, self._bump())

    # ------------------------------------------------------------ reading

    def children_count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items.values():
            parent = item.get("parentItem")
            if parent:
                counts[parent] = counts.get(parent, 0) + 1
        return counts

    def envelope(
        self, data: dict[str, Any], base: str, children: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """An item as the API sends it (see pyzotero_items_doc.json)."""
        key = data["key"]
        prefix = f"{base}/{self.library_type}s/{self.library_id}"
        meta: dict[str, Any] = {}
        creators = data.get("creators") or []
        if creators:
            first = creators[0]
            name = first.get("lastName") or first.get("name") or ""
            meta["creatorSummary"] = name if len(creators) == 1 else f"{name} et al."
        if data.get("date"):
            meta["parsedDate"] = data["date"]
        if data.get("itemType") not in ("note", "attachment", "annotation"):
            meta["numChildren"] = (children or self.children_count()).get(key, 0)
        links: dict[str, Any] = {
            "self": {"href": f"{prefix}/items/{key}", "type": "application/json"},
            "alternate": {
                "href": f"https://www.zotero.org/groups/{self.library_id}/items/{key}",
                "type": "text/html",
            },
        }
        if data.get("parentItem"):
            links["up"] = {
                "href": f"{prefix}/items/{data['parentItem']}",
                "type": "application/json",
            }
        if key in self.files:
            links["enclosure"] = {
                "type": data.get("contentType", "application/pdf"),
                "href": f"{prefix}/items/{key}/file/view",
                "title": data.get("filename"),
                "length": len(self.files[key]),
            }
        return {
            "key": key,
            "version": data["version"],
            "library": {
                "type": self.library_type,
                "id": int(self.library_id),
                "name": self.name,
                "links": {
                    "alternate": {
                        "href": f"https://www.zotero.org/groups/{self.library_id}",
                        "type": "text/html",
                    }
                },
            },
            "links": links,
            "meta": meta,
            "data": copy.deepcopy(data),
        }

    def collection_envelope(
        self, data: dict[str, Any], base: str, children: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """A collection as the API sends it (see pyzotero_collection_doc.json)."""
        key = data["key"]
        members = [i for i in self.items.values() if key in i.get("collections", [])]
        return {
            "key": key,
            "version": data["version"],
            "library": {"type": self.library_type, "id": int(self.library_id), "name": self.name},
            "links": {
                "self": {
                    "href": f"{base}/{self.library_type}s/{self.library_id}/collections/{key}",
                    "type": "application/json",
                }
            },
            "meta": {"numCollections": 0, "numItems": len(members)},
            "data": copy.deepcopy(data),
        }


@dataclass
class Fault:
    """What to do instead of (or on top of) the normal answer to matching requests."""

    method: str
    path: re.Pattern[str]
    status: int | None = None  # answer this instead; None: the normal answer
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    drop: bool = False  # send half the body, then close the connection
    malformed: bool = False  # send half the body as if it were all of it
    times: int = 1  # how many requests it hits (-1: all)
    query: dict[str, str] = field(default_factory=dict)  # only when these params match


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float
    status: int = 0


class ZoteroServer:
    """The loopback server; use as a context manager, point pyzotero at ``url``."""

    def __init__(self, library: Library, *, prefix: str = "") -> None:
        self.library = library
        self.prefix = prefix
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        # item key -> called once just before a write to it is checked (a person's edit)
        self.before_write: dict[str, Callable[[Library], None]] = {}
        self._lock = threading.Lock()
        self._files = tempfile.TemporaryDirectory(prefix="zotero-local-files-")
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.app = self  # type: ignore[attr-defined]
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.url = self.origin + prefix
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ZoteroServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._files.cleanup()

    def fail(
        self,
        path: str,
        *,
        method: str = "GET",
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: str = "",
        drop: bool = False,
        malformed: bool = False,
        times: int = 1,
        query: dict[str, str] | None = None,
    ) -> None:
        """Answer requests whose path matches ``path`` (a regex) with a fault."""
        self.faults.append(
            Fault(
                method,
                re.compile(path),
                status,
                headers or {},
                body,
                drop,
                malformed,
                times,
                query or {},
            )
        )

    def seen(self, method: str = "GET", path: str = "") -> list[Seen]:
        """The requests received so far with this method whose path matches ``path``."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def clear(self) -> None:
        self.requests.clear()

    # ------------------------------------------------------------ answering

    def _fault(self, method: str, path: str, query: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    fault.times != 0
                    and fault.method == method
                    and fault.path.search(path)
                    and all(query.get(k) == v for k, v in fault.query.items())
                ):
                    fault.times -= 1 if fault.times > 0 else 0
                    return fault
        return None

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        seen = Seen(method, path, query, {k.lower(): v for k, v in h.headers.items()}, time.time())
        with self._lock:
            self.requests.append(seen)
        fault = self._fault(method, path, query)
        if fault is not None and fault.status is not None:
            answer = Answer(fault.status, fault.body or _REASONS.get(fault.status, "Error"))
        elif path.startswith("/_files/"):
            answer = self._stored_file(path.removeprefix("/_files/"))
        elif not path.startswith(self.prefix):
            answer = Answer(404, "Not found")
        else:
            with self.library.lock:
                answer = self._route(h, method, path.removeprefix(self.prefix), query, body)
        if fault is not None:
            answer.headers.update(fault.headers)
        seen.status = answer.status
        answer.send(h, drop=bool(fault and fault.drop), malformed=bool(fault and fault.malformed))

    def _stored_file(self, key: str) -> Answer:
        content = self.library.files.get(key)
        if content is None:
            return Answer(404, "Not found")
        return Answer(200, content, content_type="application/pdf")

    def _route(
        self,
        h: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
    ) -> Answer:
        lib = self.library
        if path in ("/itemFields", "/itemTypes"):
            name = (
                "pyzotero_item_fields.json" if path == "/itemFields" else "pyzotero_item_types.json"
            )
            return Answer(200, json.loads((DATA / name).read_text(encoding="utf-8")))
        match = re.fullmatch(r"/(users|groups)/(\d+)(/.*)?", path)
        if not match:
            return Answer(404, "Not found")
        if match.group(1) != f"{lib.library_type}s" or match.group(2) != lib.library_id:
            return Answer(404, "Not found")
        if lib.api_key:
            given = h.headers.get("Zotero-API-Key") or (
                h.headers.get("Authorization", "").removeprefix("Bearer ")
            )
            if given != lib.api_key:
                return Answer(403, "Invalid key" if given else "Forbidden")
        rest = match.group(3) or "/"
        base = self.url
        if method in ("PATCH", "PUT"):
            found = re.fullmatch(r"/items/([A-Z0-9]{8})", rest)
            if not found:
                return Answer(405, "Method not allowed")
            return self._write(h, method, found.group(1), body)
        if method != "GET":
            return Answer(405, "Method not allowed")

        if rest in ("/items", "/items/top", "/items/trash"):
            items = list(lib.items.values())
            if rest == "/items/top":
                items = [i for i in items if not i.get("parentItem")]
            if rest == "/items/trash":
                items = [i for i in items if i.get("deleted")]
            return self._listing(path, query, items, base)
        found = re.fullmatch(r"/collections/([A-Z0-9]{8})/items(/top)?", rest)
        if found:
            key = found.group(1)
            if key not in lib.collections:
                return Answer(404, "Collection not found")
            members = {k for k, i in lib.items.items() if key in i.get("collections", [])}
            items = [
                i
                for k, i in lib.items.items()
                if k in members or (not found.group(2) and i.get("parentItem") in members)
            ]
            return self._listing(path, query, items, base)
        found = re.fullmatch(r"/items/([A-Z0-9]{8})(/children|/file|/fulltext)?", rest)
        if found:
            key, sub = found.groups()
            if key not in lib.items:
                return Answer(404, "Item not found")
            if sub == "/children":
                items = [i for i in lib.items.values() if i.get("parentItem") == key]
                return self._listing(path, query, items, base)
            if sub == "/file":
                return self._file(key)
            if sub == "/fulltext":
                if key not in lib.fulltexts:
                    return Answer(404, "Not found")
                text, version = lib.fulltexts[key]
                return Answer(200, text, version=version)
            item = lib.items[key]
            return Answer(200, lib.envelope(item, base), version=item["version"])
        if rest in ("/collections", "/collections/top"):
            return self._listing(path, query, list(lib.collections.values()), base, "collection")
        found = re.fullmatch(r"/collections/([A-Z0-9]{8})", rest)
        if found:
            data = lib.collections.get(found.group(1))
            if data is None:
                return Answer(404, "Collection not found")
            return Answer(200, lib.collection_envelope(data, base), version=data["version"])
        if rest == "/deleted":
            if "since" not in query:
                return Answer(400, "'since' parameter must be provided")
            since = int(query["since"])
            keys = [k for k, v in lib.deleted.items() if v > since]
            payload = {"collections": [], "searches": [], "items": keys, "tags": [], "settings": []}
            return Answer(200, payload, version=lib.version)
        if rest == "/fulltext":
            since = int(query.get("since", 0))
            payload = {k: v for k, (_, v) in lib.fulltexts.items() if v > since}
            return Answer(200, payload, version=lib.version)
        return Answer(404, "Not found")

    def _listing(
        self,
        path: str,
        query: dict[str, str],
        objects: list[dict[str, Any]],
        base: str,
        kind: str = "item",
    ) -> Answer:
        lib = self.library
        if "since" in query:
            objects = [o for o in objects if o["version"] > int(query["since"])]
        if kind == "item" and query.get("includeTrashed") not in ("1", "true"):
            if not path.endswith("/trash"):
                objects = [o for o in objects if not o.get("deleted")]
        if "itemKey" in query:
            wanted = set(query["itemKey"].split(","))
            if len(wanted) > 50:
                return Answer(400, "Too many keys (max 50)")
            objects = [o for o in objects if o["key"] in wanted]
        if query.get("format") == "versions":
            return Answer(200, {o["key"]: o["version"] for o in objects}, version=lib.version)
        total = len(objects)
        start = int(query.get("start", 0))
        limit = max(1, min(int(query.get("limit", 25)), 100))
        page = objects[start : start + limit]
        wrap = lib.envelope if kind == "item" else lib.collection_envelope
        children = lib.children_count() if kind == "item" else None
        links = []
        if start + limit < total:
            last = ((total - 1) // limit) * limit
            links.append(f'<{self._link(path, query, start + limit)}>; rel="next"')
            links.append(f'<{self._link(path, query, last)}>; rel="last"')
        links.append(f'<https://www.zotero.org{path.removeprefix(self.prefix)}>; rel="alternate"')
        return Answer(
            200,
            [wrap(o, base, children) for o in page],
            version=lib.version,
            headers={"Total-Results": str(total), "Link": ", ".join(links)},
        )

    def _link(self, path: str, query: dict[str, str], start: int) -> str:
        params = {k: v for k, v in query.items() if k != "start"}
        params["start"] = str(start)
        return f"{self.origin}{self.prefix}{path}?{urlencode(params)}"

    def _file(self, key: str) -> Answer:
        if key not in self.library.files:
            return Answer(404, "Not found")
        if self.prefix:  # the local API hands out the file on disk
            path = Path(self._files.name) / key
            path.write_bytes(self.library.files[key])
            return Answer(302, "", headers={"Location": path.as_uri()})
        # zotero.org redirects to its storage, with a signed URL
        location = f"{self.origin}/_files/{key}?signature=invented&expires=1740823200"
        return Answer(302, "", headers={"Location": location, "Zotero-File-Compressed": "No"})

    def _write(self, h: BaseHTTPRequestHandler, method: str, key: str, body: bytes) -> Answer:
        lib = self.library
        if key not in lib.items:
            return Answer(404, "Item not found")
        hook = self.before_write.pop(key, None)
        if hook is not None:
            hook(lib)
        try:
            payload = json.loads(body)
        except ValueError:
            return Answer(400, "Invalid JSON")
        if not isinstance(payload, dict):
            return Answer(400, "Expected an object")
        expected = h.headers.get("If-Unmodified-Since-Version", payload.get("version"))
        if expected is None:
            return Answer(428, "If-Unmodified-Since-Version not provided")
        current = lib.items[key]["version"]
        if int(expected) != current:
            return Answer(
                412,
                "Item has been modified since specified version "
                f"(expected {expected}, found {current})",
            )
        tags = payload.get("tags")
        if tags is not None and not (
            isinstance(tags, list)
            and all(isinstance(t, dict) and isinstance(t.get("tag"), str) for t in tags)
        ):
            return Answer(400, "Invalid tags")
        fields = {k: v for k, v in payload.items() if k not in ("key", "version")}
        if method == "PUT":
            kept = {"key": key, "version": current}
            lib.items[key] = {**kept, **fields}
        version = lib.change(key, **fields)
        return Answer(204, "", version=version)


class Answer:
    """One HTTP answer, JSON unless it is text or bytes."""

    def __init__(
        self,
        status: int,
        payload: Any,
        *,
        version: int | None = None,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.headers = {"Zotero-API-Version": "3", **(headers or {})}
        if version is not None:
            self.headers["Last-Modified-Version"] = str(version)
        if isinstance(payload, bytes):
            self.body = payload
            self.content_type = content_type or "application/octet-stream"
        elif isinstance(payload, str):
            self.body = payload.encode("utf-8")
            self.content_type = content_type or "text/plain; charset=utf-8"
        else:
            self.body = json.dumps(payload, ensure_ascii=False, indent=4).encode("utf-8")
            self.content_type = content_type or "application/json"

    def send(self, h: BaseHTTPRequestHandler, *, drop: bool, malformed: bool) -> None:
        body = self.body
        if malformed:
            body = body[: max(1, len(body) // 2)]
        h.send_response(self.status, _REASONS.get(self.status))
        for name, value in self.headers.items():
            h.send_header(name, value)
        if self.status not in (204, 304):
            h.send_header("Content-Type", self.content_type)
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if drop:
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        if self.status not in (204, 304):
            h.wfile.write(body)


_REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    412: "Precondition Failed",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every answer on loopback.
    disable_nagle_algorithm = True

    def _go(self) -> None:
        self.server.app.handle(self, self.command)  # type: ignore[attr-defined]

    do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = _go

    def log_message(self, format: str, *args: Any) -> None:
        pass
