"""A small wrapper around pyzotero: where to connect, waits, pages, and errors a person can read.

pyzotero does the talking (Zotero Web API v3, or the desktop app's local API); this
module adds what litreview needs around it:

- the base URL from ``LITREVIEW_ZOTERO_API_URL`` (pyzotero takes none in its
  constructor, so the client's ``endpoint`` is set), or the local API;
- rate limits: pyzotero already waits out ``Backoff`` and ``Retry-After`` (429) before
  its next request; a 503 with ``Retry-After`` is waited out and retried here;
- every page of a listing, following the ``next`` links and checking that the pages
  add up to the ``Total-Results`` the server reported and that the library did not
  change between pages;
- every failure (403, 404, 5xx, a dropped connection, malformed JSON) as a
  :class:`ZoteroError` with one line saying what failed and what to do;
- the API key is never printed or logged: :func:`key_hint` shows ``****abcd``.

Where to connect lives in :mod:`litreview.zotero.target`, the errors and when to try
again in :mod:`litreview.zotero.failures`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from pyzotero import zotero
from pyzotero import zotero_errors as ze

from litreview.zotero.failures import (
    ZoteroConflict,
    ZoteroError,
    ZoteroNotFound,
    error_for,
    first_line,
    retry_after,
)
from litreview.zotero.target import LocalFiles, Target, api_url, key_hint

# Callers (the CLI, the web app, sync) import these from here too.
__all__ = [
    "Page",
    "Target",
    "ZoteroClient",
    "ZoteroConflict",
    "ZoteroError",
    "ZoteroNotFound",
    "api_url",
    "key_hint",
]

log = logging.getLogger(__name__)

PAGE = 100  # Zotero's largest page
KEYS_PER_REQUEST = 50  # Zotero's limit for itemKey=...
RETRIES = 3  # attempts when the server says to come back later (503 + Retry-After)
TIMEOUT = 30.0
DOWNLOAD_WORKERS = 4  # files and full texts fetched at once

T = TypeVar("T")


@dataclass
class Page:
    """Every item of a listing, and the library version it was read at."""

    items: list[dict[str, Any]]
    version: int | None
    total: int


class ZoteroClient:
    """One connection to one Zotero library through pyzotero; close it when done.

    ``requests`` counts the HTTP requests made and ``seconds`` the time spent in
    them (waits included), for the reports and the benchmark.
    """

    def __init__(
        self,
        target: Target,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.target = target
        self.hint = key_hint(api_key)
        self._api_key = api_key  # for the download helpers; never logged or shown
        self._timeout = timeout
        self.base_url = base_url or api_url(target.local)
        self.requests = 0
        self.seconds = 0.0
        self._http = httpx2.Client(
            follow_redirects=True,
            timeout=timeout,
            # The local API is on this machine: never through a proxy.
            trust_env=not target.local,
            event_hooks={"request": [self._sent], "response": [self._received]},
            mounts={"file://": LocalFiles()} if target.local else None,
        )
        self._last: httpx2.Response | None = None
        self.zot = zotero.Zotero(
            target.library_id,
            target.library_type,
            api_key,
            local=target.local,
            client=self._http,
        )
        self.zot.endpoint = self.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZoteroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _sent(self, request: httpx2.Request) -> None:
        self.requests += 1

    def _received(self, response: httpx2.Response) -> None:
        self._last = response
        wait = response.headers.get("backoff") or response.headers.get("retry-after")
        if wait:
            log.warning("Zotero asks to wait %s s before the next request", wait)

    def _header(self, name: str) -> int | None:
        value = self._last.headers.get(name) if self._last is not None else None
        try:
            return int(value) if value is not None else None
        except ValueError:
            raise ZoteroError(
                f"Zotero sent a {name} header that is not a number: {value!r}"
            ) from None

    def call(self, what: str, fn: Callable[..., T], *args: Any, write: bool = False) -> T:
        """``fn(*args)`` with Zotero's failures turned into one-line ZoteroErrors.

        ``what`` names the thing asked for, for the message ("the items of group
        library 12345").
        """
        started = time.perf_counter()
        try:
            for attempt in range(1, RETRIES + 1):
                try:
                    return fn(*args)
                except ze.HTTPError as exc:
                    wait = retry_after(exc)
                    if wait is None or attempt == RETRIES:
                        raise
                    time.sleep(wait)
            raise AssertionError("unreachable")
        except ze.PyZoteroError as exc:
            raise error_for(what, exc, self.target, self.hint, write) from None
        except httpx2.TimeoutException:
            raise ZoteroError(
                f"Zotero did not answer within {TIMEOUT:.0f} s when asked for {what}: "
                "try again later"
            ) from None
        except httpx2.ConnectError as exc:
            raise ZoteroError(
                f"cannot reach Zotero at {self.base_url}: {first_line(exc)}"
            ) from None
        except httpx2.TransportError as exc:
            raise ZoteroError(
                f"lost the connection to Zotero at {self.base_url} while asking for {what}: "
                f"{first_line(exc)}"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ZoteroError(f"Zotero sent malformed JSON for {what}: {first_line(exc)}") from None
        finally:
            self.seconds += time.perf_counter() - started

    def pages(self, what: str, first: Callable[[], Any], progress: Progress | None = None) -> Page:
        """Every page of a listing, following ``next`` links from the first.

        Raises ZoteroError when the pages do not add up to the reported total, or
        when the library's version changed between pages (read again then).
        """
        items = _objects(what, self.call(what, first))
        total = self._header("Total-Results")
        version = self._header("Last-Modified-Version")
        if total is None:
            total = len(items)
        if progress:
            progress(len(items), total)
        while self.zot.links and self.zot.links.get("next"):
            page = _objects(what, self.call(what, self.zot.follow))
            now = self._header("Last-Modified-Version")
            if version is not None and now is not None and now != version:
                raise ZoteroError(
                    f"{self.target.label} changed while it was being read (version {version}, "
                    f"then {now}): run the command again"
                )
            items.extend(page)
            if progress:
                progress(len(items), total)
            if not page:
                break
        if len(items) != total:
            raise ZoteroError(
                f"Zotero reported {total} items in {what} but sent {len(items)}: "
                "run the command again"
            )
        return Page(items, version, total)

    def items(self, *, since: int | None = None, progress: Progress | None = None) -> Page:
        """The library's (or the collection's) items, top-level and children, trash included."""
        params: dict[str, Any] = {"limit": PAGE, "includeTrashed": 1}
        if since is not None:
            params["since"] = since
        key = self.target.collection_key
        if key:
            what = f"the items of collection {key} in {self.target.label}"
            return self.pages(what, lambda: self.zot.collection_items(key, **params), progress)
        what = f"the items of {self.target.label}"
        return self.pages(what, lambda: self.zot.items(**params), progress)

    def collection_name(self, key: str) -> str:
        """The name of a collection."""
        what = f"collection {key} in {self.target.label}"
        found = self.call(what, self.zot.collection, key)
        name = found.get("data", {}).get("name") if isinstance(found, dict) else None
        if not isinstance(name, str):
            raise ZoteroError(f"Zotero sent no name for {what}")
        return name

    def deleted(self, since: int) -> list[str]:
        """Keys of the items deleted from the library since a version."""
        what = f"the items deleted from {self.target.label}"
        found = self.call(what, lambda: self.zot.deleted(since=since))
        keys = found.get("items") if isinstance(found, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ZoteroError(f"Zotero sent an unexpected answer for {what}")
        return keys

    def fulltext_versions(self, since: int) -> dict[str, int]:
        """Attachment key -> version of each full text indexed since a version.

        The local API has no full-text listing; there it is empty.
        """
        what = f"the full-text index of {self.target.label}"
        try:
            found = self.call(what, self.zot.new_fulltext, since)
        except ZoteroNotFound:
            return {}
        except ZoteroError:
            if self.target.local:
                return {}
            raise
        if not isinstance(found, dict):
            raise ZoteroError(f"Zotero sent an unexpected answer for {what}")
        return {str(k): v for k, v in found.items() if isinstance(v, int)}

    def fulltext(self, key: str) -> str | None:
        """The text Zotero indexed for an attachment, or None when it has none."""
        what = f"the full text of attachment {key}"
        try:
            found = self.call(what, self.zot.fulltext_item, key)
        except ZoteroNotFound:
            return None
        content = found.get("content") if isinstance(found, dict) else None
        return content if isinstance(content, str) and content.strip() else None

    def file(self, key: str) -> bytes | None:
        """The file of an attachment, or None when it is not on the server (404)."""
        what = f"the file of attachment {key}"
        try:
            content = self.call(what, self.zot.file, key)
        except ZoteroNotFound:
            return None
        if not isinstance(content, bytes):
            raise ZoteroError(f"Zotero sent no file for {what}")
        return content

    def files(self, keys: list[str]) -> Iterator[tuple[str, bytes | None]]:
        """Each attachment's file (None when not on the server), in order, fetched in parallel."""
        return self._parallel(keys, "file")

    def fulltexts(self, keys: list[str]) -> Iterator[tuple[str, str | None]]:
        """Each attachment's indexed text (None when none), in order, fetched in parallel."""
        return self._parallel(keys, "fulltext")

    def _parallel(self, keys: list[str], method: str) -> Iterator[tuple[str, Any]]:
        """``method`` for every key, on up to DOWNLOAD_WORKERS connections at once.

        Downloads are one request (or two, with storage's redirect) each, so on a real
        network they wait on latency: a few at a time cut that. Each worker has its own
        pyzotero client (they keep per-request state); results come back in order, at
        most a few ahead of the caller. The first failure stops the rest and is raised.
        """
        if len(keys) < 2 or DOWNLOAD_WORKERS < 2:
            for key in keys:
                yield key, getattr(self, method)(key)
            return
        local = threading.local()
        helpers: list[ZoteroClient] = []
        lock = threading.Lock()

        def work(key: str) -> Any:
            helper = getattr(local, "client", None)
            if helper is None:
                helper = ZoteroClient(
                    self.target, self._api_key, base_url=self.base_url, timeout=self._timeout
                )
                local.client = helper
                with lock:
                    helpers.append(helper)
            # A Backoff or Retry-After one connection was told holds for all of them.
            helper.zot.backoff_until = max(helper.zot.backoff_until, self.zot.backoff_until)
            try:
                return getattr(helper, method)(key)
            finally:
                self.zot.backoff_until = max(helper.zot.backoff_until, self.zot.backoff_until)

        pool = ThreadPoolExecutor(DOWNLOAD_WORKERS, thread_name_prefix="zotero-download")
        pending: deque[tuple[str, Future[Any]]] = deque()
        todo = iter(keys)
        try:
            for key in todo:
                pending.append((key, pool.submit(work, key)))
                if len(pending) >= 2 * DOWNLOAD_WORKERS:
                    break
            while pending:
                key, future = pending.popleft()
                started = time.perf_counter()
                try:
                    result = future.result()
                finally:
                    self.seconds += time.perf_counter() - started
                following = next(todo, None)
                if following is not None:
                    pending.append((following, pool.submit(work, following)))
                yield key, result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for helper in helpers:
                self.requests += helper.requests
                helper.close()

    def item(self, key: str) -> dict[str, Any]:
        """One item as the API sends it (``key``, ``version``, ``data`` ...)."""
        what = f"item {key} in {self.target.label}"
        found = self.call(what, self.zot.item, key)
        [found] = _objects(what, [found] if isinstance(found, dict) else found)
        return found

    def items_by_key(self, keys: list[str]) -> list[dict[str, Any]]:
        """The items with these keys (those that still exist), 50 to a request."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), KEYS_PER_REQUEST):
            chunk = keys[start : start + KEYS_PER_REQUEST]
            what = f"{len(chunk)} items of {self.target.label}"
            found += _objects(
                what,
                self.call(
                    what,
                    lambda chunk=chunk: self.zot.items(
                        itemKey=",".join(chunk), limit=KEYS_PER_REQUEST, includeTrashed=1
                    ),
                ),
            )
        return found

    # ------------------------------------------------------------ writes

    def set_tags(self, key: str, version: int, tags: list[dict[str, Any]]) -> int | None:
        """Replace an item's tags if it is still at ``version``; returns its new version.

        Only the tags are sent (a PATCH), so nothing else a person changed meanwhile
        is overwritten; Zotero refuses with 412 (ZoteroConflict) when the item moved on.
        """
        what = f"item {key} in {self.target.label}"
        payload = {"key": key, "version": version, "tags": tags}
        self.call(what, self.zot.update_item, payload, write=True)
        return self._header("Last-Modified-Version")


Progress = Callable[[int, int], None]


def _objects(what: str, found: Any) -> list[dict[str, Any]]:
    """A page of Zotero objects, each with its ``data``; anything else is an error."""
    if not isinstance(found, list) or not all(
        isinstance(o, dict) and isinstance(o.get("data"), dict) for o in found
    ):
        raise ZoteroError(f"Zotero sent an unexpected answer for {what}: not a list of items")
    return found
