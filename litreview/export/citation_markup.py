"""Text made safe for XML, and citeproc's HTML made safe: a citation read back into runs of
text with the formatting they carry (italic, bold, ...), written out again with only tags
we allow.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_text(value: str | None) -> str:
    """Text safe to put in XML (DOCX, SVG): control characters removed; None becomes ''."""
    if not value:
        return ""
    return _CONTROL.sub("", value)


# ---------------------------------------------------------------- citeproc's HTML, made safe

_TAGS = {"i": "i", "em": "i", "b": "b", "strong": "b", "u": "u", "sup": "sup", "sub": "sub"}


class _RunParser(HTMLParser):
    """citeproc's HTML as runs: known styling tags kept, anything else dropped, text kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[tuple[str, frozenset[str]]] = []
        self.stack: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = _TAGS.get(tag)
        if tag == "span":
            css = (dict(attrs).get("style") or "") + " " + (dict(attrs).get("class") or "")
            style = "sc" if "small-caps" in css or css.split() == ["sc"] else None
        self.stack.append(style)

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data:
            styles = frozenset(s for s in self.stack if s)
            if self.runs and self.runs[-1][1] == styles:
                self.runs[-1] = (self.runs[-1][0] + data, styles)
            else:
                self.runs.append((data, styles))


def parse_runs(markup: str) -> list[tuple[str, frozenset[str]]]:
    """Runs of text with their styles from (citeproc or our own) citation HTML."""
    parser = _RunParser()
    parser.feed(markup)
    parser.close()
    return [(clean_text(text), styles) for text, styles in parser.runs if clean_text(text)]


_OPEN = {
    "i": "<i>",
    "b": "<b>",
    "u": "<u>",
    "sup": "<sup>",
    "sub": "<sub>",
    "sc": '<span class="sc">',
}
_CLOSE = {"i": "</i>", "b": "</b>", "u": "</u>", "sup": "</sup>", "sub": "</sub>", "sc": "</span>"}
_ORDER = ("b", "i", "u", "sc", "sup", "sub")


def runs_to_html(runs: Iterable[tuple[str, frozenset[str]]]) -> str:
    """Runs back to HTML that we wrote ourselves: every text escaped, only known tags."""
    out = []
    for text, styles in runs:
        ordered = [s for s in _ORDER if s in styles]
        out.append("".join(_OPEN[s] for s in ordered))
        out.append(html.escape(text, quote=False))
        out.append("".join(_CLOSE[s] for s in reversed(ordered)))
    return "".join(out)
