"""Who may do what: the access matrix over every route and method, foreign ids, CSRF.

The matrix is generated from ``app.url_map``: a route added without an entry in
``EXPECTED`` fails ``test_every_route_is_in_the_access_matrix``, and a route whose
view does not enforce its level fails ``test_access_matrix``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from werkzeug.routing import Rule

from litreview.accounts import invites
from litreview.evidence import attachments
from litreview.evidence import tags as tagging
from litreview.library import duplicates, reviews
from litreview.models import Annotation, AuditEntry, Membership, RecordTag, Review, User
from litreview.web.access import RANK, level_of
from tests.pdfmaker import text_pdf
from tests.webapp import Client, Site, make_site, ris

# "METHOD endpoint" -> who may call it: public, signed_in, or the least review role.
EXPECTED = {
    "GET static": "public",
    "GET home.favicon": "public",
    "GET auth.signin": "public",
    "POST auth.signin_post": "public",
    "POST auth.signout": "signed_in",
    "GET home.index": "signed_in",
    "GET home.new_review": "signed_in",
    "POST home.create_review": "signed_in",
    "GET account.account": "signed_in",
    "POST account.change_password": "signed_in",
    "GET admin.accounts_page": "admin",
    "POST admin.account_create": "admin",
    "POST admin.account_reset_link": "admin",
    "POST admin.account_withdraw_reset": "admin",
    "POST admin.account_active": "admin",
    "POST admin.account_admin": "admin",
    "GET links.join": "public",
    "POST links.join_post": "public",
    "POST links.join_accept": "signed_in",
    "GET links.reset": "public",
    "POST links.reset_post": "public",
    "GET review.dashboard": "viewer",
    "GET review.agreement_csv": "viewer",
    "GET review.settings": "lead",
    "POST review.settings_save": "lead",
    "POST review.question_save": "lead",
    "POST review.question_remove": "lead",
    "GET review.members": "viewer",
    "POST review.member_save": "lead",
    "POST review.member_remove": "lead",
    "POST review.member_invite": "lead",
    "POST review.invite_withdraw": "lead",
    "GET review.audit_log": "lead",
    "GET review.import_form": "reviewer",
    "POST review.import_start": "reviewer",
    "POST review.import_zotero": "reviewer",
    "GET review.import_job": "reviewer",
    "GET review.import_status": "reviewer",
    "POST review.import_run_again": "reviewer",
    "GET review.duplicates": "viewer",
    "POST review.duplicates_merge": "reviewer",
    "POST review.duplicates_keep_apart": "reviewer",
    "POST review.duplicates_keep_apart_undo": "reviewer",
    "POST review.duplicates_undo": "reviewer",
    "GET review.screen_next": "reviewer",
    "GET review.screen_record": "reviewer",
    "POST review.screen_decide": "reviewer",
    "POST review.screen_skip": "reviewer",
    "POST review.screen_undo": "reviewer",
    "POST review.screen_order": "reviewer",
    "POST review.screen_not_retrievable": "reviewer",
    "GET review.conflicts": "viewer",
    "POST review.conflict_resolve": "reviewer",
    "GET review.records": "viewer",
    "POST review.records_bulk": "reviewer",
    "GET review.records_bulk_confirm": "reviewer",
    "POST review.records_bulk_decide": "reviewer",
    "GET review.record": "viewer",
    "GET review.record_edit": "reviewer",
    "POST review.record_edit_save": "reviewer",
    "POST review.attachment_upload": "reviewer",
    "POST review.attachment_remove": "reviewer",
    "POST review.attachment_replace": "reviewer",
    "POST review.record_not_retrievable": "reviewer",
    "GET review.attachment_file": "viewer",
    "POST review.record_tag": "reviewer",
    "POST review.record_untag": "reviewer",
    "POST review.annotation_delete": "reviewer",
    "GET review.search": "viewer",
    "GET review.question": "viewer",
    "GET review.exports": "reviewer",
    "GET review.export_download": "reviewer",
    "GET review.export_backup": "lead",
}
JSON_ROUTES = {"review.import_status"}
IDENTITIES = (
    "anonymous",
    "nina@example.org",
    "vera@example.org",
    "rita@example.org",
    "lead@example.org",
)
ROLE_OF = {"vera@example.org": "viewer", "rita@example.org": "reviewer", "lead@example.org": "lead"}
# Signed in is enough to reach these, but only an admin gets past the view's own check
# (accounts.require_admin); no identity of the matrix is an admin.
ADMIN_ONLY = {"GET home.new_review", "POST home.create_review"}
# A member of the level may reach these, but only for what they started (the matrix's
# import was started by the lead) unless they are a lead: the others get 403.
STARTER_OR_LEAD = {"POST review.import_run_again"}


def routes(app) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the app; signing out last, as it ends the session."""
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda rm: (rm[0].endpoint == "auth.signout", rm[0].rule, rm[1]))


