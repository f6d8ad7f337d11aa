"""The PRISMA 2020 flow diagram drawn from its numbers: boxes laid out, then written as SVG
or PNG.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from litreview.errors import Invalid
from litreview.export.citation_markup import clean_text

if TYPE_CHECKING:
    # Only named in annotations: prisma.py imports this module to draw.
    from litreview.export.prisma import PrismaNumbers

# ---------------------------------------------------------------- layout

FONT_SIZE = 13
LINE_HEIGHT = 17
PAD = 10
BOX_WIDTH = 300
SIDE_WIDTH = 300
GAP_X = 60
GAP_Y = 34
MARGIN = 20
BAND = 26  # the phase labels on the left
CHAR_WIDTH = 0.56 * FONT_SIZE  # a generous average for sans-serif text: wrap before it overflows


@dataclass
class Box:
    """A box of the diagram: where it is, its lines of text, and its id for tests."""

    id: str
    x: int
    y: int
    width: int
    lines: list[str]
    bold_lines: int = 1

    @property
    def height(self) -> int:
        return len(self.lines) * LINE_HEIGHT + 2 * PAD

    @property
    def mid_y(self) -> int:
        return self.y + self.height // 2


@dataclass
class Layout:
    """Boxes, arrows (point lists) and phase bands, in pixels."""

    width: int
    height: int
    boxes: list[Box]
    arrows: list[list[tuple[int, int]]]
    phases: list[tuple[str, int, int]]  # label, top, bottom
    title: str


def _wrap(text: str, width: int) -> list[str]:
    limit = max(8, int((width - 2 * PAD) / CHAR_WIDTH))
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if not word:
                continue
            while len(word) > limit:  # a very long word (a URL) is cut
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:limit])
                word = word[limit:]
            candidate = f"{line} {word}" if line else word
            if len(candidate) > limit:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return [line.replace("\u00a0", " ") for line in lines]


def _n(count: int) -> str:
    # No-break spaces keep "(n = 12)" on one line; they are written as plain spaces.
    return f"(n\u00a0=\u00a0{count:,})"


def _listing(heading: str, items: list[str]) -> str:
    """A box's heading, with a colon only when lines follow it."""
    return f"{heading}:" if items else heading


