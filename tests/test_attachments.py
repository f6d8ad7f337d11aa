"""Attaching PDFs: text by page, clear statuses for PDFs without text, stored once by hash."""

from __future__ import annotations

import hashlib
import time

import pytest
import sqlalchemy as sa

from litreview.config import load_settings
from litreview.ingest.pdf import clean_page_text, extract_in_process, extract_pages
from litreview.models import Attachment, AttachmentPage, AuditEntry
from tests import pdfmaker
from tests.evidence import csl_item, ids_by_key, search_ids, write_library, write_pdf

ITEMS = [
    csl_item("okafor2021", "Predictive risk modelling in children's services", 2021,
             DOI="10.5555/test.0001"),
    csl_item("brennan2023", "Chatbots for social care triage at the front door", 2023,
             DOI="10.5555/TEST.0002"),
    csl_item("muller2020", "Algorithmic bias and discrimination in adult social care", 2020),
    csl_item("lindqvist2022", "Generative AI and case notes: a survey of practitioners", 2022),
    csl_item("twin-a", "Digital tools in practice", 2019),
    csl_item("twin-b", "Digital tools in practice", 2019, authors=[("Other", "Ann")]),
]  # fmt: skip


@pytest.fixture
def ids(review_cli, tmp_path):
    review_cli("import", "ai-sw", str(write_library(tmp_path, ITEMS)))
    return ids_by_key(review_cli)


def _attach(cli, path, record_id):
    return cli.json("attach", "ai-sw", str(path), "--record", str(record_id))


def _session(env):
    engine = sa.create_engine(env["LITREVIEW_DATABASE_URL"])
    return engine, sa.orm.Session(engine)


NO_TEXT = [
    ("scan.pdf", pdfmaker.image_only_pdf(3), "no text: scanned image?", 3),
    ("blank.pdf", pdfmaker.empty_pdf(2), "no text: the pages are blank", 2),
    ("locked.pdf", pdfmaker.encrypted_pdf(), "encrypted: needs a password", None),
    ("cut.pdf", pdfmaker.corrupt_pdf(), "damaged: not a readable PDF (data format error)", None),
]


def test_pdfs_without_text_are_attached_with_a_status_saying_why(ids, review_cli, tmp_path, env):
    for name, content, status, page_count in NO_TEXT:
        path = tmp_path / name
        path.write_bytes(content)
        out = _attach(review_cli, path, ids["okafor2021"])
        assert (out["status"], out["pages"], out["already_attached"]) == (
            status,
            page_count,
            False,
        ), name
    engine, session = _session(env)
    with session:
        found = session.execute(
            sa.select(Attachment.filename, Attachment.record_id, Attachment.status).order_by(
                Attachment.id
            )
        ).all()
        assert [tuple(f) for f in found] == [
            (name, ids["okafor2021"], status) for name, _, status, _ in NO_TEXT
        ]
        assert session.scalar(sa.select(sa.func.count(AttachmentPage.id))) == 0
    engine.dispose()
    # The record is there and searchable as before.
    assert search_ids(review_cli, "predictive") == [ids["okafor2021"]]


def test_text_is_kept_by_page_and_searchable_at_once(ids, review_cli, tmp_path, env):
    pdf = write_pdf(
        tmp_path,
        "paper.pdf",
        ["Predictive risk modelling", "Nothing here.", "Families were not told about consent."],
    )
    started = time.monotonic()
    out = _attach(review_cli, pdf, ids["okafor2021"])
    hits = review_cli.json("search", "ai-sw", "consent")["results"]
    assert time.monotonic() - started < 5  # attached and searchable within 5 s
    assert out["status"] == "ok" and out["pages"] == 3
    assert [(h["id"], [(s["field"], s["page"]) for s in h["snippets"]]) for h in hits] == [
        (ids["okafor2021"], [("fulltext", 3)])
    ]
    engine, session = _session(env)
    with session:
        pages = session.execute(
            sa.select(AttachmentPage.page, AttachmentPage.text).order_by(AttachmentPage.page)
        ).all()
        assert [tuple(p) for p in pages] == [
            (1, "Predictive risk modelling"),
            (2, "Nothing here."),
            (3, "Families were not told about consent."),
        ]
        [entry] = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "attachment.add")
        ).all()
        assert entry.actor == "tester@example.org"
        assert entry.details["file"] == "paper.pdf" and entry.details["pages"] == 3
    engine.dispose()


def test_the_same_pdf_is_stored_once_under_a_generated_name(ids, review_cli, tmp_path, env):
    data = pdfmaker.text_pdf(["Shared text about chatbots"])
    sha = hashlib.sha256(data).hexdigest()
    first = tmp_path / "my paper (final).pdf"
    first.write_bytes(data)
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(data)
    a = _attach(review_cli, first, ids["okafor2021"])
    again = _attach(review_cli, copy, ids["okafor2021"])
    other = _attach(review_cli, copy, ids["brennan2023"])
    assert a["sha256"] == sha and a["already_attached"] is False
    assert again["already_attached"] is True and again["attachment"] == a["attachment"]
    assert other["already_attached"] is False and other["attachment"] != a["attachment"]
    data_dir = load_settings(env).data_dir
    stored = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*.pdf"))
    assert stored == [f"files/{sha[:2]}/{sha}.pdf"]
    assert (data_dir / stored[0]).read_bytes() == data
    # The second record's text came from the first extraction, page for page.
    assert sorted(search_ids(review_cli, "shared")) == sorted(
        [ids["okafor2021"], ids["brennan2023"]]
    )
    engine, session = _session(env)
    with session:
        paths = session.scalars(sa.select(Attachment.path).order_by(Attachment.id)).all()
        assert paths == [stored[0], stored[0]]
    engine.dispose()


