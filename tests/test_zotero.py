"""Zotero: import, sync and push through pyzotero, against a real HTTP server on loopback.

The server (tests/zotero_server.py) speaks the part of the Zotero Web API v3 that
pyzotero uses; nothing of pyzotero is patched. Every command runs through the real
CLI on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview.ingest.record_data import RECORD_TYPES, Author, EntryError, RecordData
from litreview.ingest.zotero_items import TYPES, is_pdf_attachment, note_text, read_item
from litreview.models import (
    Attachment,
    AuditEntry,
    Decision,
    Record,
    RecordNote,
    RecordTag,
    Review,
    ReviewQuestion,
    User,
    ZoteroLink,
)
from litreview.screening import outcomes
from tests.conftest import DATA
from tests.zotero_server import Library, ZoteroServer, article, pdf_bytes

ZDATA = DATA / "zotero"
API_KEY = "Zt9sEcReTkEy0000abcd"
GROUP = ("--library-type", "group", "--library-id", "12345")


# ---------------------------------------------------------------- mapping (no database)


def real_items() -> dict[str, dict[str, Any]]:
    items = json.loads((ZDATA / "pyzotero_items_doc.json").read_text(encoding="utf-8"))
    return {item["key"]: item["data"] for item in items}


def test_every_zotero_item_type_maps_to_one_of_ours():
    types = json.loads((ZDATA / "pyzotero_item_types.json").read_text(encoding="utf-8"))
    names = {t["itemType"] for t in types} - {"note", "attachment"}
    # Zotero 7 added these since the fixture was recorded.
    names |= {"preprint", "standard", "dataset"}
    assert names <= set(TYPES)
    assert set(TYPES.values()) <= set(RECORD_TYPES)
    assert [TYPES[t] for t in ("journalArticle", "bookSection", "conferencePaper", "thesis")] == [
        "article",
        "chapter",
        "conference",
        "thesis",
    ]
    assert [TYPES[t] for t in ("report", "webpage", "blogPost", "dataset", "film")] == [
        "report",
        "webpage",
        "webpage",
        "dataset",
        "other",
    ]


def test_real_zotero_items_map_to_our_fields():
    """The 20 items of pyzotero's test library, as the Zotero API sent them."""
    items = real_items()
    records = {key: read_item(data) for key, data in items.items()}
    assert all(isinstance(r, RecordData) for r in records.values())

    holmes = records["PQKBRC33"]
    assert (holmes.type, holmes.title) == ("article", "Sherlock Holmes in Babylon")
    # A two-field creator with the whole name as last name stays as Zotero has it.
    assert holmes.authors == [Author("R. Creighton Buck")]
    assert holmes.year == 1980  # "May 01, 1980"
    assert (holmes.venue, holmes.volume, holmes.issue, holmes.pages) == (
        "The American Mathematical Monthly",
        "87",
        "5",
        "335-345",
    )
    assert holmes.doi == "10.2307/2321200"
    assert holmes.note.startswith("ArticleType: research-article")
    assert holmes.entry_key == "PQKBRC33"
    assert json.loads(holmes.raw) == items["PQKBRC33"]

    # A corporate author (single-field name); contributors are not authors.
    physics = records["X42A7DEE"]
    assert physics.type == "book"
    assert physics.authors == [Author("Institute of Physics (Great Britain)")]
    assert (physics.year, physics.publisher, physics.isbn) == (
        1993,
        "Institute of Physics Pub",
        "0750303212",
    )
    # An artwork's artist is its author; tags are keywords.
    art = records["6MCAN2NC"]
    assert art.type == "other"
    assert art.authors == [Author("Fanatico", "Cine")]
    assert art.keywords == ["judelaw", "robertdowneyjr", "sherlockholmes"]
    assert records["GIFZST3I"].year == 1993  # "08/1993"
    assert records["CINTCPTB"].year is None  # no date at all
    paper = records["R39UWNFK"]
    assert paper.type == "conference"
    assert paper.venue.startswith("IEEE Conference Record")
    assert records["NM66T6EF"].type == "webpage"
    assert records["NM66T6EF"].authors == []  # no creators: imported with what it has
    assert records["Z8N84QAJ"].authors == [Author("Doyle", "Arthur Conan")]


