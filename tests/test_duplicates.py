"""Probable duplicates are listed, never merged on a guess; merges are logged and undoable."""

from __future__ import annotations

import sqlalchemy as sa

from litreview.models import AuditEntry

RIS = """\
TY  - JOUR
ID  - a
TI  - Algorithmic fairness in child welfare screening tools
AU  - Quist, Ingrid
PY  - 2020
DO  - 10.5555/dup.1
AB  - An abstract only this copy has.
ER  -

TY  - JOUR
ID  - b
TI  - Algorithmic fairnes in child-welfare screening tool
AU  - Quist, I.
PY  - 2021
KW  - fairness
ER  -

TY  - JOUR
ID  - c
TI  - Machine learning for school timetables
AU  - Quist, Ingrid
PY  - 2020
ER  -

TY  - JOUR
ID  - d
TI  - Algorithmic fairness in child welfare screening tools
AU  - Someone, Else
PY  - 2012
ER  -
"""


def imported(review_cli, tmp_path):
    path = tmp_path / "dups.ris"
    path.write_text(RIS, encoding="utf-8")
    review_cli("import", "ai-sw", str(path))
    return {r["sources"][0]["entry"]: r for r in review_cli.json("records", "ai-sw")}


def test_close_titles_in_adjacent_years_are_listed_not_merged(review_cli, tmp_path):
    records = imported(review_cli, tmp_path)
    assert len(records) == 4
    pairs = review_cli.json("duplicates", "ai-sw")["pairs"]
    assert [(p["a"], p["b"]) for p in pairs] == [(records["a"]["id"], records["b"]["id"])]
    [pair] = pairs
    assert 0.88 <= pair["score"] < 1
    assert "years 2020 and 2021" in pair["why"]
    assert "DOI on one only" in pair["why"]


def test_merge_by_hand_fills_gaps_and_undo_restores_both(review_cli, tmp_path):
    records = imported(review_cli, tmp_path)
    a, b = records["a"]["id"], records["b"]["id"]
    merged = review_cli.json("duplicates", "ai-sw", "--merge", str(b), str(a))
    assert merged["filled"] == ["abstract", "doi"]
    after = {r["id"]: r for r in review_cli.json("records", "ai-sw")}
    assert a not in after
    assert after[b]["doi"] == "10.5555/dup.1"
    assert sorted(s["entry"] for s in after[b]["sources"]) == ["a", "b"]
    assert review_cli.json("duplicates", "ai-sw")["pairs"] == []

    [entry] = review_cli.json("duplicates", "ai-sw", "--history")["merges"]
    assert entry["rule"] == "manual" and entry["by"] == "tester@example.org"
    review_cli("duplicates", "ai-sw", "--undo", str(entry["id"]))
    restored = {r["id"]: r for r in review_cli.json("records", "ai-sw")}
    assert restored[a]["abstract"] == "An abstract only this copy has."
    assert restored[b]["abstract"] is None and restored[b]["doi"] is None
    assert [s["entry"] for s in restored[b]["sources"]] == ["b"]
    again = review_cli("duplicates", "ai-sw", "--undo", str(entry["id"]), ok=False)
    assert again.stderr.strip() == f"Error: merge {entry['id']} was already undone"


def test_keep_apart_stops_listing_the_pair(review_cli, tmp_path):
    records = imported(review_cli, tmp_path)
    a, b = records["a"]["id"], records["b"]["id"]
    review_cli("duplicates", "ai-sw", "--keep-apart", str(a), str(b))
    assert review_cli.json("duplicates", "ai-sw")["pairs"] == []


