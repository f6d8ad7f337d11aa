"""The annotated bibliography as Markdown: readable as plain text, safe when rendered.

Imported text is untrusted: every character Markdown gives a meaning to (and ``<``,
so that no raw HTML passes a Markdown renderer) is escaped with a backslash.
"""

from __future__ import annotations

import re

from litreview.export import annotated
from litreview.export.annotated import AnnotatedBibliography, Entry
from litreview.export.citation_markup import clean_text

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~])")
_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))", re.MULTILINE)


def escape(text: str | None) -> str:
    """Text with Markdown's special characters backslash-escaped."""
    text = _SPECIAL.sub(r"\\\1", clean_text(text))
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark, digits, dot = match.groups()
    return f"{indent}\\{mark}" if mark else f"{indent}{digits}\\{dot}"


def citation(entry: Entry) -> str:
    """The citation with its italics and bold as Markdown."""
    out = []
    for text, styles in entry.citation.runs():
        escaped = escape(text)
        marks = ("**" if "b" in styles else "") + ("*" if "i" in styles else "")
        core = escaped.strip()
        if marks and core:
            lead = escaped[: len(escaped) - len(escaped.lstrip())]
            tail = escaped[len(escaped.rstrip()) :]
            escaped = f"{lead}{marks}{core}{marks[::-1]}{tail}"
        out.append(escaped)
    return "".join(out)


def render(bib: AnnotatedBibliography) -> str:
    """The whole bibliography as one Markdown document."""
    lines = [f"# Annotated bibliography: {escape(bib.review_title)}", ""]
    lines += [escape(annotated.heading_line(bib)), ""]
    for said in bib.filters:
        lines += [escape(said), ""]
    for section in bib.sections:
        lines += [f"## {escape(section.heading)}", ""]
        if section.description:
            lines += [escape(section.description), ""]
        if not section.entries:
            lines += ["*No records.*", ""]
        for number, entry in enumerate(section.entries, start=1):
            prefix = f"{number}. " if bib.numbered else ""
            lines += [prefix + citation(entry), ""]
            said = annotated.decision_text(entry)
            if said:
                lines += [f"*{escape(said)}*", ""]
            tag = annotated.tag_text(entry)
            if tag:
                lines += [f"> {escape(tag)}", ""]
            for view in entry.annotations:
                block = []
                if view.quote:
                    block.append(escape(annotated.quote_text(view)))
                if view.note:
                    block.append(escape(view.note.strip()))
                block.append(escape(annotated.attribution(view)))
                quoted = "\n>\n".join(
                    "\n".join(f"> {line}" if line else ">" for line in part.split("\n"))
                    for part in block
                )
                lines += [quoted, ""]
    return "\n".join(lines).rstrip() + "\n"