def test_odd_items_import_with_what_they_have():
    def one(**fields: Any) -> RecordData:
        found = read_item({"key": "ABCD2345", "version": 3, "itemType": "book", **fields})
        assert isinstance(found, RecordData)
        return found

    bare = one()
    assert (bare.title, bare.authors, bare.year, bare.type) == (None, [], None, "book")
    assert one(date="Spring 2021").year == 2021
    assert one(date="2021-00-00").year == 2021
    assert one(date="3/4/21").year is None  # no four-digit year: none guessed
    # A book has no DOI field in Zotero: the DOI goes in Extra, so does the PMID.
    extra = one(extra="Publisher: Someone\nDOI: https://doi.org/10.1000/ABC.9\nPMID: 31415926")
    assert (extra.doi, extra.pmid) == ("10.1000/abc.9", "31415926")
    # Editors only when there is no author.
    editors = [
        {"creatorType": "editor", "firstName": "Eda", "lastName": "Tor"},
        {"creatorType": "contributor", "name": "Someone Else"},
    ]
    assert one(creators=editors).authors == [Author("Tor", "Eda")]
    with_author = [
        *editors,
        {"creatorType": "author", "name": "British Association of Social Workers"},
    ]
    assert one(creators=with_author).authors == [Author("British Association of Social Workers")]
    # Our own tags (automatic, in our namespaces) are not keywords; a person's are.
    tags = [
        {"tag": "litreview:include", "type": 1},
        {"tag": "RQ:Q3 Bias and discrimination", "type": 1},
        {"tag": "litreview:maybe"},
        {"tag": "ethics"},
    ]
    own = read_item(
        {"key": "ABCD2345", "itemType": "book", "tags": tags},
        own_tag=lambda t: t.get("type") == 1 and t["tag"].startswith(("litreview:", "RQ:")),
    )
    assert own.keywords == ["litreview:maybe", "ethics"]

    broken = read_item({"key": "ABCD2345", "itemType": "book", "creators": "Smith"})
    assert isinstance(broken, EntryError)
    assert broken.entry == "ABCD2345"
    assert broken.message == 'Zotero item ABCD2345: "creators" should be a list, not a JSON string'


def test_notes_become_plain_text():
    html = (
        '<div class="zotero-note znv1"><h1>Reading notes</h1><p>Bias &amp; <b>fairness</b>'
        "<br/>second line</p><script>alert(1)</script><ul><li>one</li><li>two</li></ul></div>"
    )
    assert note_text(html) == "Reading notes\n\nBias & fairness\nsecond line\n\none\n\ntwo"
    assert note_text("") == ""


def test_the_loopback_server_answers_in_the_shape_of_the_real_api():
    """The server's items, attachments and collections have the fields Zotero's have."""

    def load(name: str) -> Any:
        return json.loads((ZDATA / f"pyzotero_{name}.json").read_text(encoding="utf-8"))

    library = Library()
    parent = library.add(article(1))
    attachment = library.attach(parent, pdf_bytes("x"), "x.pdf")
    collection = library.add_collection("Included")
    real_item = next(i for i in load("items_doc") if i["data"]["itemType"] == "journalArticle")
    ours = library.envelope(library.items[parent], "http://127.0.0.1")
    assert set(ours) == set(real_item)
    assert set(ours["data"]) == set(real_item["data"])
    real_attachment = load("attachments_doc")
    ours = library.envelope(library.items[attachment], "http://127.0.0.1")
    assert set(ours) == set(real_attachment)
    assert set(ours["data"]) == set(real_attachment["data"])
    assert is_pdf_attachment(ours["data"]) and not is_pdf_attachment(real_attachment["data"])
    real_collection = load("collection_doc")
    ours = library.collection_envelope(library.collections[collection], "http://127.0.0.1")
    assert set(ours) == set(real_collection)
    assert set(ours["data"]) == set(real_collection["data"])


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def library() -> Library:
    return Library(api_key=API_KEY)


@pytest.fixture
def server(library: Library, monkeypatch: pytest.MonkeyPatch):
    with ZoteroServer(library) as running:
        monkeypatch.setenv("LITREVIEW_ZOTERO_API_URL", running.url)
        monkeypatch.setenv("LITREVIEW_ZOTERO_API_KEY", API_KEY)
        yield running


def zimport(cli, *args: str) -> dict[str, Any]:
    return cli.json("zotero", "import", "ai-sw", *GROUP, *args)


