"""The PRISMA 2020 flow diagram: every box's number comes from the database and adds up."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import sqlalchemy as sa

from litreview.export import prisma
from litreview.models import Decision, ImportBatch, Record, RecordSource, Resolution, Review
from litreview.screening import outcomes
from tests import exporting

SVG = "{http://www.w3.org/2000/svg}"


def boxes(svg: str) -> dict[str, list[str]]:
    """Each box's lines of text, by its id (box-identified, box-screened...)."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        if (group.get("id") or "").startswith("box-"):
            found[group.get("id")[4:]] = [t.text or "" for t in group.iter(f"{SVG}text")]
    return found


def count(lines: list[str]) -> int:
    """The (n = ...) of a box's heading, which may wrap onto a second line."""
    return int(re.search(r"\(n = ([\d,]+)\)", " ".join(lines)).group(1).replace(",", ""))


def test_every_box_of_the_svg_matches_the_database(review_cli, session, tmp_path):
    scenario = exporting.build(review_cli, session)
    # The BASW guidance could not be obtained: a person says so. The maybe has no PDF yet
    # either, but nobody said it cannot be had: it is awaiting its full text.
    review_cli(
        "not-retrievable", "ai-sw", str(scenario.ids["basw"]), "--note", "Not held; no reply"
    )
    out = tmp_path / "prisma.svg"
    review_cli("export", "ai-sw", "prisma", "--format", "svg", "-o", str(out))
    found = boxes(out.read_text(encoding="utf-8"))
    assert set(found) == {
        "identified",
        "removed",
        "screened",
        "excluded-screening",
        "sought",
        "not-retrieved",
        "assessed",
        "excluded-eligibility",
        "included",
    }

    # Identified: the entries each import brought (the broken BibTeX entry is not one).
    per_source = dict(
        session.execute(
            sa.select(ImportBatch.source_label, sa.func.count(RecordSource.id))
            .join(RecordSource, RecordSource.batch_id == ImportBatch.id)
            .group_by(ImportBatch.source_label)
        ).all()
    )
    assert per_source == {
        "Scopus": 3,
        "Web of Science": 3,
        "PubMed": 2,
        "Zotero library": 2,
        "Hand search": 6,
    }
    assert found["identified"] == [
        "Records identified (n = 16):",
        "Scopus (n = 3)",
        "Web of Science (n = 3)",
        "PubMed (n = 2)",
        "Zotero library (n = 2)",
        "Hand search (n = 6)",
    ]
    # Removed: 16 entries became 12 records; one record was withdrawn.
    records = session.scalar(
        sa.select(sa.func.count(Record.id)).where(Record.merged_into_id.is_(None))
    )
    assert records == 12
    removed = " ".join(found["removed"])
    assert "Duplicate records removed (n = 4)" in removed
    assert "(withdrawn from the library) (n = 1)" in removed
    assert count(found["screened"]) == 11
    assert count(found["excluded-screening"]) == 2
    assert count(found["sought"]) == 9  # 8 included and 1 maybe
    assert found["sought"][-1] == "Awaiting full text (n = 1)"  # the maybe: no PDF yet
    # Not retrieved: only the report marked so (the BASW guidance).
    assert found["not-retrieved"] == ["Reports not retrieved (n = 1)"]
    assert count(found["assessed"]) == 7
    assert found["assessed"][-1] == "Awaiting a decision (n = 1)"  # Nakamura: text, no decision
    assert found["excluded-eligibility"] == [
        "Reports excluded (n = 3):",
        "Wrong population (n = 2)",
        "Not empirical (n = 1)",
    ]
    assert count(found["included"]) == 3
    included = {
        rid
        for (rid,) in session.execute(
            sa.select(Decision.record_id).where(
                Decision.stage == "full_text", Decision.decision == "include", Decision.current
            )
        )
    }
    assert included == {scenario.ids[n] for n in ("okafor", "costs", "script")}


def test_the_numbers_follow_the_data_and_add_up(review_cli, session):
    scenario = exporting.build(review_cli, session)
    review = session.get(Review, scenario.review_id)
    before = prisma.numbers(session, review)
    # A lead resolves the chapter at full text (include: the resolution wins over the
    # reviewer's exclusion), and the Nakamura paper, read at last, is excluded.
    session.add(
        Resolution(
            review_id=review.id,
            record_id=scenario.ids["chapter"],
            user_id=scenario.users[exporting.BOB],
            stage="full_text",
            decision="include",
        )
    )
    session.add(
        Decision(
            review_id=review.id,
            record_id=scenario.ids["generative"],
            user_id=scenario.users[exporting.BOB],
            stage="full_text",
            decision="exclude",
            reason="Not empirical",
        )
    )
    outcomes.refresh(session, review)
    session.commit()
    now = prisma.numbers(session, review)
    assert (before.included, now.included) == (3, 4)
    assert [(r.reason, r.records) for r in now.excluded_reasons] == [
        ("Not empirical", 2),
        ("Wrong population", 1),
    ]
    assert (before.awaiting_assessment, now.awaiting_assessment) == (1, 0)
    for n in (before, now):
        assert n.identified_total == sum(s.records for s in n.identified)
        assert n.identified_total - n.duplicates_removed - n.removed_other == n.screened
        assert n.screened == n.excluded_screening + n.awaiting_screening + n.sought
        assert n.sought == n.not_retrieved + n.awaiting_retrieval + n.assessed
        assert n.excluded_eligibility == sum(r.records for r in n.excluded_reasons)
        assert n.assessed == n.excluded_eligibility + n.awaiting_assessment + n.included


def test_json_png_and_escaped_labels(review_cli, tmp_path):
    review_cli(
        "import",
        "ai-sw",
        str(exporting.IMPORTS[0][0]),
        "--source",
        '<b>Scopus</b> & "friends"',
    )
    numbers = review_cli.json("export", "ai-sw", "prisma", "-o", str(tmp_path / "p.json"))
    assert numbers["identified"] == [{"source": '<b>Scopus</b> & "friends"', "records": 3}]
    assert numbers["screened"] == 3 and numbers["included"] == 0
    assert numbers["awaiting_screening"] == 3

    svg = review_cli("export", "ai-sw", "prisma", "--format", "svg", "-o", "-").stdout
    assert "&lt;b&gt;Scopus&lt;/b&gt; &amp;" in svg
    found = boxes(svg)  # parses: the label is text, not markup
    assert found["identified"][1] == '<b>Scopus</b> & "friends" (n = 3)'
    assert found["screened"] == ["Records screened (n = 3)", "Awaiting a decision (n = 3)"]

    from PIL import Image  # a dependency of litreview's, for the PNG

    png = tmp_path / "p.png"
    review_cli("export", "ai-sw", "prisma", "-o", str(png))
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        width = int(ET.fromstring(svg).get("width"))
        assert image.size[0] == width * 2  # drawn at twice the SVG's size, for print
        assert image.getpixel((0, 0)) == (255, 255, 255)
    refused = review_cli("export", "ai-sw", "prisma", "--format", "png", "-o", "-", ok=False)
    assert refused.exit_code == 1
    assert "is not text: write it to a file with -o FILE" in refused.stderr
