"""Golden files for readers: an input file beside the records expected from it, as JSON.

Set LITREVIEW_REGEN_GOLDEN=1 to (re)write the expected files; then read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from litreview.ingest.record_data import Item, RecordData


def as_json(items: list[Item]) -> list[dict]:
    return [
        {"record": item.to_json()} if isinstance(item, RecordData) else {"error": item.to_json()}
        for item in items
    ]


def check_golden(items: list[Item], expected: Path) -> None:
    """Compare reader output with the JSON file beside the input."""
    got = as_json(items)
    if os.environ.get("LITREVIEW_REGEN_GOLDEN"):
        expected.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert expected.exists(), f"no golden file {expected}: run with LITREVIEW_REGEN_GOLDEN=1"
    assert got == json.loads(expected.read_text(encoding="utf-8"))