def fails(cli, *args: str) -> str:
    """Run a command that must fail; its one-line message."""
    result = cli(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert API_KEY not in result.stderr
    return lines[0]


def records(engine: sa.Engine) -> list[Record]:
    with Session(engine) as session:
        return list(
            session.scalars(
                sa.select(Record).where(Record.merged_into_id.is_(None)).order_by(Record.id)
            )
        )


def by_key(engine: sa.Engine) -> dict[str, Record]:
    return {r.zotero_key: r for r in records(engine) if r.zotero_key}


def link_of(engine: sa.Engine) -> ZoteroLink | None:
    with Session(engine) as session:
        return session.scalar(sa.select(ZoteroLink))


def actions(engine: sa.Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def library_key(library: Library, filename: str) -> str:
    """The key of the attachment item with this file name."""
    [key] = [
        k
        for k, d in library.items.items()
        if d.get("filename", d.get("path", "")).endswith(filename)
    ]
    return key


# ---------------------------------------------------------------- import


def test_import_reads_every_page_and_never_shows_the_key(review_cli, server, library, engine):
    keys = library.add_many([article(n) for n in range(250)])
    result = review_cli(
        "zotero", "import", "ai-sw", *GROUP, "--api-key", API_KEY, "--json", "--as", "lead@x.org"
    )
    report = json.loads(result.stdout)
    assert (report["read"], report["items"], report["imported"]) == (250, 250, 250)
    assert report["api_key"] == "****abcd"
    assert report["library_version"] == library.version
    # Zotero pages at 100: three pages, following the next links to the total.
    pages = server.seen("GET", r"^/groups/12345/items$")
    assert [p.query.get("start") for p in pages] == [None, "100", "200"]
    assert all(p.headers["authorization"] == f"Bearer {API_KEY}" for p in pages)
    assert all(p.headers["zotero-api-version"] == "3" for p in pages)

    found = by_key(engine)
    assert set(found) == set(keys)
    first = found[keys[0]]
    assert first.title == "Invented study 0 of machine learning in social work practice"
    assert first.zotero_version == library.items[keys[0]]["version"]
    assert first.keywords == ["social work", "machine learning"]
    with Session(engine) as session:
        first = session.get(Record, first.id)
        [source] = first.sources
        assert source.entry_key == keys[0]
        assert json.loads(source.raw)["key"] == keys[0]
        assert source.batch.source_label == "Zotero group library 12345"
        assert source.batch.format == "zotero"

    link = link_of(engine)
    assert (link.library_type, link.library_id, link.collection_key, link.local) == (
        "group",
        "12345",
        None,
        False,
    )
    assert (link.library_version, link.api_key_hint, link.tag_prefix) == (
        library.version,
        "****abcd",
        "litreview:",
    )
    # The key is nowhere: not printed, not in the audit log.
    assert API_KEY not in result.output
    with Session(engine) as session:
        logged = [json.dumps(e.details) for e in session.scalars(sa.select(AuditEntry))]
    assert logged and not any(API_KEY in text for text in logged)
    [entry] = actions(engine, "zotero.import")
    assert entry.actor == "lead@x.org"
    assert entry.details["imported"] == 250


def test_import_brings_notes_pdfs_and_full_text(review_cli, server, library, engine, env):
    a, b, c, d, e = library.add_many([article(n) for n in range(5)])
    library.add_note(a, "<p>First <b>note</b> &amp; more</p><p>Second para</p>")
    library.add_note(None, "<p>A standalone note is not a record</p>")
    pdf = pdf_bytes("Bias in risk scores")
    att_a = library.attach(a, pdf, "okafor-2021.pdf")
    library.set_fulltext(att_a, "Bias in risk scores, page one.\fPage two.")
    library.attach(b, pdf, "same-paper.pdf")  # the same file twice: stored once
    library.attach(c, None, "never-synced.pdf")
    library.attach(d, None, "on-my-laptop.pdf", link_mode="linked_file")
    library.attach(e, b"<html>a snapshot</html>", "page.html", content_type="text/html")

    report = zimport(review_cli)
    assert (report["imported"], report["notes"], report["pdfs"], report["fulltexts"]) == (
        5,
        1,
        2,
        1,
    )
    assert report["skipped"] == 1  # the standalone note
    assert {p["item"]: p["message"] for p in report["problems"]} == {
        library_key(library, "never-synced.pdf"): (
            "never-synced.pdf is not in Zotero's storage (never synced?): not downloaded"
        ),
        library_key(library, "on-my-laptop.pdf"): (
            "on-my-laptop.pdf is a linked file, kept on the computer it was added from and not "
            "in Zotero's storage: not downloaded"
        ),
    }

    found = by_key(engine)
    data_dir = Path(env["LITREVIEW_DATA_DIR"])
    stored = sorted(p for p in (data_dir / "files").rglob("*") if p.is_file())
    assert len(stored) == 1  # one file, however many records it is attached to
    with Session(engine) as session:
        pdfs = session.scalars(
            sa.select(Attachment).where(Attachment.kind == "pdf").order_by(Attachment.id)
        ).all()
        assert [(x.record_id, x.filename) for x in pdfs] == [
            (found[a].id, "okafor-2021.pdf"),
            (found[b].id, "same-paper.pdf"),
        ]
        sha = pdfs[0].sha256
        assert {x.sha256 for x in pdfs} == {sha}
        assert pdfs[0].path == f"files/{sha[:2]}/{sha}.pdf"
        assert (data_dir / pdfs[0].path).read_bytes() == pdf
        assert [(x.origin, x.status, x.size) for x in pdfs] == [("zotero", "pending", len(pdf))] * 2
        assert pdfs[0].zotero_key == att_a

        [fulltext] = session.scalars(
            sa.select(Attachment).where(Attachment.kind == "zotero_fulltext")
        ).all()
        assert (fulltext.record_id, fulltext.status, fulltext.zotero_key) == (
            found[a].id,
            "ok",
            att_a,
        )
        assert [(p.page, p.text) for p in fulltext.pages] == [
            (None, "Bias in risk scores, page one.\fPage two.")
        ]
        [note] = session.scalars(sa.select(RecordNote)).all()
        assert (note.record_id, note.origin, note.text) == (
            found[a].id,
            "zotero",
            "First note & more\n\nSecond para",
        )

    # Importing again changes nothing, and asks again only for the file it could not get.
    server.clear()
    again = zimport(review_cli)
    assert (again["imported"], again["unchanged"], again["pdfs"], again["notes"]) == (0, 5, 0, 0)
    assert again["fulltexts"] == 0 and not server.seen("GET", "/items/[A-Z0-9]+/fulltext$")
    assert [r.path.rsplit("/", 2)[-2] for r in server.seen("GET", "/file$")] == [
        library_key(library, "never-synced.pdf")
    ]


def test_items_with_little_in_them_import_with_what_they_have(review_cli, server, library):
    keys = library.add_many(
        [
            {"itemType": "report", "creators": [], "date": "Spring 2021", "tags": []},
            {"itemType": "thesis", "title": "A thesis with no author", "date": "2021-00-00"},
            {
                "itemType": "document",
                "title": "Undated",
                "creators": [{"creatorType": "author", "name": "Invented Trust"}],
            },
            {"itemType": "podcast", "title": "Not a type we have", "extra": "PMID: 27182818"},
        ]
    )
    report = zimport(review_cli)
    assert (report["imported"], report["errors"]) == (4, [])
    listed = {r["sources"][0]["entry"]: r for r in review_cli.json("records", "ai-sw")}
    assert [
        (listed[k]["type"], listed[k]["title"], listed[k]["year"], listed[k]["authors"])
        for k in keys
    ] == [
        ("report", None, 2021, []),
        ("thesis", "A thesis with no author", 2021, []),
        ("other", "Undated", None, [{"family": "Invented Trust", "given": None}]),
        ("other", "Not a type we have", None, []),
    ]
    assert listed[keys[3]]["pmid"] == "27182818"


def test_collection_import_takes_the_collection_name_as_source(review_cli, server, library, engine):
    chosen = library.add_collection("AI in social work: included")
    other = library.add_collection("Background reading")
    inside = library.add_many([article(n, collections=[chosen]) for n in range(3)])
    library.add_many([article(n, collections=[other]) for n in range(3, 6)])
    library.add_note(inside[0], "<p>in the collection</p>")

    report = zimport(review_cli, "--collection", chosen.lower())
    assert (report["items"], report["imported"], report["notes"]) == (3, 3, 1)
    assert report["collection"] == chosen
    assert server.seen("GET", f"/collections/{chosen}/items$")
    listed = review_cli.json("records", "ai-sw")
    assert {r["sources"][0]["source"] for r in listed} == {"AI in social work: included"}
    assert link_of(engine).collection_key == chosen
    # One library or collection per review.
    message = fails(review_cli, "zotero", "import", "ai-sw", *GROUP, "--collection", other)
    assert message == (
        f"Error: review ai-sw is linked to collection {chosen} of group library 12345; "
        f"it cannot also take collection {other} of group library 12345"
    )


def test_a_zotero_item_that_duplicates_a_ris_record_merges_into_it(
    review_cli, server, library, engine, tmp_path
):
    ris = tmp_path / "scopus.ris"
    ris.write_text(
        "TY  - JOUR\nID  - scopus-7\nTI  - Invented study 7 of machine learning in social work"
        " practice\nAU  - Author7, Ada\nPY  - 2007\nDO  - 10.5555/ZOT.7\nER  - \n",
        encoding="utf-8",
    )
    review_cli("import", "ai-sw", str(ris), "--source", "Scopus 2025-03-01")
    [key7, key8] = library.add_many([article(7, abstractNote="Only Zotero has it."), article(8)])

    report = zimport(review_cli)
    assert (report["imported"], report["merged_duplicates"]) == (1, 1)
    listed = {r["doi"]: r for r in review_cli.json("records", "ai-sw")}
    assert len(listed) == 2
    merged = listed["10.5555/zot.7"]
    assert sorted((s["source"], s["entry"]) for s in merged["sources"]) == [
        ("Scopus 2025-03-01", "scopus-7"),
        ("Zotero group library 12345", key7),
    ]
    assert merged["abstract"] == "Only Zotero has it."  # a gap filled from Zotero
    assert by_key(engine)[key7].id == merged["id"]
    assert by_key(engine)[key8].doi == "10.5555/zot.8"


# ---------------------------------------------------------------- sync


def add_decision(engine: sa.Engine, record_id: int, decision: str, stage: str = "title_abstract"):
    with Session(engine) as session:
        user = session.scalar(sa.select(User).where(User.email == "rev@example.org"))
        if user is None:
            user = User(email="rev@example.org", name="Reviewer")
            session.add(user)
            session.flush()
        session.execute(
            sa.update(Decision)
            .where(Decision.record_id == record_id, Decision.stage == stage)
            .values(current=False)
        )
        review = session.scalar(sa.select(Review))
        session.add(
            Decision(
                review_id=review.id,
                record_id=record_id,
                user_id=user.id,
                stage=stage,
                decision=decision,
            )
        )
        outcomes.refresh(session, review, [record_id])
        session.commit()


def test_a_second_sync_changes_three_items_and_withdraws_a_deleted_one(
    review_cli, server, library, engine
):
    keys = library.add_many([article(n) for n in range(20)])
    zimport(review_cli)
    found = by_key(engine)
    gone = found[keys[5]]
    add_decision(engine, gone.id, "include")

    library.change(keys[0], title="A corrected title")
    library.change(keys[1], abstractNote="A new abstract.", date="Spring 2019")
    library.change(
        keys[2], creators=[{"creatorType": "author", "name": "Invented Council for Social Care"}]
    )
    library.delete(keys[5])
    server.clear()

    report = review_cli.json("zotero", "sync", "ai-sw")
    assert (report["updated"], report["withdrawn"], report["imported"]) == (3, 1, 0)
    assert report["since"] < report["library_version"] == library.version
    assert report["requests"] <= 4
    assert [r.path for r in server.requests] == [
        "/groups/12345/items",
        "/groups/12345/deleted",
        "/groups/12345/fulltext",
    ]
    assert server.requests[0].query["since"] == str(report["since"])

    after = by_key(engine)
    assert after[keys[0]].title == "A corrected title"
    assert (after[keys[1]].abstract, after[keys[1]].year) == ("A new abstract.", 2019)
    assert after[keys[2]].authors == [{"family": "Invented Council for Social Care", "given": None}]
    assert after[keys[3]].title == found[keys[3]].title
    # Withdrawn, not deleted: the record and its decision stay.
    assert after[keys[5]].withdrawn_at is not None
    with Session(engine) as session:
        [decision] = session.scalars(sa.select(Decision).where(Decision.record_id == gone.id))
        assert decision.decision == "include"
    updates = {e.details["item"]: e for e in actions(engine, "zotero.update")}
    assert set(updates) == set(keys[:3])
    assert updates[keys[0]].details["changes"]["title"] == {
        "from": "Invented study 0 of machine learning in social work practice",
        "to": "A corrected title",
    }
    assert [e.target_id for e in actions(engine, "zotero.withdraw")] == [gone.id]
    assert link_of(engine).library_version == library.version

    # Nothing changed since: three requests, nothing done.
    server.clear()
    quiet = review_cli.json("zotero", "sync", "ai-sw")
    assert len(server.requests) == quiet["requests"] == 3
    assert (quiet["read"], quiet["updated"], quiet["withdrawn"]) == (0, 0, 0)


def test_a_trashed_item_is_withdrawn_and_comes_back_when_restored(
    review_cli, server, library, engine
):
    [key, _] = library.add_many([article(1), article(2)])
    zimport(review_cli)
    library.trash(key)
    assert review_cli.json("zotero", "sync", "ai-sw")["withdrawn"] == 1
    assert by_key(engine)[key].withdrawn_at is not None
    library.items[key].pop("deleted")
    library.change(key)
    assert review_cli.json("zotero", "sync", "ai-sw")["restored"] == 1
    assert by_key(engine)[key].withdrawn_at is None


def test_a_sync_that_dies_halfway_resumes_from_where_it_was(review_cli, server, library, engine):
    keys = library.add_many([article(n) for n in range(150)])
    zimport(review_cli)
    version = link_of(engine).library_version
    for key in keys[:120]:
        library.change(key, title=f"Retitled {key}")
    server.fail(r"/groups/12345/items$", query={"start": "100"}, drop=True)

    message = fails(review_cli, "zotero", "sync", "ai-sw")
    assert message.startswith(
        f"Error: lost the connection to Zotero at {server.url} while asking for the items "
        "of group library 12345: "
    )
    assert message.endswith("(review ai-sw left as it was)")
    assert link_of(engine).library_version == version
    assert not any(r.title.startswith("Retitled") for r in records(engine))
    assert not actions(engine, "zotero.sync")

    report = review_cli.json("zotero", "sync", "ai-sw")
    assert (report["since"], report["updated"]) == (version, 120)
    assert sum(r.title.startswith("Retitled") for r in records(engine)) == 120


# ---------------------------------------------------------------- push


def tag_to_question(review_cli, engine: sa.Engine, record_id: int) -> None:
    review_cli("question", "add", "ai-sw", "Q3", "Bias and discrimination")
    with Session(engine) as session:
        question = session.scalar(sa.select(ReviewQuestion).where(ReviewQuestion.code == "Q3"))
        session.add(
            RecordTag(
                review_id=question.review_id,
                record_id=record_id,
                question_id=question.id,
                created_by="lead@example.org",
            )
        )
        session.commit()


def tags_of(library: Library, key: str) -> list[tuple[str, int | None]]:
    return sorted((t["tag"], t.get("type")) for t in library.tags(key))


def test_push_writes_decisions_and_questions_and_keeps_a_persons_tags(
    review_cli, server, library, engine
):
    one, two, three = library.add_many(
        [
            article(1, tags=[{"tag": "to read"}, {"tag": "litreview:exclude"}]),
            article(2),
            article(3),
        ]
    )
    zimport(review_cli)
    found = by_key(engine)
    add_decision(engine, found[one].id, "include")
    add_decision(engine, found[two].id, "include")
    add_decision(engine, found[two].id, "exclude", stage="full_text")
    tag_to_question(review_cli, engine, found[one].id)

    report = review_cli.json("zotero", "push", "ai-sw")
    assert (report["changed"], report["unchanged"], report["tags_added"]) == (2, 1, 3)
    assert tags_of(library, one) == [
        ("RQ:Q3 Bias and discrimination", 1),
        ("litreview:exclude", None),  # a person's tag, kept as it was
        ("litreview:include", 1),
        ("to read", None),
    ]
    assert ("litreview:exclude", 1) in tags_of(library, two)  # full text beats title/abstract
    assert not [t for t, _ in tags_of(library, three) if t.startswith(("litreview:", "RQ:"))]
    patches = server.seen("PATCH")
    assert {p.path.rsplit("/", 1)[1] for p in patches} == {one, two}
    assert all("if-unmodified-since-version" in p.headers for p in patches)
    assert server.seen("GET", "^/itemFields$")  # pyzotero checks the fields first

    # The decision changes: our old tag goes, the person's tags stay.
    add_decision(engine, found[one].id, "maybe")
    report = review_cli.json("zotero", "push", "ai-sw")
    assert report["changes"] == [
        {
            "item": one,
            "record": found[one].id,
            "add": ["litreview:maybe"],
            "remove": ["litreview:include"],
        }
    ]
    assert tags_of(library, one) == [
        ("RQ:Q3 Bias and discrimination", 1),
        ("litreview:exclude", None),
        ("litreview:maybe", 1),
        ("to read", None),
    ]
    # Our own tags are not keywords when the items come back in a sync.
    synced = review_cli.json("zotero", "sync", "ai-sw")
    assert (synced["read"], synced["updated"]) == (2, 0)
    assert by_key(engine)[one].keywords == ["to read", "litreview:exclude"]


def test_push_on_a_version_conflict_reads_the_item_again(review_cli, server, library, engine):
    [key] = library.add_many([article(1)])
    zimport(review_cli)
    add_decision(engine, by_key(engine)[key].id, "exclude")
    # A person tags the item in Zotero between our read and our write.
    server.before_write[key] = lambda lib: lib.add_tag(key, "urgent")

    report = review_cli.json("zotero", "push", "ai-sw")
    assert (report["changed"], report["conflicts"]) == (1, 1)
    assert [p.status for p in server.seen("PATCH")] == [412, 204]
    assert server.seen("GET", f"/items/{key}$")  # read again after the 412
    assert ("urgent", None) in tags_of(library, key)
    assert ("litreview:exclude", 1) in tags_of(library, key)


def test_push_dry_run_shows_the_changes_and_writes_nothing(review_cli, server, library, engine):
    [key] = library.add_many([article(1)])
    zimport(review_cli)
    add_decision(engine, by_key(engine)[key].id, "include")
    before = library.version

    result = review_cli("zotero", "push", "ai-sw", "--dry-run")
    record_id = by_key(engine)[key].id
    assert result.stdout.splitlines() == [
        f"item {key} (record {record_id}): + litreview:include",
        "would change 1 items (1 tags added, 0 removed), 0 already up to date"
        " (dry run: nothing written)",
    ]
    assert not server.seen("PATCH") and library.version == before
    assert not actions(engine, "zotero.push")


# ---------------------------------------------------------------- faults


def test_a_wrong_key_is_refused_with_a_clear_message(
    review_cli, server, library, engine, monkeypatch
):
    library.add_many([article(1)])
    monkeypatch.setenv("LITREVIEW_ZOTERO_API_KEY", "not-the-key-9999")
    message = fails(review_cli, "zotero", "import", "ai-sw", *GROUP)
    assert message == (
        "Error: Zotero refused access (HTTP 403) to the items of group library 12345: check that "
        "the API key ****9999 may read group library 12345 (review ai-sw left as it was)"
    )
    assert records(engine) == [] and link_of(engine) is None


def test_an_unknown_library_is_a_clear_message(review_cli, server, engine):
    message = fails(
        review_cli, "zotero", "import", "ai-sw", "--library-type", "group", "--library-id", "999"
    )
    assert message == (
        "Error: Zotero found nothing (HTTP 404) for the items of group library 999: check the "
        "library type, library id and collection key (review ai-sw left as it was)"
    )
    assert link_of(engine) is None


def test_rate_limits_are_waited_out(review_cli, server, library, engine):
    library.add_many([article(n) for n in range(150)])
    server.fail(r"/items$", status=429, headers={"Retry-After": "1"})
    server.fail(r"/items$", query={"start": "100"}, headers={"Backoff": "1"})
    report = zimport(review_cli)
    assert report["imported"] == 150
    pages = server.seen("GET", r"/items$")
    assert [p.status for p in pages] == [429, 200, 200]
    assert pages[1].at - pages[0].at >= 0.9  # Retry-After: 1
    after_backoff = server.requests[server.requests.index(pages[2]) + 1]
    assert after_backoff.at - pages[2].at >= 0.9  # Backoff: 1 on a good answer


def test_a_server_asking_to_come_back_later_is_waited_for(review_cli, server, library):
    library.add_many([article(1)])
    server.fail(r"/items$", status=503, headers={"Retry-After": "1"})
    assert zimport(review_cli)["imported"] == 1


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            {"status": 500},
            "Error: the Zotero server failed (HTTP 500) on the items of group library 12345: "
            "try again later (review ai-sw left as it was)",
        ),
        (
            {"malformed": True},
            "Error: Zotero sent malformed JSON for the items of group library 12345: ",
        ),
        (
            {"drop": True},
            "Error: lost the connection to Zotero at {url} while asking for the items of group "
            "library 12345: ",
        ),
    ],
    ids=["500", "malformed-json", "dropped"],
)
def test_a_failure_midway_leaves_the_review_as_it_was(
    review_cli, server, library, engine, fault, expected
):
    library.add_many([article(n) for n in range(150)])
    server.fail(r"/items$", query={"start": "100"}, **fault)
    message = fails(review_cli, "zotero", "import", "ai-sw", *GROUP)
    assert message.startswith(expected.format(url=server.url))
    assert message.endswith("(review ai-sw left as it was)")
    assert records(engine) == [] and link_of(engine) is None and not actions(engine, "import.file")


