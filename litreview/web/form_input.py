"""Form and query-string input made storable before any view reads it.

A NUL character (``%00``) in a form field used to reach the database, where PostgreSQL
refuses it: a 500 on most pages, the public sign-in form among them. The cure is in one
place, the request class: Werkzeug builds ``request.form``, ``request.args`` (and
``request.values``, made of them) with the class named by
``Request.parameter_storage_class``; ours cleans every key and value with the one rule
of :func:`litreview.ingest.text_clean.storable` as the multidict is made. So every view,
present and future, reads clean text without doing anything, and a view cannot forget.
A ``before_request`` hook could not do this (Werkzeug's multidicts are immutable, and
replacing ``request.form`` from outside would lean on its caching internals); a WTForms
filter would cover only the forms built with WTForms, which these pages are not. JSON
bodies (``request.get_json``) get the same cleaning, and so do the names of uploaded
files; their bytes are the file's business (the import's readers clean entries).

A NUL in the URL's path (``/r/a%00b/``) names no page: 404, before any view runs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, abort
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict

from litreview.ingest.text_clean import storable


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, FileStorage):
        # The name an upload came with is stored (an import's file name); its bytes are not
        # touched here.
        if value.filename:
            value.filename = storable(value.filename)
        return value
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value  # numbers, None


class StorableMultiDict(ImmutableMultiDict):
    """An immutable multidict whose text keys and values are :func:`storable`."""

    def __init__(self, mapping: Any = None) -> None:
        if mapping is None:
            super().__init__()
            return
        pairs = MultiDict(mapping).items(multi=True)
        super().__init__([(_clean(k), _clean(v)) for k, v in pairs])


class StorableRequest(Request):
    """Flask's request, with form, query-string and JSON text made storable."""

    parameter_storage_class = StorableMultiDict

    def get_json(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return _clean(super().get_json(*args, **kwargs))


def _no_nul_in_path(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values and any(isinstance(v, str) and storable(v) != v for v in values.values()):
        abort(404)


def init_app(app: Flask) -> None:
    app.request_class = StorableRequest
    app.url_value_preprocessor(_no_nul_in_path)
