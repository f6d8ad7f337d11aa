"""The recall curve of a replay against random order, as a PNG (``litreview simulate --plot``).

Drawn with Pillow (already a dependency, for the PRISMA diagram): no plotting library
for one chart. The x axis is the share of records screened, the y axis the share of
relevant records found; random order finds them on the diagonal, on average. Marked:
where 95% recall was reached, and where the stopping test fired.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from litreview.screening.simulation import Replay

WIDTH, HEIGHT = 900, 620
LEFT, RIGHT, TOP, BOTTOM = 80, 30, 60, 70
MODEL, RANDOM, STOP, TARGET, GRID, INK = (
    "#1f4e79",
    "#8c959f",
    "#cf222e",
    "#1a7f37",
    "#d8dee4",
    "#1f2328",
)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def plot(replay: Replay, labels: Sequence[int], path: Path, title: str) -> None:
    """Write the recall curve of ``replay`` (labels indexed as its input) to ``path``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small, normal = _font(13), _font(15)
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = replay.records

    def xy(screened: float, recall: float) -> tuple[float, float]:
        return LEFT + w * screened / n, TOP + h * (1 - recall)

    for tenth in range(11):
        x, y = LEFT + w * tenth / 10, TOP + h * (1 - tenth / 10)
        draw.line([(x, TOP), (x, TOP + h)], fill=GRID)
        draw.line([(LEFT, y), (LEFT + w, y)], fill=GRID)
        draw.text((x, TOP + h + 8), f"{tenth * 10}%", fill=INK, font=small, anchor="mt")
        draw.text((LEFT - 8, y), f"{tenth * 10}%", fill=INK, font=small, anchor="rm")
    draw.rectangle([LEFT, TOP, LEFT + w, TOP + h], outline=INK)
    draw.text((LEFT + w / 2, HEIGHT - 22), "records screened", fill=INK, font=normal, anchor="mm")
    draw.text((14, TOP - 30), "relevant records found (recall)", fill=INK, font=normal)
    draw.text((LEFT, 12), title, fill=INK, font=normal)

    draw.line([xy(0, 0), xy(n, 1)], fill=RANDOM, width=2)
    curve = replay.recall_curve(labels)
    points = [xy(0, 0)] + [xy(i + 1, r) for i, r in enumerate(curve)]
    draw.line(points, fill=MODEL, width=3)

    at95 = replay.screened_to["95"]
    x95, y95 = xy(at95, 0.95)
    draw.line([(x95, TOP), (x95, TOP + h)], fill=TARGET, width=1)
    draw.text((x95 + 4, TOP + h - 40), f"95% after {at95}", fill=TARGET, font=small)
    stop = replay.stop.get("screened")
    if stop:
        xs, ys = xy(stop, replay.stop["recall"])
        draw.ellipse([xs - 6, ys - 6, xs + 6, ys + 6], outline=STOP, width=3)
        draw.text(
            (xs - 8, ys + 12),
            f"stopping test fired after {stop} (recall {replay.stop['recall']:.2f})",
            fill=STOP,
            font=small,
            anchor="ra",
        )
    legend = [(MODEL, "most relevant first (this model)"), (RANDOM, "random order (expected)")]
    for i, (colour, text) in enumerate(legend):
        y = TOP + h - 70 + i * 22
        draw.line([(LEFT + w - 290, y), (LEFT + w - 260, y)], fill=colour, width=3)
        draw.text((LEFT + w - 252, y), text, fill=INK, font=small, anchor="lm")
    image.save(path, format="PNG")