def test_file_downloads_wait_out_rate_limits_and_stop_on_errors(
    review_cli, server, library, engine
):
    keys = library.add_many([article(n) for n in range(6)])
    files = [library.attach(k, pdf_bytes(f"paper {n}"), f"p{n}.pdf") for n, k in enumerate(keys)]
    server.fail(rf"/items/{files[2]}/file$", status=429, headers={"Retry-After": "1"})
    assert zimport(review_cli)["pdfs"] == 6
    assert [r.status for r in server.seen("GET", rf"/items/{files[2]}/file$")] == [429, 302]

    later = library.add(article(99))
    broken = library.attach(later, pdf_bytes("x"), "x.pdf")
    server.fail(rf"/items/{broken}/file$", status=500, times=-1)
    message = fails(review_cli, "zotero", "sync", "ai-sw")
    assert message == (
        f"Error: the Zotero server failed (HTTP 500) on the file of attachment {broken}: "
        "try again later (review ai-sw left as it was)"
    )
    assert later not in by_key(engine)


def test_an_unreachable_server_is_a_clear_message(review_cli, monkeypatch, engine):
    monkeypatch.setenv("LITREVIEW_ZOTERO_API_URL", "http://127.0.0.1:9")
    message = fails(review_cli, "zotero", "import", "ai-sw", *GROUP)
    assert message.startswith("Error: cannot reach Zotero at http://127.0.0.1:9: ")
    assert link_of(engine) is None


