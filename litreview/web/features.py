"""Which optional features' domain modules are present (search, tagging, exports, Zotero).

Their pages always exist, so the routes (and the access matrix) do not change as the
features land; a page whose feature is missing says so instead of failing.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

# feature -> (module, names it must offer)
FEATURES = {
    "search": ("litreview.search", ("search_review",)),
    "tagging": ("litreview.tagging", ("tag_record", "untag_record", "annotate")),
    "export": ("litreview.export", ()),
    "zotero": ("litreview.zotero_sync", ()),
}


def available() -> dict[str, bool]:
    """feature -> whether its module imports and offers what the pages call."""
    found = {}
    for feature, (module_name, names) in FEATURES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            found[feature] = False
            continue
        except Exception:  # noqa: BLE001 - a half-written module must not break the app
            log.exception("feature %s did not load", feature)
            found[feature] = False
            continue
        found[feature] = all(hasattr(module, name) for name in names)
    return found