def layout(n: PrismaNumbers, title: str) -> Layout:
    """Where every box and arrow goes: the main column on the left, exclusions on the right."""
    left = MARGIN + BAND + 10
    right = left + BOX_WIDTH + GAP_X

    def box(id_: str, x: int, width: int, heading: str, details: list[str]) -> Box:
        lines = _wrap(heading, width)
        bold = len(lines)
        for detail in details:
            lines += _wrap(detail, width)
        return Box(id_, x, 0, width, lines, bold)

    sources = [f"{clean_text(s.source)} {_n(s.records)}" for s in n.identified]
    rows: list[tuple[str, Box, Box | None]] = []
    rows.append(
        (
            "Identification",
            box(
                "identified",
                left,
                BOX_WIDTH,
                _listing(f"Records identified {_n(n.identified_total)}", sources),
                sources,
            ),
            box(
                "removed",
                right,
                SIDE_WIDTH,
                "Records removed before screening:",
                [
                    f"Duplicate records removed {_n(n.duplicates_removed)}",
                    f"Records removed for other reasons (withdrawn from the library) "
                    f"{_n(n.removed_other)}",
                ],
            ),
        )
    )
    awaiting = [f"Awaiting a decision {_n(n.awaiting_screening)}"] if n.awaiting_screening else []
    rows.append(
        (
            "Screening",
            box("screened", left, BOX_WIDTH, f"Records screened {_n(n.screened)}", awaiting),
            box(
                "excluded-screening",
                right,
                SIDE_WIDTH,
                f"Records excluded {_n(n.excluded_screening)}",
                ["at title/abstract screening"],
            ),
        )
    )
    rows.append(
        (
            "Screening",
            box(
                "sought",
                left,
                BOX_WIDTH,
                f"Reports sought for retrieval {_n(n.sought)}",
                [f"Awaiting full text {_n(n.awaiting_retrieval)}"] if n.awaiting_retrieval else [],
            ),
            box(
                "not-retrieved",
                right,
                SIDE_WIDTH,
                f"Reports not retrieved {_n(n.not_retrieved)}",
                [],
            ),
        )
    )
    reasons = [f"{clean_text(r.reason)} {_n(r.records)}" for r in n.excluded_reasons]
    waiting = [f"Awaiting a decision {_n(n.awaiting_assessment)}"] if n.awaiting_assessment else []
    rows.append(
        (
            "Screening",
            box(
                "assessed",
                left,
                BOX_WIDTH,
                f"Reports assessed for eligibility {_n(n.assessed)}",
                waiting,
            ),
            box(
                "excluded-eligibility",
                right,
                SIDE_WIDTH,
                _listing(f"Reports excluded {_n(n.excluded_eligibility)}", reasons),
                reasons,
            ),
        )
    )
    rows.append(
        (
            "Included",
            box("included", left, BOX_WIDTH, f"Studies included in review {_n(n.included)}", []),
            None,
        )
    )

    heading_lines = _wrap(title, BOX_WIDTH + GAP_X + SIDE_WIDTH)
    y = MARGIN + len(heading_lines) * (LINE_HEIGHT + 2) + 12
    arrows: list[list[tuple[int, int]]] = []
    phases: list[tuple[str, int, int]] = []
    boxes: list[Box] = []
    previous: Box | None = None
    for phase, main, side in rows:
        height = max(main.height, side.height if side else 0)
        if phase != "Screening":  # a one-row phase: its band must hold its label
            height = max(height, int(len(phase) * CHAR_WIDTH * 1.25) + 16)
        main.y = y + (height - main.height) // 2
        boxes.append(main)
        if side:
            side.y = y + (height - side.height) // 2
            boxes.append(side)
            arrows.append([(main.x + main.width, main.mid_y), (side.x, main.mid_y)])
        if previous is not None:
            x = previous.x + previous.width // 2
            arrows.append([(x, previous.y + previous.height), (x, main.y)])
        if phases and phases[-1][0] == phase:
            phases[-1] = (phase, phases[-1][1], y + height)
        else:
            phases.append((phase, y, y + height))
        previous = main
        y += height + GAP_Y
    width = right + SIDE_WIDTH + MARGIN
    return Layout(width, y - GAP_Y + MARGIN, boxes, arrows, phases, title)


# ---------------------------------------------------------------- SVG


def to_svg(n: PrismaNumbers, title: str) -> str:
    """The diagram as a standalone SVG; every text is escaped."""
    lay = layout(n, title)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width}" height="{lay.height}" '
        f'viewBox="0 0 {lay.width} {lay.height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="{FONT_SIZE}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
        f'<rect width="{lay.width}" height="{lay.height}" fill="#ffffff"/>',
    ]
    heading_lines = _wrap(title, BOX_WIDTH + GAP_X + SIDE_WIDTH)
    for i, line in enumerate(heading_lines):
        out.append(
            f'<text x="{MARGIN + BAND + 10}" y="{MARGIN + (i + 1) * (LINE_HEIGHT + 2)}" '
            f'font-size="{FONT_SIZE + 2}" font-weight="bold">{escape(line)}</text>'
        )
    for label, top, bottom in lay.phases:
        cx, cy = MARGIN + BAND // 2, (top + bottom) // 2
        out.append(
            f'<g class="phase"><rect x="{MARGIN}" y="{top}" width="{BAND}" height="{bottom - top}" '
            f'rx="4" fill="#9dc3e6"/><text x="{cx}" y="{cy}" text-anchor="middle" '
            f'dominant-baseline="central" font-weight="bold" '
            f'transform="rotate(-90 {cx} {cy})">{escape(label)}</text></g>'
        )
    for b in lay.boxes:
        out.append(f'<g id="box-{b.id}" class="box">')
        out.append(
            f'<rect x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}" '
            'fill="#ffffff" stroke="#333" stroke-width="1.2"/>'
        )
        for i, line in enumerate(b.lines):
            weight = ' font-weight="bold"' if i < b.bold_lines else ""
            y = b.y + PAD + (i + 1) * LINE_HEIGHT - 4
            out.append(f'<text x="{b.x + PAD}" y="{y}"{weight}>{escape(line)}</text>')
        out.append("</g>")
    for points in lay.arrows:
        path = " ".join(f"{x},{y}" for x, y in points)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="#333" stroke-width="1.4" '
            'marker-end="url(#arrow)"/>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- PNG


