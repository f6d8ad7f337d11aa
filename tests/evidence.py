"""Helpers for the search, attachment and tagging tests: a small library, PDFs, ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests import pdfmaker


def csl_item(key: str, title: str, year: int, **fields: Any) -> dict[str, Any]:
    """One CSL-JSON item; ``authors`` as [(family, given)], other fields as CSL names them."""
    authors = fields.pop("authors", [("Okafor", "Chidi")])
    return {
        "id": key,
        "type": "article-journal",
        "title": title,
        "issued": {"date-parts": [[year]]},
        "author": [{"family": f, "given": g} for f, g in authors],
        "note": "Invented record for the litreview tests.",
        **fields,
    }


def write_library(folder: Path, items: list[dict[str, Any]], name: str = "library.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def ids_by_key(cli, slug: str = "ai-sw") -> dict[str, int]:
    """Each record's id by the citation key it was imported with."""
    return {r["sources"][0]["entry"]: r["id"] for r in cli.json("records", slug)}


def write_pdf(folder: Path, name: str, pages: list[str | list[str]]) -> Path:
    path = folder / name
    path.write_bytes(pdfmaker.text_pdf(pages))
    return path


def search_ids(cli, query: str, *options: str, slug: str = "ai-sw") -> list[int]:
    return [r["id"] for r in cli.json("search", slug, query, *options, "--limit", "100")["results"]]