def test_every_route_is_in_the_access_matrix(env, database_url):
    with make_site(database_url) as site:
        app = site.app
        present = {f"{method} {rule.endpoint}" for rule, method in routes(app)}
        assert present == set(EXPECTED), (
            f"routes not in EXPECTED: {sorted(present - set(EXPECTED))}; "
            f"in EXPECTED but gone: {sorted(set(EXPECTED) - present)}"
        )
        with app.test_request_context():
            for key, level in EXPECTED.items():
                endpoint = key.split(" ", 1)[1]
                assert level_of(endpoint) == level, f"{key} declares {level_of(endpoint)}"


def _pdf(tmp_path, name="paper.pdf", text="Consent and data protection in practice"):
    path = tmp_path / name
    path.write_bytes(text_pdf([text]))
    return path


def populate(site: Site, review: Review, lead: Client, tmp_path) -> dict[str, Any]:
    """One of everything a URL can name, in ``review``."""
    session = site.session
    q = reviews.add_question(session, review, "Q1", "Types of AI", "setup")
    r1, ra, rb, _ = site.add_records(4, review)
    tagging.tag_record(session, review, r1, ["Q1"], "setup", note="a note", quote="q", page="3")
    merge = duplicates.merge(session, review, ra, rb, "setup")
    settings = site.app.config["LITREVIEW_SETTINGS"]
    folder = tmp_path / review.slug
    folder.mkdir()
    attached = attachments.attach_pdf(session, settings, review, r1, _pdf(folder), "setup")
    invited = invites.invite(session, review, "reviewer", by=site.users["lead@example.org"])
    session.commit()
    annotation = session.scalar(sa.select(Annotation.id).where(Annotation.record_id == r1))
    upload = ris({"title": f"Imported into {review.slug}", "year": 2020})
    response = lead.post(
        f"/r/{review.slug}/import",
        {"files": (io.BytesIO(upload.encode()), "small.ris")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    job_url = response.location
    site.wait_for_import(lead, job_url)
    return {
        "slug": review.slug,
        "stage": "title_abstract",
        "record_id": r1,
        "question_id": q.id,
        "merge_id": merge.id,
        "attachment_id": attached.attachment.id,
        "annotation_id": annotation,
        "job_id": job_url.rstrip("/").rsplit("/", 1)[1],
        "user_id": site.users["vera@example.org"].id,
        "invite_id": invited.id,
        "token": "not-a-token-anyone-was-given",
        "filename": "style.css",
        "kind": "prisma",
    }


def fresh_values(
    site: Site, review: Review, values: dict[str, Any], tmp_path
) -> dict[str, Callable]:
    """Values made anew for each request, for the routes that use up what they name."""
    counter = iter(range(10_000))

    def member() -> int:
        user = site.add_user(f"temp{next(counter)}@example.org", "viewer", review)
        return user.id

    def annotation() -> int:
        return tagging.annotate(
            site.session, review, values["record_id"], "setup", note="to delete"
        ).id

    def tagged() -> int:
        exists = site.session.scalar(
            sa.select(RecordTag.id).where(
                RecordTag.record_id == values["record_id"],
                RecordTag.question_id == values["question_id"],
            )
        )
        if exists is None:
            tagging.tag_record(site.session, review, values["record_id"], ["Q1"], "setup")
        site.session.commit()
        return values["question_id"]

    def question() -> int:
        return reviews.add_question(site.session, review, f"T{next(counter)}", "To remove", "x").id

    def committed(make: Callable[[], int]) -> Callable[[], int]:
        def run() -> int:
            value = make()
            site.session.commit()
            return value

        return run

    pdf_folder = tmp_path / f"{review.slug}-fresh"
    pdf_folder.mkdir(exist_ok=True)

    def attachment() -> int:
        # A PDF of its own each time: the one the matrix's other routes name stays.
        n = next(counter)
        pdf = _pdf(pdf_folder, f"extra{n}.pdf", f"An extra full text number {n}")
        settings = site.app.config["LITREVIEW_SETTINGS"]
        made = attachments.attach_pdf(
            site.session, settings, review, values["record_id"], pdf, "setup"
        )
        return made.attachment.id

    def invitation() -> int:
        return invites.invite(site.session, review, "viewer", by=site.users["lead@example.org"]).id

    # Bound to an email nobody of the matrix has: accepting it is refused (400), not 404.
    elsewhere = invites.invite(
        site.session, review, "viewer", by=site.users["lead@example.org"], email="x@example.net"
    ).token
    site.session.commit()

    return {
        "links.join_accept": {"token": lambda: elsewhere},
        "review.member_remove": {"user_id": committed(member)},
        "review.invite_withdraw": {"invite_id": committed(invitation)},
        "review.annotation_delete": {"annotation_id": committed(annotation)},
        "review.attachment_remove": {"attachment_id": committed(attachment)},
        "review.record_untag": {"question_id": tagged},
        "review.question_remove": {"question_id": committed(question)},
    }


def url_for_rule(rule: Rule, values: dict[str, Any], fresh: dict[str, Callable]) -> str:
    args = {}
    for name in rule.arguments:
        assert name in values, f"no test value for URL argument {name!r} of {rule.rule}"
        maker = fresh.get(rule.endpoint, {}).get(name)
        args[name] = maker() if maker else values[name]
    path = rule.rule
    for name, value in args.items():
        path = re.sub(rf"<(?:[^<>]+:)?{name}>", str(value), path)
    return path


def send(client: Client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    return client.post(url, {})


def to_signin(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/signin")


def test_access_matrix(env, database_url, tmp_path):
    with make_site(database_url) as site:
        lead = site.client("lead@example.org")
        values = populate(site, site.review, lead, tmp_path)
        fresh = fresh_values(site, site.review, values, tmp_path)
        problems = []
        for identity in IDENTITIES:
            client = site.client(None if identity == "anonymous" else identity)
            for rule, method in routes(site.app):
                level = EXPECTED[f"{method} {rule.endpoint}"]
                url = url_for_rule(rule, values, fresh)
                response = send(client, method, url)
                status = response.status_code
                response.close()
                where = f"{identity} {method} {url} ({level}): {status}"
                if rule.endpoint == "auth.signout":
                    ok = to_signin(response)
                elif level == "public":
                    ok = status < 500 and not to_signin(response) and status not in (401, 403)
                elif identity == "anonymous":
                    ok = (status == 401) if rule.endpoint in JSON_ROUTES else to_signin(response)
                elif f"{method} {rule.endpoint}" in ADMIN_ONLY or level == "admin":
                    ok = status == 403
                elif level == "signed_in":
                    ok = status < 500 and status not in (401, 403, 404) and not to_signin(response)
                elif identity not in ROLE_OF:
                    ok = status == 404  # not a member: the review does not exist for them
                elif RANK[ROLE_OF[identity]] < RANK[level]:
                    ok = status == 403
                elif f"{method} {rule.endpoint}" in STARTER_OR_LEAD and ROLE_OF[identity] != "lead":
                    ok = status == 403
                else:
                    ok = (
                        status < 500
                        and status not in (401, 403, 404, 405)
                        and not to_signin(response)
                    )
                if not ok:
                    problems.append(where)
        assert not problems, "\n".join(problems)


def test_ids_of_another_review_and_unknown_ids_are_404(env, database_url, tmp_path):
    with make_site(database_url) as site:
        lead = site.client("lead@example.org")
        mine = populate(site, site.review, lead, tmp_path)
        other = reviews.create_review(site.session, "other", "Another review", "setup")
        site.session.commit()
        site.add_user("lead@example.org", "lead", other)
        site.add_user("olga@example.org", "reviewer", other)
        theirs = populate(site, other, lead, tmp_path)
        theirs["user_id"] = site.users["olga@example.org"].id
        audit_before = site.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
        problems = []
        for rule, method in routes(site.app):
            if not rule.endpoint.startswith("review."):
                continue
            for name in sorted(set(rule.arguments) - {"slug", "stage", "kind"}):
                for label, value in (("foreign", theirs[name]), ("unknown", 987654)):
                    values = {**mine, name: value}
                    url = url_for_rule(rule, values, {})
                    response = send(lead, method, url)
                    if response.status_code != 404:
                        problems.append(f"{label} {name}: {method} {url}: {response.status_code}")
                    response.close()
            url = url_for_rule(rule, {**mine, "slug": "no-such-review"}, {})
            response = send(lead, method, url)
            if response.status_code != 404:
                problems.append(f"unknown review: {method} {url}: {response.status_code}")
            response.close()
        assert not problems, "\n".join(problems)
        site.session.expire_all()
        assert site.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit_before


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(env, database_url, tmp_path):
    with make_site(database_url) as site:
        lead = site.client("lead@example.org")
        values = populate(site, site.review, lead, tmp_path)
        members_before = site.session.scalar(sa.select(sa.func.count(Membership.id)))
        audit_before = site.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
        posts = [rule for rule, method in routes(site.app) if method == "POST"]
        assert len(posts) >= 15
        for rule in posts:
            url = url_for_rule(rule, values, {})
            data = {"email": "lead@example.org", "title": "x", "decision": "include"}
            response = lead.post(url, data, csrf=False)
            assert response.status_code == 400, (url, response.status_code)
            assert "The form could not be checked" in response.get_data(as_text=True)
            forged = lead.post(url, {**data, "csrf_token": "forged"}, csrf=False)
            assert forged.status_code == 400, url
        site.session.expire_all()
        assert site.session.scalar(sa.select(sa.func.count(Membership.id))) == members_before
        assert site.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit_before
        # Still signed in: the refused sign-out did not sign anyone out.
        assert lead.get("/").status_code == 200
        assert site.session.get(User, values["user_id"]) is not None


def test_an_admin_leads_every_review_and_alone_creates_reviews(env, database_url):
    with make_site(database_url) as site:
        admin = site.add_user("ada@example.org")
        admin.is_admin = True
        site.session.commit()
        reviews.create_review(site.session, "other", "Other review", "setup")
        site.session.commit()
        ada = site.client("ada@example.org")
        # Not a member of anything, yet every review is listed and open to her as a lead.
        home = ada.page("/")
        assert 'href="/r/ai-sw/">AI in social work</a>' in home
        assert 'href="/r/other/">Other review</a>' in home and "<td>lead</td>" in home
        assert "Create a review" in home
        assert ada.get("/r/other/settings").status_code == 200
        made = ada.post("/reviews/new", {"slug": "lonely", "title": "Loneliness"})
        assert made.status_code == 303 and made.location == "/r/lonely/settings"
        # A lead of a review is not an admin: no review of their own making.
        lead = site.client("lead@example.org")
        assert "Create a review" not in lead.page("/")
        refused = lead.post("/reviews/new", {"slug": "mine", "title": "Mine"})
        assert refused.status_code == 403
        assert "Only an admin may create reviews" in refused.get_data(as_text=True)
        assert lead.get("/r/other/").status_code == 404
        assert site.session.scalar(sa.select(Review.id).where(Review.slug == "mine")) is None
