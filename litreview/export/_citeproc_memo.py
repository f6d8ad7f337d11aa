"""Make citeproc-py remember answers that never change once a style is parsed.

Measured on APA 7th with citeproc-py 0.11.1, two thirds of the time of formatting a
citation went to ``xpath_search`` (the style's XML searched again for the same macro,
term or ancestor at every use) and to ``calls_variable`` (whether a node prints a
variable: a walk down its subtree, at every group). Both depend only on the style's
tree, which citeproc-py does not change after parsing, except to add a missing
``cs:name`` under a ``cs:names`` (neither answer depends on it). Remembering them
makes APA about four times faster with the same output (tests/test_export.py
formats the same records with and without this and compares).

Keys are the element proxies themselves: a proxy kept in the dict stays the one lxml
hands out for that node, so the memo holds while the style lives. Our styles are
parsed once per process and kept, so the memo stays small (a few thousand entries).

Only installed for the citeproc-py versions it was checked against; any other
version runs unchanged, only slower.
"""

from __future__ import annotations

import logging
from typing import Any

import citeproc
from citeproc import model
from citeproc import source as citeproc_source

log = logging.getLogger(__name__)

CHECKED_VERSIONS = ("0.11.",)

_xpath_memo: dict[tuple[Any, str], Any] = {}
_calls_memo: dict[Any, bool] = {}
_split_memo: dict[tuple[Any, str], tuple[str, ...]] = {}
_root_memo: dict[Any, Any] = {}
_originals: dict[tuple[type, str], Any] = {}


def _remembered_xpath(original):
    def xpath_search(self, expression):
        key = (self, expression)
        try:
            return _xpath_memo[key]
        except KeyError:
            found = _xpath_memo[key] = original(self, expression)
            return found

    return xpath_search


def _remembered_root(original):
    def get_root(self):
        try:
            return _root_memo[self]
        except KeyError:
            root = _root_memo[self] = original(self)
            return root

    return get_root


def _remembered_calls(original):
    def calls_variable(self):
        try:
            return _calls_memo[self]
        except KeyError:
            answer = _calls_memo[self] = original(self)
            return answer

    return calls_variable


def _remembered_reference(original):
    # An item's reference is found through three lookups, hundreds of times per item;
    # it is the same for the item's whole life (one bibliography, one source).
    def reference(self):
        attributes = self.__dict__
        try:
            return attributes["_litreview_reference"]
        except KeyError:
            found = attributes["_litreview_reference"] = original.fget(self)
            return found

    return property(reference)


def _split(node: Any, attribute: str) -> tuple[str, ...]:
    key = (node, attribute)
    try:
        return _split_memo[key]
    except KeyError:
        words = _split_memo[key] = tuple(node.get(attribute).split())
        return words


def _remembered_type(original):
    # As citeproc-py's If._type, with the attribute split once per node.
    def _type(self, item):
        kind = item.reference.type
        return [word.lower() == kind for word in _split(self, "type")]

    return _type


def _remembered_variable(original):
    # As citeproc-py's If._variable, with the attribute split once per node.
    def _variable(self, item):
        reference = item.reference
        return [
            ("locator" in item) if word == "locator" else (word.replace("-", "_") in reference)
            for word in _split(self, "variable")
        ]

    return _variable


def _targets() -> list[tuple[type, str]]:
    found = [
        (model.CitationStylesElement, "xpath_search"),
        (model.CitationStylesElement, "get_root"),
        (citeproc_source.CitationItem, "reference"),
        (model.If, "_type"),
        (model.If, "_variable"),
    ]
    for value in vars(model).values():
        if isinstance(value, type) and "calls_variable" in vars(value):
            found.append((value, "calls_variable"))
    return found


def installed() -> bool:
    return bool(_originals)


def install() -> bool:
    """Remember citeproc-py's style lookups; True when installed (a checked version)."""
    if _originals:
        return True
    if not citeproc.__version__.startswith(CHECKED_VERSIONS):
        log.info("citeproc-py %s not checked: formatting without memo", citeproc.__version__)
        return False
    wrappers = {
        "xpath_search": _remembered_xpath,
        "get_root": _remembered_root,
        "calls_variable": _remembered_calls,
        "reference": _remembered_reference,
        "_type": _remembered_type,
        "_variable": _remembered_variable,
    }
    for cls, name in _targets():
        original = vars(cls)[name]
        _originals[(cls, name)] = original
        setattr(cls, name, wrappers[name](original))
    return True


def uninstall() -> None:
    """Put citeproc-py back as it was (for the test that compares outputs)."""
    for (cls, name), original in _originals.items():
        setattr(cls, name, original)
    _originals.clear()
    _xpath_memo.clear()
    _calls_memo.clear()
    _split_memo.clear()
    _root_memo.clear()
