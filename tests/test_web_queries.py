"""No page makes a query per record: its query count is the same with 6 records and 66.

Counted with SQLAlchemy's ``before_cursor_execute`` on the app's engine, for each page
a reviewer opens while screening, on a review in blind dual mode with decisions,
conflicts, tags, annotations, sources and probable duplicates that all grow.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview import screening
from litreview.evidence import tags as tagging
from litreview.library import imports, reviews
from litreview.models import Record
from tests.webapp import make_site, ris

TA = "title_abstract"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def grow(site, tmp_path: Path, start: int, count: int) -> None:
    """Import ``count`` records (each with a near-twin title for the duplicates page),
    decide each by two reviewers (a third disagree), tag and annotate them."""
    entries = []
    for n in range(start, start + count):
        entries.append(
            {
                "title": f"Study number {n} of algorithmic casework tools in England",
                "year": 2000 + n % 20,
                "abstract": f"Abstract {n} about risk.",
            }
        )
    path = tmp_path / f"batch-{start}.ris"
    path.write_text(ris(*entries), encoding="utf-8")
    review = site.review
    imports.import_file(site.session, review, path, actor="setup", source_label=f"batch {start}")
    site.session.commit()
    ids = site.session.scalars(
        sa.select(Record.id).where(Record.title.like("Study number %")).order_by(Record.id)
    ).all()[start:]
    rita, rob = site.users["rita@example.org"], site.users["rob@example.org"]
    for n, record in enumerate(ids):
        screening.decide(site.session, review, record, rita, TA, "include")
        screening.decide(site.session, review, record, rob, TA, "exclude" if n % 3 else "include")
        tagging.tag_record(site.session, review, record, ["Q1"], "setup", note=f"note {n}")
    site.session.commit()


def count_queries(site, client, url: str) -> int:
    engine = site.app.extensions["litreview.engine"]
    statements: list[str] = []
    # The request's own statements: the test client runs it in this thread, while the
    # background threads (ranking, indexing) use the same engine.
    request_thread = threading.get_ident()

    def count(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == request_thread:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.close()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_query_counts_do_not_grow_with_the_number_of_records(site, tmp_path):
    review = site.review
    reviews.update_settings(
        site.session, review, actor="setup", screening_mode="dual", highlight_include="risk"
    )
    question = reviews.add_question(site.session, review, "Q1", "Types of AI", "setup")
    site.session.commit()
    lead = site.client("lead@example.org")
    rita = site.client("rita@example.org")
    some = site.add_records(1)[0]
    pages = {
        "dashboard": (lead, "/r/ai-sw/"),
        "records": (lead, "/r/ai-sw/records"),
        "records filtered": (lead, "/r/ai-sw/records?decision=conflict&year_from=2001&q=risk"),
        "records by reviewer": (
            lead,
            f"/r/ai-sw/records?reviewer={site.users['rob@example.org'].id}",
        ),
        "record": (rita, f"/r/ai-sw/records/{some}"),
        "screen next": (rita, "/r/ai-sw/screen/title_abstract/"),
        "screen one": (rita, f"/r/ai-sw/screen/title_abstract/{some}"),
        "screen full text": (rita, "/r/ai-sw/screen/full_text/"),
        "conflicts": (lead, "/r/ai-sw/conflicts"),
        "duplicates": (lead, "/r/ai-sw/duplicates"),
        "question": (lead, f"/r/ai-sw/questions/{question.id}"),
        "settings": (lead, "/r/ai-sw/settings"),
        "reviews": (lead, "/"),
    }
    grow(site, tmp_path, 0, 5)
    small = {name: count_queries(site, client, url) for name, (client, url) in pages.items()}
    grow(site, tmp_path, 5, 60)
    # The pages really show more now.
    assert "conflict" in lead.page("/r/ai-sw/conflicts")
    large = {name: count_queries(site, client, url) for name, (client, url) in pages.items()}
    assert large == small
    assert max(small.values()) <= 25, small