def test_automatic_merges_are_logged_with_their_rule_and_undoable(review_cli, tmp_path, session):
    first = tmp_path / "one.ris"
    first.write_text(RIS.split("\n\n")[0] + "\n", encoding="utf-8")
    second = tmp_path / "two.ris"
    second.write_text(
        "TY  - JOUR\nID  - again\nTI  - Algorithmic fairness in child welfare screening tools\n"
        "AU  - Quist, Ingrid\nPY  - 2020\nDO  - https://doi.org/10.5555/DUP.1\nVL  - 9\nER  - \n",
        encoding="utf-8",
    )
    review_cli("import", "ai-sw", str(first))
    report = review_cli.json("import", "ai-sw", str(second))
    assert report["merged_duplicates"] == 1
    [entry] = review_cli.json("duplicates", "ai-sw", "--history")["merges"]
    assert entry["rule"] == "doi" and entry["filled"] == ["volume"]
    [record] = review_cli.json("records", "ai-sw")
    assert record["volume"] == "9"

    result = review_cli.json("duplicates", "ai-sw", "--undo", str(entry["id"]))
    records = {r["id"]: r for r in review_cli.json("records", "ai-sw")}
    assert len(records) == 2
    assert records[record["id"]]["volume"] is None
    assert [s["entry"] for s in records[result["restored"]]["sources"]] == ["again"]
    actions = [
        (a.action, a.details.get("rule"))
        for a in session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
    ]
    assert ("record.unmerge", None) in actions
    assert [a for a, _ in actions].count("import.file") == 2


def test_the_record_model_and_the_readers_hold_the_one_field_list():
    # Record and RecordData stay explicit typed classes; they must agree with
    # litreview.library.fields, the list imports, merges, listings and exports use.
    import dataclasses

    from litreview.ingest.record_data import RecordData
    from litreview.library.fields import FIELDS, NAMES
    from litreview.models import Record

    # Where an entry came from, and a table's other columns: not the record's fields.
    provenance = {"entry_key", "line", "raw", "extra"}
    read = tuple(f.name for f in dataclasses.fields(RecordData) if f.name not in provenance)
    assert read == NAMES
    bookkeeping = {
        "id",
        "review_id",
        "match_key",
        "merged_into_id",
        "zotero_key",
        "zotero_version",
        "withdrawn_at",
        "not_retrievable_at",
        "not_retrievable_by",
        "not_retrievable_note",
        "created_at",
        "updated_at",
    }
    columns = [c.name for c in Record.__table__.columns if c.name not in bookkeeping]
    assert sorted(columns) == sorted(NAMES)
    assert len({f.csv_rank for f in FIELDS if f.csv_rank}) == len([f for f in FIELDS if f.csv_rank])


def test_merge_by_hand_carries_tags_notes_and_decisions_and_undo_gives_them_back(
    review_cli, tmp_path
):
    records = imported(review_cli, tmp_path)
    a, b = records["a"]["id"], records["b"]["id"]
    review_cli("question", "add", "ai-sw", "Q3", "Bias")
    review_cli("question", "add", "ai-sw", "Q4", "Data protection")
    review_cli("tag", "ai-sw", str(a), "Q3", "--quote", "risk scores", "--page", "4")
    review_cli("tag", "ai-sw", str(b), "Q4")
    review_cli("screen", "ai-sw", str(a), "include", "--stage", "title_abstract")

    review_cli("duplicates", "ai-sw", "--merge", str(b), str(a))
    tags = review_cli.json("tags", "ai-sw", str(b))
    assert sorted(t["question"] for t in tags["tags"]) == ["Q3", "Q4"]
    assert [n["quote"] for n in tags["annotations"]] == ["risk scores"]
    [history] = review_cli.json("history", "ai-sw", str(b))
    assert (history["decision"], history["current"]) == ("include", True)
    ta = review_cli.json("stats", "ai-sw")["stages"]["title_abstract"]
    assert (ta["eligible"], ta["included"]) == (3, 1)

    [entry] = review_cli.json("duplicates", "ai-sw", "--history")["merges"]
    review_cli("duplicates", "ai-sw", "--undo", str(entry["id"]))
    assert [t["question"] for t in review_cli.json("tags", "ai-sw", str(b))["tags"]] == ["Q4"]
    back = review_cli.json("tags", "ai-sw", str(a))
    assert [t["question"] for t in back["tags"]] == ["Q3"]
    assert [n["quote"] for n in back["annotations"]] == ["risk scores"]
    assert review_cli.json("history", "ai-sw", str(b)) == []
    [history] = review_cli.json("history", "ai-sw", str(a))
    assert history["decision"] == "include"
    ta = review_cli.json("stats", "ai-sw")["stages"]["title_abstract"]
    assert (ta["eligible"], ta["included"]) == (4, 1)
