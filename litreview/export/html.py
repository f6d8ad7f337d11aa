"""The annotated bibliography as one self-contained, printable HTML page.

Every text from the database is escaped here; citations come as runs of text parsed
from citeproc-py's output (see citation_markup.parse_runs) and are written back with our own
escaping, so a ``<script>`` in a title is text on the page, never markup.
"""

from __future__ import annotations

from html import escape

from litreview.export import annotated
from litreview.export.annotated import AnnotatedBibliography
from litreview.export.citation_markup import clean_text, runs_to_html

CSS = """
body { font-family: Georgia, "Times New Roman", serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; color: #111; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #999; }
.meta, .filters { color: #444; font-size: .9em; margin: .2em 0; }
.description { font-style: italic; color: #333; }
.citation { padding-left: 2em; text-indent: -2em; margin: 1em 0 .3em; }
.number { display: inline-block; min-width: 1.8em; text-indent: 0; }
.annotation { margin: .2em 0 .6em 2em; padding-left: .8em; border-left: 3px solid #ccc; }
.annotation p { margin: .15em 0; white-space: pre-wrap; }
.quote { font-style: italic; }
.by, .decision { color: #555; font-size: .9em; }
.empty { color: #666; }
.sc { font-variant: small-caps; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               .entry { break-inside: avoid; } }
"""


def _text(value: str | None) -> str:
    return escape(clean_text(value))


def render(bib: AnnotatedBibliography) -> str:
    """The whole page as a string; no external resources (styles inline, no scripts)."""
    title = f"Annotated bibliography: {bib.review_title}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_text(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="meta">{_text(annotated.heading_line(bib))}</p>',
    ]
    out += [f'<p class="filters">{_text(said)}</p>' for said in bib.filters]
    for section in bib.sections:
        out.append("<section>")
        out.append(f"<h2>{_text(section.heading)}</h2>")
        if section.description:
            out.append(f'<p class="description">{_text(section.description)}</p>')
        if not section.entries:
            out.append('<p class="empty">No records.</p>')
        for number, entry in enumerate(section.entries, start=1):
            out.append(
                f'<div class="entry" id="q{_text(section.code or "untagged")}-r{entry.record_id}">'
            )
            prefix = f'<span class="number">{number}.</span>' if bib.numbered else ""
            out.append(f'<p class="citation">{prefix}{runs_to_html(entry.citation.runs())}</p>')
            said = annotated.decision_text(entry)
            if said:
                out.append(f'<p class="annotation decision">{_text(said)}</p>')
            tag = annotated.tag_text(entry)
            if tag:
                out.append(f'<p class="annotation tagged by">{_text(tag)}</p>')
            for view in entry.annotations:
                out.append('<div class="annotation">')
                if view.quote:
                    out.append(f'<p class="quote">{_text(annotated.quote_text(view))}</p>')
                if view.note:
                    out.append(f'<p class="note">{_text(view.note.strip())}</p>')
                out.append(f'<p class="by">{_text(annotated.attribution(view))}</p>')
                out.append("</div>")
            out.append("</div>")
        out.append("</section>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
