"""Where to reach Zotero and what to read there: the Web API or the desktop app's local
API, a library or one collection of it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import httpx2

API_URL = "https://api.zotero.org"
# Written with "localhost": pyzotero follows the local API's redirect of a file to a
# file:// URL only from a localhost endpoint.
LOCAL_URL = "http://localhost:23119/api"


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


class LocalFiles(httpx2.BaseTransport):
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