def test_sync_before_import_says_what_to_do(review_cli):
    assert fails(review_cli, "zotero", "sync", "ai-sw") == (
        "Error: review ai-sw has no Zotero library yet: run `litreview zotero import` first"
    )


# ---------------------------------------------------------------- the desktop app


def test_local_api_import_pages_and_files(review_cli, monkeypatch, engine, env):
    library = Library("user", "0")
    keys = library.add_many([article(n) for n in range(120)])
    pdf = pdf_bytes("local")
    library.attach(keys[0], pdf, "local.pdf")
    with ZoteroServer(library, prefix="/api") as running:
        port = running.origin.rsplit(":", 1)[1]
        monkeypatch.setenv("LITREVIEW_ZOTERO_LOCAL_URL", f"http://localhost:{port}/api")
        report = review_cli.json("zotero", "import", "ai-sw", "--local")
    assert (report["imported"], report["pdfs"], report["library"]) == (
        120,
        1,
        "the Zotero desktop library",
    )
    assert [p.query.get("start") for p in running.seen("GET", r"^/api/users/0/items$")] == [
        None,
        "100",
    ]
    link = link_of(engine)
    assert (link.local, link.library_type, link.library_id, link.api_key_hint) == (
        True,
        "user",
        "0",
        None,
    )
    stored = [p for p in (Path(env["LITREVIEW_DATA_DIR"]) / "files").rglob("*.pdf")]
    assert [p.read_bytes() for p in stored] == [pdf]
