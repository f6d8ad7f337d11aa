"""Two people doing the same thing at once get one result, never a 500: real requests at
the same moment against a real server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from litreview.library import reviews
from litreview.models import AuditEntry, KeepApart, RecordTag
from tests.loopback import Browser, at_once, serve_in_thread
from tests.webapp import make_site

ROUNDS = 3


def _audit_count(site, action: str) -> int:
    site.session.expire_all()
    return site.session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == action)
    )


def test_tagging_and_untagging_at_once_leave_one_tag_and_one_audit_entry(env, database_url):
    # As in production: an error in a view is the app's 500, not an exception in the test.
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        reviews.add_question(site.session, site.review, "Q1", "Types of AI", "setup")
        site.session.commit()
        [record] = site.add_records(1)
        question = site.review.questions[0].id
        tag_url = f"/r/ai-sw/records/{record}/tags"
        untag_url = f"/r/ai-sw/records/{record}/tags/{question}/remove"
        with serve_in_thread(site.app) as base:
            people = []
            for email in ("rita@example.org", "rob@example.org", "lead@example.org"):
                people.append(Browser(base))
                assert people[-1].sign_in(email).status == 302
            browsers = [people[n % 3].copy() for n in range(20)]
            for round_ in range(1, ROUNDS + 1):
                # Eight reviewers tick the same question on the same record at once.
                tagged = at_once(8, lambda n: browsers[n].post(tag_url, {"question": "Q1"}))
                assert [a.status for a in tagged] == [303] * 8, [a.text for a in tagged]
                site.session.expire_all()
                tags = site.session.scalars(sa.select(RecordTag)).all()
                assert [(t.record_id, t.question_id) for t in tags] == [(record, question)]
                assert _audit_count(site, "record.tag") == round_
                page = browsers[0].get(f"/r/ai-sw/records/{record}").text
                assert "Tagged to Q1" in page or "Q1" in page
                # Twenty remove it at once: one removal, one audit entry, no error.
                removed = at_once(20, lambda n: browsers[n].post(untag_url))
                assert [a.status for a in removed] == [303] * 20, [a.text for a in removed]
                site.session.expire_all()
                assert site.session.scalars(sa.select(RecordTag)).all() == []
                assert _audit_count(site, "record.untag") == round_
            # Each person is told what happened: removed, or not tagged any more.
            notes = [b.get(f"/r/ai-sw/records/{record}").text for b in browsers]
            assert all(
                f"Record {record} is no longer tagged to Q1." in text
                or f"Record {record} was not tagged to Q1." in text
                for text in notes
            )


def test_keeping_a_pair_apart_at_once_leaves_one_row_and_one_audit_entry(env, database_url):
    with make_site(database_url, {"PROPAGATE_EXCEPTIONS": False}) as site:
        a, b = site.add_records(2, title="The same paper on risk")
        with serve_in_thread(site.app) as base:
            rita = Browser(base)
            assert rita.sign_in("rita@example.org").status == 302
            browsers = [rita.copy() for _ in range(8)]
            answers = at_once(
                8,
                lambda n: browsers[n].post("/r/ai-sw/duplicates/keep-apart", {"a": a, "b": b}),
            )
            assert [r.status for r in answers] == [303] * 8, [r.text for r in answers]
        site.session.expire_all()
        pairs = site.session.scalars(sa.select(KeepApart)).all()
        assert [(p.record_a_id, p.record_b_id) for p in pairs] == [(a, b)]
        assert _audit_count(site, "record.keep_apart") == 1