def to_png(n: PrismaNumbers, title: str, scale: float = 2.0) -> bytes:
    """The same layout drawn with Pillow (no SVG renderer needed), at ``scale`` for print."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:  # Pillow is a dependency: only a broken install gets here
        raise Invalid("a PNG needs Pillow: pip install pillow (or export the SVG)") from None

    lay = layout(n, title)
    s = scale
    image = Image.new("RGB", (math.ceil(lay.width * s), math.ceil(lay.height * s)), "white")
    draw = ImageDraw.Draw(image)
    regular, bold = _font(round(FONT_SIZE * s), False), _font(round(FONT_SIZE * s), True)
    big = _font(round((FONT_SIZE + 2) * s), True)

    def xy(x: float, y: float) -> tuple[float, float]:
        return x * s, y * s

    for i, line in enumerate(_wrap(title, BOX_WIDTH + GAP_X + SIDE_WIDTH)):
        y = MARGIN + (i + 1) * (LINE_HEIGHT + 2)
        draw.text(xy(MARGIN + BAND + 10, y), line, fill="black", font=big, anchor="ls")
    for label, top, bottom in lay.phases:
        draw.rounded_rectangle(
            [xy(MARGIN, top), xy(MARGIN + BAND, bottom)], radius=4 * s, fill="#9dc3e6"
        )
        text_box = bold.getbbox(label)
        strip = Image.new("RGBA", (text_box[2] + 4, text_box[3] + 4), (0, 0, 0, 0))
        ImageDraw.Draw(strip).text((2, 2), label, fill="black", font=bold)
        strip = strip.rotate(90, expand=True)
        cx, cy = xy(MARGIN + BAND / 2, (top + bottom) / 2)
        image.paste(strip, (round(cx - strip.width / 2), round(cy - strip.height / 2)), strip)
    for b in lay.boxes:
        draw.rectangle(
            [xy(b.x, b.y), xy(b.x + b.width, b.y + b.height)], outline="#333", width=round(1.2 * s)
        )
        for i, line in enumerate(b.lines):
            font = bold if i < b.bold_lines else regular
            y = b.y + PAD + (i + 1) * LINE_HEIGHT - 4
            draw.text(xy(b.x + PAD, y), line, fill="black", font=font, anchor="ls")
    for points in lay.arrows:
        scaled = [xy(x, y) for x, y in points]
        draw.line(scaled, fill="#333", width=round(1.4 * s))
        (x0, y0), (x1, y1) = scaled[-2], scaled[-1]
        angle = math.atan2(y1 - y0, x1 - x0)
        size = 7 * s
        head = [
            (x1, y1),
            (x1 - size * math.cos(angle - 0.45), y1 - size * math.sin(angle - 0.45)),
            (x1 - size * math.cos(angle + 0.45), y1 - size * math.sin(angle + 0.45)),
        ]
        draw.polygon(head, fill="#333")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(96 * s, 96 * s))
    return buffer.getvalue()


@cache
def _font(size: int, bold: bool):
    from PIL import ImageFont

    # DejaVu covers far more scripts than Pillow's built-in font; use it where installed.
    names = ("DejaVuSans-Bold.ttf",) if bold else ("DejaVuSans.ttf",)
    for name in names:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)
