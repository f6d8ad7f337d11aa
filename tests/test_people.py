"""People and accounts: invitations and reset links (one use, even at the same moment),
the account page, the admin's accounts page, a review's members and audit log, and the
commands that print links. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from litreview import audit, screening
from litreview.accounts import admins, invites, redeem, team
from litreview.accounts import users as accounts
from litreview.db import make_engine, make_session_factory
from litreview.errors import Invalid
from litreview.library import duplicates, reviews
from litreview.models import AccountToken, AuditEntry, Membership, User
from tests.webapp import PASSWORD, make_site

TA, FT = "title_abstract", "full_text"
NEW_PASSWORD = "a much better passphrase"
LINK = re.compile(r'value="(http://localhost/(?:join|reset)/[A-Za-z0-9_-]+)"')


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def make_admin(site, email="ada@example.org"):
    user = site.add_user(email)
    user.is_admin = True
    site.session.commit()
    return user


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost")


def audit_actions(site, **where) -> list[str]:
    site.session.expire_all()
    query = sa.select(AuditEntry.action).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(site.session.scalars(query))


def test_a_lead_invites_and_the_link_makes_one_account_once(site):
    lead = site.client("lead@example.org")
    made = lead.post("/r/ai-sw/members/invite", {"role": "reviewer", "note": "Sam from Leeds"})
    assert made.status_code == 201
    page = made.get_data(as_text=True)
    url = LINK.search(page).group(1)
    assert "shown only now" in page and "Sam from Leeds" in page
    token = url.rsplit("/", 1)[1]
    # Only a hash is kept: the token is in no column of the table.
    site.session.expire_all()
    [row] = site.session.scalars(sa.select(AccountToken)).all()
    assert token not in repr([getattr(row, c.key) for c in sa.inspect(AccountToken).columns])
    assert row.token_hash == invites.token_hash(token) != token
    # The lead's list of open invitations shows it, without the link.
    members_page = lead.page("/r/ai-sw/members")
    assert f'id="invite-{row.id}"' in members_page and token not in members_page

    visitor = site.client()
    join = visitor.page(path_of(url))
    assert "Lead invites you to take part in this review as a <strong>reviewer</strong>" in join
    # Opening the link used nothing: it still works.
    assert visitor.get(path_of(url)).status_code == 200
    short = visitor.post(
        path_of(url),
        {"email": "sam@example.org", "name": "Sam", "password": "short", "repeat": "short"},
    )
    assert short.status_code == 400
    assert "at least 8 characters" in short.get_data(as_text=True)
    form = {"email": "Sam@Example.org", "name": "Sam", "password": NEW_PASSWORD}
    differ = visitor.post(path_of(url), {**form, "repeat": NEW_PASSWORD + "!"})
    assert differ.status_code == 400 and "The two passwords differ" in differ.get_data(as_text=True)
    done = visitor.post(path_of(url), {**form, "repeat": NEW_PASSWORD})
    assert done.status_code == 303
    assert done.location == "/signin?next=/r/ai-sw/"
    assert "Your account is made and joined AI in social work as a reviewer" in visitor.page(
        "/signin"
    )
    sam = accounts.get_user_by_email(site.session, "sam@example.org")
    assert accounts.role_of(site.session, site.review, sam) == "reviewer"
    assert accounts.authenticate(site.session, "sam@example.org", NEW_PASSWORD) is not None

    again = site.client().post(
        path_of(url), {**form, "email": "eve@example.org", "repeat": NEW_PASSWORD}
    )
    assert again.status_code == 410
    assert "This link has been used already: ask the review&#39;s lead for a new one." in (
        again.get_data(as_text=True)
    )
    assert site.client().get(path_of(url)).status_code == 410
    assert site.client().get("/join/" + "x" * 43).status_code == 404
    assert site.session.scalar(sa.select(User).where(User.email == "eve@example.org")) is None
    assert audit_actions(site, actor="sam@example.org") == [
        "user.create",
        "member.add",
        "invite.accept",
    ]
    assert "invite.create" in audit_actions(site, actor="lead@example.org")


def test_two_people_using_one_link_at_the_same_moment_make_one_account(site, database_url):
    made = invites.invite(site.session, site.review, "viewer", by=site.users["lead@example.org"])
    site.session.commit()
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    start = threading.Barrier(2)
    results: dict[str, str] = {}

    def use(email: str) -> None:
        with factory() as session:
            start.wait()
            try:
                redeem.sign_up(
                    session,
                    made.token,
                    email=email,
                    name=email,
                    password=NEW_PASSWORD,
                    repeat=NEW_PASSWORD,
                )
                session.commit()
                results[email] = "made"
            except Invalid as exc:
                session.rollback()
                results[email] = str(exc)

    threads = [threading.Thread(target=use, args=(f"{n}@example.org",)) for n in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert sorted(results.values())[0] == "made"
    assert sorted(results.values())[1] in (
        "this link has been used already: ask the review's lead for a new one",
        "this link has just been used by someone else",
    )
    site.session.expire_all()
    made_accounts = site.session.scalars(
        sa.select(User.email).where(User.email.in_(["one@example.org", "two@example.org"]))
    ).all()
    assert len(made_accounts) == 1
    assert audit_actions(site).count("invite.accept") == 1


def test_an_invitation_for_an_email_and_one_accepted_by_an_existing_account(site):
    lead = site.users["lead@example.org"]
    bound = invites.invite(site.session, site.review, "reviewer", by=lead, email="Kim@Example.org")
    with pytest.raises(Invalid, match="has an account already: add them as a member instead"):
        invites.invite(site.session, site.review, "viewer", by=lead, email="rita@example.org")
    site.session.rollback()
    bound = invites.invite(site.session, site.review, "reviewer", by=lead, email="kim@example.org")
    open_one = invites.invite(site.session, site.review, "lead", by=lead)
    site.session.commit()
    with pytest.raises(invites.users.NotAllowed):
        invites.invite(site.session, site.review, "viewer", by=site.users["rita@example.org"])
    site.session.rollback()
    # A second invitation for the same email withdraws the first.
    assert [i.id for i in invites.pending_invites(site.session, site.review)] == [
        open_one.id,
        bound.id,
    ]
    visitor = site.client()
    page = visitor.page(bound.path)
    assert 'value="kim@example.org"' in page and "readonly" in page
    other = visitor.post(
        bound.path,
        {"email": "eve@example.org", "name": "Eve", "password": PASSWORD, "repeat": PASSWORD},
    )
    assert other.status_code == 400
    assert "This invitation is for kim@example.org." in other.get_data(as_text=True)
    # Refused: the link still works.
    assert visitor.get(bound.path).status_code == 200

    # Nina has an account: signed in, she accepts the open invitation as herself.
    nina = site.client("nina@example.org")
    assert "Join as nina@example.org" in nina.page(open_one.path)
    assert nina.post(bound.path + "/accept").status_code == 400
    joined = nina.post(open_one.path + "/accept")
    assert joined.status_code == 303 and joined.location == "/r/ai-sw/"
    assert accounts.role_of(site.session, site.review, site.users["nina@example.org"]) == "lead"
    assert nina.post(open_one.path + "/accept").status_code == 410
    # Someone who has the role already leaves the link unused.
    viewer_link = invites.invite(site.session, site.review, "viewer", by=lead)
    site.session.commit()
    rita = site.client("rita@example.org")
    kept = rita.post(viewer_link.path + "/accept")
    assert kept.status_code == 303
    assert "You take part in AI in social work already" in rita.page("/r/ai-sw/")
    assert redeem.look_up(site.session, invites.INVITE, viewer_link.token).role == "viewer"
    # A lead withdraws an invitation: its link stops working.
    lead_client = site.client("lead@example.org")
    gone = lead_client.post(f"/r/ai-sw/members/invites/{viewer_link.id}/withdraw")
    assert gone.status_code == 303
    assert site.client().get(viewer_link.path).status_code == 410
    assert "withdrawn" in site.client().get(viewer_link.path).get_data(as_text=True)


def test_an_expired_link_says_so(site):
    made = invites.invite(
        site.session,
        site.review,
        "viewer",
        by=site.users["lead@example.org"],
        lifetime=timedelta(seconds=-1),
    )
    site.session.commit()
    response = site.client().get(made.path)
    assert response.status_code == 410
    assert "This link expired on" in response.get_data(as_text=True)
    assert invites.pending_invites(site.session, site.review) == []


def test_change_your_password_on_the_account_page(site):
    rita = site.client("rita@example.org")
    page = rita.page("/account")
    assert "rita@example.org" in page and 'href="/r/ai-sw/">AI in social work</a>' in page
    assert '<td class="role-cell">reviewer</td>' in page
    wrong = rita.post(
        "/account/password",
        {"current": "not it at all", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert "Your current password is not the one you typed." in wrong.get_data(as_text=True)
    other_browser = site.client("rita@example.org")
    changed = rita.post(
        "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    assert changed.status_code == 303 and changed.location == "/signin"
    assert "Your password is changed" in rita.page("/signin")
    assert rita.get("/").status_code == 302
    assert other_browser.get("/").status_code == 302
    assert site.client().sign_in("rita@example.org", PASSWORD).status_code == 401
    assert site.client().sign_in("rita@example.org", NEW_PASSWORD).status_code == 302
    # The change is audited (sign-ins are audited too, so it is not the last entry).
    actions = audit_actions(site, actor="rita@example.org")
    assert actions.count("user.password") == 1
    assert actions.index("user.password") < len(actions) - 1 and actions[-1] == "user.signin"


def test_an_admin_manages_accounts_and_reset_links(site):
    ada = make_admin(site)
    lead = site.client("lead@example.org")
    assert lead.get("/admin/accounts").status_code == 403
    assert 'href="/admin/accounts"' not in lead.page("/")
    admin = site.client("ada@example.org")
    page = admin.page("/admin/accounts")
    assert 'href="/admin/accounts"' in page and "rob@example.org" in page

    # A new account gets a link to choose its password: nobody else knows it.
    made = admin.post(
        "/admin/accounts", {"email": "Pat@Example.org", "name": "<script>x</script>Pat"}
    )
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;Pat" in html and "<script>x</script>" not in html
    url = path_of(LINK.search(html).group(1))
    assert url.startswith("/reset/")
    visitor = site.client()
    assert "pat@example.org" in visitor.page(url)
    set_it = visitor.post(url, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert set_it.status_code == 303 and set_it.location == "/signin"
    assert site.client().sign_in("pat@example.org", NEW_PASSWORD).status_code == 302
    # Used once: the second use is refused.
    second = visitor.post(url, {"password": "another password", "repeat": "another password"})
    assert second.status_code == 410
    assert site.client().sign_in("pat@example.org", "another password").status_code == 401

    # A reset link for Rob; a second one replaces it.
    rob = site.users["rob@example.org"]
    first = LINK.search(admin.post(f"/admin/accounts/{rob.id}/reset-link").get_data(as_text=True))
    second = LINK.search(admin.post(f"/admin/accounts/{rob.id}/reset-link").get_data(as_text=True))
    assert site.client().get(path_of(first.group(1))).status_code == 410
    assert "until" in admin.page("/admin/accounts").split(f'id="account-{rob.id}"')[1][:600]
    admin.post(f"/admin/accounts/{rob.id}/withdraw-reset")
    assert site.client().get(path_of(second.group(1))).status_code == 410

    # Disable: Rob cannot sign in, and his browser is signed out; enable again.
    rob_browser = site.client("rob@example.org")
    assert admin.post(f"/admin/accounts/{rob.id}/active", {"active": "0"}).status_code == 303
    assert rob_browser.get("/").status_code == 302
    assert site.client().sign_in("rob@example.org").status_code == 401
    assert "cannot sign in" in admin.page("/admin/accounts")
    assert admin.post(f"/admin/accounts/{rob.id}/reset-link").status_code == 400
    admin.post(f"/admin/accounts/{rob.id}/active", {"active": "1"})
    assert site.client().sign_in("rob@example.org").status_code == 302

    # The last admin stays one and cannot disable herself; a second admin changes that.
    refused = admin.post(f"/admin/accounts/{ada.id}/admin", {"admin": "0"})
    assert refused.status_code == 400
    assert "ada@example.org is the only active admin" in refused.get_data(as_text=True)
    assert admin.post(f"/admin/accounts/{ada.id}/active", {"active": "0"}).status_code == 400
    lead_id = site.users["lead@example.org"].id
    assert admin.post(f"/admin/accounts/{lead_id}/admin", {"admin": "1"}).status_code == 303
    assert lead.get("/admin/accounts").status_code == 200
    stepped_down = admin.post(f"/admin/accounts/{ada.id}/admin", {"admin": "0"})
    assert stepped_down.location == "/"
    assert admin.get("/admin/accounts").status_code == 403
    actions = audit_actions(site, review_id=None)
    for action in ("user.create", "reset.create", "reset.use", "reset.withdraw", "user.disable"):
        assert action in actions
    assert actions.count("user.admin") == 1 and actions.count("user.unadmin") == 1
    assert "reset.create" in lead.page("/admin/accounts")  # the recent account events


def test_the_members_page_counts_what_each_person_decided(site):
    session, review = site.session, site.review
    ids = site.add_records(6)
    rita, rob, lead = (site.users[f"{n}@example.org"] for n in ("rita", "rob", "lead"))
    for n, decision in enumerate(("include", "exclude", "maybe", "include")):
        screening.decide(session, review, ids[n], rita, TA, decision)
    screening.decide(session, review, ids[0], rita, FT, "include")
    screening.decide(session, review, ids[4], rob, TA, "exclude")
    screening.decide(session, review, ids[5], rob, TA, "include")
    screening.undo_last(session, review, rob, TA)  # not counted
    duplicates.merge(session, review, ids[0], ids[3], "setup")  # record 4 merged away
    session.commit()
    numbers = team.team(session, review, lead)
    by_email = {p.email: p for p in numbers.members}
    assert by_email["rita@example.org"].decided[TA] == {
        "records": 3,
        "include": 1,
        "exclude": 1,
        "maybe": 1,
    }
    assert by_email["rita@example.org"].decided[FT]["records"] == 1
    assert by_email["rob@example.org"].decided[TA]["records"] == 1
    assert by_email["vera@example.org"].records == 0

    page = site.client("vera@example.org").page("/r/ai-sw/members")
    rita_row = page.split(f'id="member-{rita.id}"')[1].split("</tr>")[0]
    assert re.search(r'class="decided ta"><span class="n">3</span> <small class="split">', rita_row)
    assert "1 in" in rita_row and "1 out" in rita_row and "1 maybe" in rita_row
    assert re.search(r'class="decided ft"><span class="n">1</span>', rita_row)
    assert 'class="role">reviewer<' in rita_row
    assert "Make an invitation link" not in page  # a viewer manages nothing

    # Blind dual mode: only the leads see how each person decided.
    reviews.update_settings(session, review, actor="setup", screening_mode="dual")
    session.commit()
    assert "1 out" not in site.client("vera@example.org").page("/r/ai-sw/members")
    lead_page = site.client("lead@example.org").page("/r/ai-sw/members")
    assert "1 out" in lead_page and "Make an invitation link" in lead_page

    # Rob leaves: his decision still counts, under the others.
    accounts.remove_member(session, review, rob, actor="setup")
    session.commit()
    after = site.client("lead@example.org").page("/r/ai-sw/members")
    others = after.split('id="others"')[1]
    assert f'id="other-{rob.id}"' in others and "no longer a member" in others


def test_members_are_added_and_removed_on_the_members_page(site):
    lead = site.client("lead@example.org")
    assert 'href="/r/ai-sw/members"' in lead.page("/r/ai-sw/settings")
    added = lead.post("/r/ai-sw/members", {"email": "nina@example.org", "role": "viewer"})
    assert added.status_code == 303 and added.location == "/r/ai-sw/members#members"
    nina = site.users["nina@example.org"]
    assert accounts.role_of(site.session, site.review, nina) == "viewer"
    assert lead.post(f"/r/ai-sw/members/{nina.id}/remove").status_code == 303
    assert accounts.role_of(site.session, site.review, nina) is None
    assert (
        site.client("rita@example.org")
        .post("/r/ai-sw/members", {"email": "nina@example.org", "role": "lead"})
        .status_code
        == 403
    )


def test_the_audit_log_filters_by_person_action_and_record(site):
    session, review = site.session, site.review
    ids = site.add_records(3, title="<script>alert(1)</script> risk")
    rita, rob = site.users["rita@example.org"], site.users["rob@example.org"]
    screening.decide(session, review, ids[0], rita, TA, "include", note="<b>sure</b>")
    screening.decide(session, review, ids[1], rita, TA, "exclude")
    screening.decide(session, review, ids[0], rob, TA, "maybe")
    duplicates.merge(session, review, ids[2], ids[1], "lead@example.org")
    for n in range(60):
        audit.log(session, "setup", "review.settings", review_id=review.id, n=n)
    session.commit()

    page = audit.read(session, review)
    assert page.total == 65 and len(page.entries) == audit.PAGE and page.older is not None
    rest = audit.read(session, review, before=page.older)
    assert len(rest.entries) == 15 and rest.older is None
    assert [e.id for e in page.entries + rest.entries] == sorted(
        [e.id for e in page.entries + rest.entries], reverse=True
    )
    by_rita = audit.read(session, review, actor="Rita@Example.org")
    assert [e.action for e in by_rita.entries] == ["screen.decide", "screen.decide"]
    family = audit.read(session, review, action="screen.*")
    assert family.total == 3
    assert audit.read(session, review, action="screen").total == 0
    assert audit.read(session, review, action="record.merge").total == 1
    # Record 2: rita's decision on it, and the merge that took it in as a duplicate.
    about = audit.read(session, review, record_id=ids[1])
    assert [e.action for e in about.entries] == ["record.merge", "screen.decide"]
    assert about.entries[0].records == (ids[2], ids[1])
    assert audit.read(session, review, record_id=ids[0], actor="rob@example.org").total == 1
    actors, actions = audit.choices(session, review)
    assert actors == ["lead@example.org", "rita@example.org", "rob@example.org", "setup"]
    assert actions[:2] == ["record.*", "record.merge"] and "screen.*" in actions

    lead = site.client("lead@example.org")
    html = lead.page(f"/r/ai-sw/audit?actor=rita%40example.org&action=screen.*&record={ids[0]}")
    assert "1 entry matches" in html
    assert "&lt;b&gt;sure&lt;/b&gt;" in html and "<b>sure</b>" not in html
    assert f'href="/r/ai-sw/records/{ids[0]}"' in html
    first = lead.page("/r/ai-sw/audit")
    assert "65 entries" in first and 'id="older"' in first
    older = re.search(r'href="([^"]*before=\d+[^"]*)" id="older"', first).group(1)
    assert "Newest" in lead.page(older.replace("&amp;", "&"))
    assert site.client("rita@example.org").get("/r/ai-sw/audit").status_code == 403
    assert 'href="/r/ai-sw/audit"' not in site.client("rita@example.org").page("/r/ai-sw/")
    assert 'href="/r/ai-sw/audit"' in lead.page("/r/ai-sw/")


def test_links_from_the_command_line_work_in_the_browser(site, cli, env):
    from tests.conftest import add_admin

    add_admin(env["LITREVIEW_DATABASE_URL"], env["LITREVIEW_USER"])
    made = cli.json("user", "reset-link", "Rita@example.org", "--url", "http://review.example/")
    assert made["email"] == "rita@example.org"
    assert made["link"].startswith("http://review.example/reset/")
    path = made["link"].removeprefix("http://review.example")
    visitor = site.client()
    assert visitor.post(path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}).status_code == 303
    assert site.client().sign_in("rita@example.org", NEW_PASSWORD).status_code == 302

    text = cli("member", "invite", "ai-sw", "--role", "viewer", "--as", "lead@example.org")
    link = text.stdout.splitlines()[0]
    assert link.startswith("http://127.0.0.1:5000/join/")
    assert "joins ai-sw as a viewer" in text.stdout
    assert "as a <strong>viewer</strong>" in site.client().page(link.split(":5000", 1)[1])
    refused = cli(
        "member", "invite", "ai-sw", "--role", "lead", "--as", "rita@example.org", ok=False
    )
    assert refused.exit_code == 1
    assert "rita@example.org is a reviewer of ai-sw; this needs a lead" in refused.stderr
    not_admin = cli("user", "reset-link", "rob@example.org", "--as", "lead@example.org", ok=False)
    assert "only an admin may make password reset links" in not_admin.stderr

    assert cli.json("user", "admin", "lead@example.org")["changed"] is True
    assert (
        site.session.scalar(sa.select(User.is_admin).where(User.email == "lead@example.org"))
        is True
    )
    cli("user", "admin", "lead@example.org", "--remove")
    site.session.expire_all()
    assert not accounts.get_user_by_email(site.session, "lead@example.org").is_admin


def test_the_domain_checks_who_may_act(site):
    session = site.session
    rob = site.users["rob@example.org"]
    with pytest.raises(accounts.NotAllowed, match="only an admin may make password reset links"):
        invites.reset_link(session, rob, by=site.users["lead@example.org"])
    with pytest.raises(accounts.NotAllowed, match="only an admin may create accounts"):
        admins.create_account(session, "x@example.org", name=None, is_admin=False, by=rob)
    with pytest.raises(accounts.NotAllowed, match="only an admin may make admins"):
        admins.set_admin(session, rob, True, by=rob)
    with pytest.raises(accounts.NotAllowed, match="only an admin may disable or enable"):
        admins.set_active(session, rob, False, by=None)
    assert session.scalar(sa.select(sa.func.count(Membership.id))) == 4


def test_a_lost_demo_password_comes_back_without_losing_data(cli, env, database_url):
    cli("init")
    sample = cli.json("load-sample")
    demo = sample["user"]
    made = cli.json("user", "reset-link", demo, "--as", demo)
    assert made["link"].startswith("http://127.0.0.1:5000/reset/")
    with make_site(database_url) as site:
        visitor = site.client()
        path = made["link"].removeprefix("http://127.0.0.1:5000")
        assert (
            visitor.post(path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}).status_code
            == 303
        )
        assert site.client().sign_in(demo, sample["password"]).status_code == 401
        signed_in = site.client(None)
        assert signed_in.sign_in(demo, NEW_PASSWORD).status_code == 302
        slug = sample["slug"]
        assert f"{sample['records']}" in signed_in.page(f"/r/{slug}/")