def test_two_columns_come_out_in_reading_order(tmp_path):
    path = write_pdf(
        tmp_path,
        "columns.pdf",
        [["Left column first line\nLeft column second line", "Right column first line"]],
    )
    text = extract_pages(path)
    assert text.status == "ok"
    assert text.pages == [
        "Left column first line\nLeft column second line\nRight column first line"
    ]


def test_line_end_hyphens_are_joined_and_text_normalised(tmp_path):
    assert clean_page_text("data protec\x02\r\ntion") == "data protection"
    assert (
        clean_page_text("behav\ufffeiour and \ufb01nance\r\nnext") == "behaviour and finance\nnext"
    )
    path = write_pdf(tmp_path, "hyphen.pdf", ["The protec-\ntion of data"])
    assert extract_pages(path).pages == ["The protection of data"]


def test_page_and_time_limits_keep_what_was_read(tmp_path):
    path = write_pdf(tmp_path, "long.pdf", [f"Page {n} text" for n in range(1, 9)])
    capped = extract_pages(path, max_pages=5)
    assert capped.status == "ok: first 5 of 8 pages"
    assert capped.pages == [f"Page {n} text" for n in range(1, 6)]
    assert capped.page_count == 8
    late = extract_in_process(path, deadline=time.monotonic() - 1)
    assert late.status == "too big: extraction took too long"


def test_a_pdf_bomb_is_stopped_by_the_memory_limit(tmp_path):
    path = tmp_path / "bomb.pdf"
    path.write_bytes(pdfmaker.bomb_pdf(megabytes=200))
    started = time.monotonic()
    result = extract_pages(path, memory_mb=128, timeout=30)
    assert result.status == "too big: extraction ran out of memory"
    assert result.pages == []
    assert time.monotonic() - started < 30


def test_a_folder_of_pdfs_is_matched_to_records(ids, review_cli, tmp_path, env):
    folder = tmp_path / "pdfs"
    (folder / "sub").mkdir(parents=True)
    write_pdf(folder, "10.5555_test.0001.pdf", ["Predictive text"])
    write_pdf(folder, "lindqvist2022.pdf", ["Case notes text"])
    write_pdf(folder / "sub", "Muller - 2020 - Algorithmic bias and discrimination in adult "
              "social care.pdf", ["Bias text"])  # fmt: skip
    write_pdf(folder, "download (3).pdf", ["Journal of Care\ndoi: 10.5555/test.0002.", "Text"])
    write_pdf(folder, "unknown.pdf", ["Nothing we know about"])
    write_pdf(folder, "twin.pdf", ["Digital tools in practice", "body"])
    (folder / "notes.pdf").write_text("not a pdf at all", encoding="utf-8")
    (folder / "readme.txt").write_text("ignored", encoding="utf-8")
    out = review_cli.json("attach", "ai-sw", "--dir", str(folder))
    by_file = {r["file"].rsplit("/", 1)[-1]: r for r in out["files"]}
    assert {name: (r["record"], r["matched_by"]) for name, r in by_file.items() if r["record"]} == {
        "10.5555_test.0001.pdf": (ids["okafor2021"], "DOI in the file name"),
        "lindqvist2022.pdf": (ids["lindqvist2022"], "citation key in the file name"),
        "Muller - 2020 - Algorithmic bias and discrimination in adult social care.pdf": (
            ids["muller2020"],
            "title in the file name",
        ),
        "download (3).pdf": (ids["brennan2023"], "DOI in the PDF"),
    }
    assert by_file["unknown.pdf"]["error"].startswith("no record matches")
    assert by_file["twin.pdf"]["error"] == (
        f"matches several records ({ids['twin-a']}, {ids['twin-b']}): attach it with --record"
    )
    assert by_file["notes.pdf"]["error"] == "notes.pdf: not a PDF (it does not start with %PDF-)"
    assert (out["attached"], out["not_attached"]) == (4, 3)
    assert search_ids(review_cli, "fulltext:bias") == [ids["muller2020"]]


def test_title_printed_in_the_pdf_matches(ids, review_cli, tmp_path):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    write_pdf(folder, "scan0001.pdf", ["Generative AI and case notes:\na survey of practitioners"])
    out = review_cli.json("attach", "ai-sw", "--dir", str(folder))
    [entry] = out["files"]
    assert (entry["record"], entry["matched_by"]) == (ids["lindqvist2022"], "title in the PDF")


ATTACH_ERRORS = [
    (("missing.pdf", "--record", "1"), "missing.pdf: no such file"),
    (("notes.txt", "--record", "1"), "notes.txt: not a PDF (it does not start with %PDF-)"),
    (("paper.pdf", "--record", "999"), "no record 999 in review ai-sw"),
    (("paper.pdf",), "say which record the PDF is for: --record ID"),
    ((), "give a FILE with --record ID, or --dir FOLDER"),
    (("--dir", "nowhere"), "nowhere: not a folder"),
]


def test_attach_errors_are_one_line(ids, review_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    write_pdf(tmp_path, "paper.pdf", ["text"])
    for args, message in ATTACH_ERRORS:
        result = review_cli("attach", "ai-sw", *args, ok=False)
        assert result.exit_code in (1, 2), args  # 2: click's usage errors
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
