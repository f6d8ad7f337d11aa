"""Imports at the database: two at once, duplicates of stored records, exact undo, search.

The import writes rows through SQLAlchemy Core with ids handed out beforehand, and
places duplicates from what it read at the start (no query per duplicate): these
tests hold what that must keep, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview.db import make_session_factory
from litreview.library import duplicates, imports
from litreview.models import ImportBatch, Merge, Record, RecordSource, Review


def ris(numbers: range, *, extra: str = "") -> str:
    """RIS records n (title, author, year and DOI from n), each with ``extra`` lines."""
    return "".join(
        f"TY  - JOUR\nID  - r{n}\nTI  - Synthetic paper number {n} on casework\n"
        f"AU  - Author{n}, Ann\nPY  - {2000 + n % 20}\nDO  - 10.5555/import.{n}\n{extra}ER  -\n\n"
        for n in numbers
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def review_id(factory) -> int:
    with factory() as session:
        review = Review(slug="two", title="Two at once")
        session.add(review)
        session.commit()
        return review.id


def live_records(factory, review_id: int) -> list[Record]:
    with factory() as session:
        return list(
            session.scalars(
                sa.select(Record).where(
                    Record.review_id == review_id, Record.merged_into_id.is_(None)
                )
            )
        )


@pytest.mark.parametrize("same_file", [True, False], ids=["same file", "overlapping files"])
def test_two_imports_into_one_review_at_once_end_as_one_after_the_other(
    factory, review_id, tmp_path, same_file
):
    first = write(tmp_path, "a.ris", ris(range(0, 600)))
    # The overlap of the two files: the same papers, as another database exports them.
    other = ris(range(300, 900), extra="DB  - Another database\n")
    second = first if same_file else write(tmp_path, "b.ris", other)
    barrier = threading.Barrier(2)
    reports: dict[str, imports.FileReport] = {}
    failures: list[BaseException] = []

    def work(name: str, path: Path) -> None:
        try:
            with factory() as session:
                review = session.get(Review, review_id)
                barrier.wait()
                # Called every 500 entries: the import holds its transaction a while,
                # so the two are in flight at the same time.
                report = imports.import_file(
                    session, review, path, actor=name, progress=lambda _: time.sleep(0.3)
                )
                session.commit()
                reports[name] = report
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [
        threading.Thread(target=work, args=(name, path))
        for name, path in (("ann", first), ("ben", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(reports) == ["ann", "ben"]
    records = live_records(factory, review_id)
    expected = 600 if same_file else 900
    assert len(records) == expected
    assert len({r.doi for r in records}) == expected
    done = sorted(reports.values(), key=lambda r: r.batch or 0)
    assert sum(r.imported for r in done) == expected
    if same_file:
        assert sorted(r.unchanged for r in done) == [0, 600]
    else:
        assert sum(r.merged_duplicates for r in done) == 300
    with factory() as session:
        sources = session.scalar(sa.select(sa.func.count(RecordSource.id)))
        assert sources == (600 if same_file else 1200)


def test_duplicates_of_stored_records_cost_no_query_each(engine, factory, review_id, tmp_path):
    stored = write(tmp_path, "stored.ris", ris(range(100)))
    with factory() as session:
        imports.import_file(session, session.get(Review, review_id), stored, actor="me")
        session.commit()

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    def import_duplicates(numbers: range) -> int:
        # The same papers again, each with a volume the stored one lacks.
        path = write(tmp_path, f"dups-{len(numbers)}.ris", ris(numbers, extra="VL  - 7\n"))
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            with factory() as session:
                report = imports.import_file(
                    session, session.get(Review, review_id), path, actor="me"
                )
                session.commit()
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert report.merged_duplicates == len(numbers) and report.imported == 0
        return len(statements)

    few = import_duplicates(range(0, 3))
    many = import_duplicates(range(10, 70))
    assert few == many, "statements grow with the number of duplicates"
    records = {r.doi: r for r in live_records(factory, review_id)}
    assert len(records) == 100
    assert [records[f"10.5555/import.{n}"].volume for n in (0, 2, 3, 10, 69, 70)] == [
        "7",
        "7",
        None,
        "7",
        "7",
        None,
    ]
    with factory() as session:
        merges = session.scalars(sa.select(Merge).order_by(Merge.id)).all()
        assert len(merges) == 63
        assert {(m.rule, tuple(m.filled.items())) for m in merges} == {("doi", (("volume", None),))}
        batches = session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id)).all()
        assert [b.merged_count for b in batches] == [0, 3, 60]


def test_a_merge_at_import_fills_empty_fields_and_its_undo_puts_back_exactly_what_was_there(
    factory, review_id, tmp_path
):
    with factory() as session:
        kept = Record(
            review_id=review_id,
            type="article",
            title="",
            authors=[],
            keywords=[],
            doi="10.5555/import.5",
            venue="Kept venue",
        )
        session.add(kept)
        session.commit()
        kept_id = kept.id
        assert kept.match_key is None

    path = write(tmp_path, "dup.ris", ris(range(5, 6), extra="KW  - casework\nT2  - Other\n"))
    with factory() as session:
        report = imports.import_file(session, session.get(Review, review_id), path, actor="me")
        session.commit()
    assert (report.imported, report.merged_duplicates) == (0, 1)

    with factory() as session:
        record = session.get(Record, kept_id)
        assert record.title == "Synthetic paper number 5 on casework"
        assert record.authors == [{"family": "Author5", "given": "Ann"}]
        assert record.keywords == ["casework"]
        assert record.year == 2005
        assert record.venue == "Kept venue"  # it had one: not filled
        assert record.match_key == "synthetic paper number 5 on casework|2005|author5"
        [merge] = session.scalars(sa.select(Merge)).all()
        assert merge.filled == {"title": "", "authors": [], "year": None, "keywords": []}

        duplicates.undo_merge(session, session.get(Review, review_id), merge.id, "me")
        session.commit()
    with factory() as session:
        record = session.get(Record, kept_id)
        assert (record.title, record.authors, record.keywords, record.year) == ("", [], [], None)
        assert record.match_key is None
        assert record.venue == "Kept venue"


def test_a_stored_record_filled_by_an_import_is_found_by_its_new_text(review_cli, tmp_path):
    first = write(tmp_path, "first.ris", ris(range(1, 3)))
    review_cli("import", "ai-sw", str(first))
    assert review_cli.json("search", "ai-sw", "xylophonic")["results"] == []

    again = write(tmp_path, "again.ris", ris(range(2, 3), extra="AB  - A xylophonic method.\n"))
    assert review_cli.json("import", "ai-sw", str(again))["merged_duplicates"] == 1
    [hit] = review_cli.json("search", "ai-sw", "xylophonic")["results"]
    assert hit["title"] == "Synthetic paper number 2 on casework"
    [record] = [r for r in review_cli.json("records", "ai-sw") if r["id"] == hit["id"]]
    assert record["abstract"] == "A xylophonic method."
    assert sorted(s["entry"] for s in record["sources"]) == ["r2", "r2"]


def test_the_report_lists_entries_left_without_a_title(factory, review_id, tmp_path):
    # n1 has no title until its duplicate (same DOI) later in the file gives it one;
    # n2 never has one; n3 is titled. A second file brings a duplicate of n2 (by DOI):
    # its entry is listed too, since the record it lands on still has no title.
    first = write(
        tmp_path,
        "first.ris",
        "TY  - JOUR\nID  - n1\nAU  - One, A.\nPY  - 2020\nDO  - 10.5555/n1\nER  - \n\n"
        "TY  - JOUR\nID  - n2\nAU  - Two, B.\nPY  - 2021\nDO  - 10.5555/n2\nER  - \n\n"
        + ris(range(3, 4))
        + "TY  - JOUR\nID  - n1b\nTI  - Title found later\nDO  - 10.5555/n1\nER  - \n\n",
    )
    second = write(
        tmp_path, "second.ris", "TY  - JOUR\nID  - n2b\nPY  - 2021\nDO  - 10.5555/n2\nER  - \n"
    )
    with factory() as session:
        review = session.get(Review, review_id)
        report = imports.import_file(session, review, first, actor="me")
        session.commit()
        [n2] = session.scalars(sa.select(Record).where(Record.doi == "10.5555/n2"))
        assert report.untitled_count == 1
        assert report.untitled == [{"entry": "n2", "line": 8, "record": n2.id}]
        again = imports.import_file(session, review, second, actor="me")
        session.commit()
        assert (again.merged_duplicates, again.untitled_count) == (1, 1)
        assert again.untitled == [{"entry": "n2b", "line": 1, "record": n2.id}]
        # The same file again changes nothing and lists nothing.
        same = imports.import_file(session, review, first, actor="me")
        assert (same.unchanged, same.untitled_count, same.untitled) == (4, 0, [])
