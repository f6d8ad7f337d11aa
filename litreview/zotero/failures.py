"""Zotero's failures as one-line errors a person can act on, and when to try again.

Every failure (403, 404, 412, 5xx, rate limits) becomes a :class:`ZoteroError` with
one line saying what failed and what to do; the API key shows only as its hint.
"""

from __future__ import annotations

import httpx2
from pyzotero import zotero_errors as ze

from litreview.errors import LitreviewError
from litreview.zotero.target import Target

MAX_WAIT = 600.0  # seconds; a longer wait asked for is an error, not a silent hang


class ZoteroError(LitreviewError):
    """A Zotero request failed; the message says which one and what to do about it."""


class ZoteroNotFound(ZoteroError):
    """Zotero has no such library, collection, item or file (HTTP 404)."""


class ZoteroConflict(ZoteroError):
    """The item changed in Zotero since it was read (HTTP 412)."""


def retry_after(exc: ze.PyZoteroError) -> float | None:
    """Seconds to wait before trying again, when the server said so (503)."""
    response = response_of(exc)
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


def error_for(
    what: str, exc: ze.PyZoteroError, target: Target, hint: str | None, write: bool
) -> ZoteroError:
    """The one-line error a person can act on for a failed request for ``what``."""
    if isinstance(exc, ze.TooManyRetriesError):
        return ZoteroError(f"Zotero is still rate-limiting requests for {what}: try again later")
    response = response_of(exc)
    status = response.status_code if response is not None else None
    if isinstance(exc, ze.PreConditionFailedError) or status == 412:
        return ZoteroConflict(f"{what} changed in Zotero since it was read (HTTP 412)")
    if isinstance(exc, ze.UserNotAuthorisedError) or status in (401, 403):
        access = "write to" if write else "read"
        if hint is None and not target.local:
            advice = (
                f"{target.label} needs an API key: pass --api-key or set LITREVIEW_ZOTERO_API_KEY"
            )
        elif target.local:
            advice = "allow other applications to use the local API in Zotero's settings"
        else:
            advice = f"check that the API key {hint} may {access} {target.label}"
        return ZoteroError(f"Zotero refused access (HTTP {status or 403}) to {what}: {advice}")
    if isinstance(exc, ze.ResourceNotFoundError) or status == 404:
        return ZoteroNotFound(
            f"Zotero found nothing (HTTP 404) for {what}: "
            "check the library type, library id and collection key"
        )
    if status is not None and status >= 500:
        return ZoteroError(f"the Zotero server failed (HTTP {status}) on {what}: try again later")
    body = first_line(response.text) if response is not None else first_line(exc)
    return ZoteroError(f"Zotero rejected the request for {what} (HTTP {status}): {body}")


# ------------------------------------------------------------ reads


def response_of(exc: BaseException) -> httpx2.Response | None:
    cause = exc.__cause__
    return cause.response if isinstance(cause, httpx2.HTTPStatusError) else None


def first_line(value: object) -> str:
    text = str(value).strip()
    line = text.splitlines()[0] if text else type(value).__name__
    return line if len(line) <= 200 else line[:197] + "..."
