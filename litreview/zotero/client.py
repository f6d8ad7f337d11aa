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
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx2
from pyzotero import zotero
from pyzotero import zotero_errors as ze

from litreview.errors import LitreviewError

log = logging.getLogger(__name__)

API_URL = "https://api.zotero.org"
# Written with "localhost": pyzotero follows the local API's redirect of a file to a
# file:// URL only from a localhost endpoint.
LOCAL_URL = "http://localhost:23119/api"
PAGE = 100  # Zotero's largest page
KEYS_PER_REQUEST = 50  # Zotero's limit for itemKey=...
RETRIES = 3  # attempts when the server says to come back later (503 + Retry-After)
MAX_WAIT = 600.0  # seconds; a longer wait asked for is an error, not a silent hang
TIMEOUT = 30.0
DOWNLOAD_WORKERS = 4  # files and full texts fetched at once

T = TypeVar("T")


class ZoteroError(LitreviewError):
    """A Zotero request failed; the message says which one and what to do about it."""


class ZoteroNotFound(ZoteroError):
    """Zotero has no such library, collection, item or file (HTTP 404)."""


class ZoteroConflict(ZoteroError):
    """The item changed in Zotero since it was read (HTTP 412)."""


def key_hint(api_key: str | None) -> str | None:
    """The API key as it may be shown: its last four characters only."""
    if not api_key:
        return None
    return "****" + api_key[-4:]


def api_url(local: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """Where to reach Zotero: the local API, or ``LITREVIEW_ZOTERO_API_URL`` (default Zotero's).

    ``LITREVIEW_ZOTERO_LOCAL_URL`` moves the local API (the desktop app's port is fixed,
    but a test server is not).
    """
    env = os.environ if environ is None else environ
    if local:
        return (env.get("LITREVIEW_ZOTERO_LOCAL_URL") or LOCAL_URL).rstrip("/")
    return (env.get("LITREVIEW_ZOTERO_API_URL") or API_URL).rstrip("/")


@dataclass(frozen=True)
class Target:
    """A Zotero library, or one collection of it."""

    library_type: str  # "user" or "group"
    library_id: str
    collection_key: str | None = None
    local: bool = False

    @property
    def label(self) -> str:
        if self.local:
            return "the Zotero desktop library"
        return f"{self.library_type} library {self.library_id}"


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
            mounts={"file://": _LocalFiles()} if target.local else None,
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
                    wait = self._retry_after(exc)
                    if wait is None or attempt == RETRIES:
                        raise
                    time.sleep(wait)
            raise AssertionError("unreachable")
        except ze.PyZoteroError as exc:
            raise self._error(what, exc, write) from None
        except httpx2.TimeoutException:
            raise ZoteroError(
                f"Zotero did not answer within {TIMEOUT:.0f} s when asked for {what}: "
                "try again later"
            ) from None
        except httpx2.ConnectError as exc:
            raise ZoteroError(f"cannot reach Zotero at {self.base_url}: {_line(exc)}") from None
        except httpx2.TransportError as exc:
            raise ZoteroError(
                f"lost the connection to Zotero at {self.base_url} while asking for {what}: "
                f"{_line(exc)}"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ZoteroError(f"Zotero sent malformed JSON for {what}: {_line(exc)}") from None
        finally:
            self.seconds += time.perf_counter() - started

    def _retry_after(self, exc: ze.PyZoteroError) -> float | None:
        """Seconds to wait before trying again, when the server said so (503)."""
        response = _response_of(exc)
        if response is None or response.status_code != 503:
            return None
        value = response.headers.get("retry-after")
        try:
            wait = float(value) if value is not None else None
        except ValueError:
            return None
        if wait is None or wait > MAX_WAIT:
            return None
        return max(wait, 0.0)

    def _error(self, what: str, exc: ze.PyZoteroError, write: bool) -> ZoteroError:
        if isinstance(exc, ze.TooManyRetriesError):
            return ZoteroError(
                f"Zotero is still rate-limiting requests for {what}: try again later"
            )
        response = _response_of(exc)
        status = response.status_code if response is not None else None
        if isinstance(exc, ze.PreConditionFailedError) or status == 412:
            return ZoteroConflict(f"{what} changed in Zotero since it was read (HTTP 412)")
        if isinstance(exc, ze.UserNotAuthorisedError) or status in (401, 403):
            access = "write to" if write else "read"
            if self.hint is None and not self.target.local:
                advice = (
                    f"{self.target.label} needs an API key: pass --api-key or set "
                    "LITREVIEW_ZOTERO_API_KEY"
                )
            elif self.target.local:
                advice = "allow other applications to use the local API in Zotero's settings"
            else:
                advice = f"check that the API key {self.hint} may {access} {self.target.label}"
            return ZoteroError(f"Zotero refused access (HTTP {status or 403}) to {what}: {advice}")
        if isinstance(exc, ze.ResourceNotFoundError) or status == 404:
            return ZoteroNotFound(
                f"Zotero found nothing (HTTP 404) for {what}: "
                "check the library type, library id and collection key"
            )
        if status is not None and status >= 500:
            return ZoteroError(
                f"the Zotero server failed (HTTP {status}) on {what}: try again later"
            )
        body = _line(response.text) if response is not None else _line(exc)
        return ZoteroError(f"Zotero rejected the request for {what} (HTTP {status}): {body}")

    # ------------------------------------------------------------ reads

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


class _LocalFiles(httpx2.BaseTransport):
    """Reads the ``file://`` URL the desktop app's local API redirects a file download to.

    Our own client follows the redirect with this, so pyzotero never falls back to a
    client of its own (which it leaves open). Only mounted for the local API, whose
    server is this machine's Zotero.
    """

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host not in ("", "localhost", "127.0.0.1", "::1"):
            return httpx2.Response(403, request=request)
        path = unquote(request.url.path)
        if re.match(r"^/[A-Za-z]:/", path):  # file:///C:/Users/... on Windows
            path = path[1:]
        try:
            content = Path(path).read_bytes()
        except FileNotFoundError:
            return httpx2.Response(404, request=request)
        except OSError:
            return httpx2.Response(403, request=request)
        return httpx2.Response(
            200,
            headers={"Content-Type": "application/octet-stream"},
            content=content,
            request=request,
        )


def _response_of(exc: BaseException) -> httpx2.Response | None:
    cause = exc.__cause__
    return cause.response if isinstance(cause, httpx2.HTTPStatusError) else None


def _line(value: object) -> str:
    text = str(value).strip()
    line = text.splitlines()[0] if text else type(value).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def _objects(what: str, found: Any) -> list[dict[str, Any]]:
    """A page of Zotero objects, each with its ``data``; anything else is an error."""
    if not isinstance(found, list) or not all(
        isinstance(o, dict) and isinstance(o.get("data"), dict) for o in found
    ):
        raise ZoteroError(f"Zotero sent an unexpected answer for {what}: not a list of items")
    return found
