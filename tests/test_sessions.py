"""Sessions end on the server, and sign-in limits hold across app servers.

A cookie saved before signing out, a password change or disabling the account opens
nothing after it: it is replayed by a second browser holding a copy. Forty wrong
passwords sent at once to two app servers (separate processes sharing one database)
reach the password check as many times as the limit allows, counted in the audit log.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from litreview.accounts import users as accounts
from litreview.cli.main import cli as litreview_cli
from litreview.models import AuditEntry, SignInAttempt, User, UserSession, utcnow
from tests.conftest import add_admin
from tests.loopback import Browser, at_once, serve_in_thread, serve_processes
from tests.webapp import make_site

DASHBOARD = "/r/ai-sw/"


@pytest.fixture
def live(env, database_url):
    with make_site(database_url) as site, serve_in_thread(site.app) as base:
        yield site, base


def _signed_out(browser: Browser) -> bool:
    """The dashboard sends this browser to the sign-in page."""
    answer = browser.get(DASHBOARD)
    return answer.status == 302 and answer.location.startswith("/signin")


def _actions(site, action: str) -> list[AuditEntry]:
    site.session.expire_all()
    return list(site.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _cli(env, *args: str, stdin: str | None = None):
    result = CliRunner().invoke(litreview_cli, list(args), input=stdin, catch_exceptions=False)
    return result


def test_a_cookie_saved_before_signing_out_opens_nothing(live):
    site, base = live
    browser = Browser(base)
    assert browser.sign_in("rita@example.org").status == 302
    saved = browser.copy()  # the cookie as it stood, e.g. copied off the machine
    assert saved.get(DASHBOARD).status == 200
    out = browser.post("/signout")
    assert out.status == 302 and out.location == "/signin"
    assert _signed_out(browser) and _signed_out(saved)
    # Nor does it let anyone post: a form sent with it is taken for an anonymous one.
    record = site.add_records(1)[0]
    answer = saved.post(f"/r/ai-sw/records/{record}/tags", {"question": "Q1"})
    assert answer.status == 302 and answer.location.startswith("/signin")
    [entry] = _actions(site, "user.signout")
    assert entry.actor == "rita@example.org" and entry.target_id == site.users[entry.actor].id
    site.session.expire_all()
    assert site.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0


def test_only_a_hash_of_the_session_token_is_kept(live):
    site, base = live
    browser = Browser(base)
    browser.sign_in("rob@example.org")
    [cookie] = [c for c in browser.jar if c.name == "session"]
    data = site.app.session_interface.get_signing_serializer(site.app).loads(cookie.value)
    token = data["_user_id"]
    site.session.expire_all()
    [kept] = site.session.scalars(sa.select(UserSession)).all()
    assert kept.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert kept.user_id == site.users["rob@example.org"].id
    # A session past its end opens nothing, though the browser still holds the cookie.
    kept.expires_at = utcnow() - timedelta(seconds=1)
    site.session.commit()
    assert _signed_out(browser)


def test_a_password_change_ends_every_session_of_the_account(live, env):
    site, base = live
    add_admin(env["LITREVIEW_DATABASE_URL"], "admin@example.org")
    desk, laptop, rob = Browser(base), Browser(base), Browser(base)
    desk.sign_in("rita@example.org")
    laptop.sign_in("rita@example.org")
    rob.sign_in("rob@example.org")
    saved = laptop.copy()
    # Rita changes her own password: every browser of hers is signed out, Rob's is not.
    result = _cli(
        env, "user", "password", "rita@example.org", "--password-stdin",
        "--as", "rita@example.org", stdin="a new long password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "every browser signed in to it is signed out" in result.output
    assert _signed_out(desk) and _signed_out(laptop) and _signed_out(saved)
    assert not _signed_out(rob)
    assert Browser(base).sign_in("rita@example.org", "a new long password").status == 302
    [entry] = _actions(site, "user.password")
    assert entry.details["sessions"] == 2
    # Someone else's password: only an admin.
    refused = _cli(env, "user", "password", "rob@example.org", "--generate-password",
                   "--as", "rita@example.org")  # fmt: skip
    assert refused.exit_code == 1
    assert "only an admin may set another person's password" in refused.output
    assert not _signed_out(rob)
    done = _cli(env, "user", "password", "rob@example.org", "--generate-password",
                "--as", "admin@example.org")  # fmt: skip
    assert done.exit_code == 0 and "shown only this once" in done.output
    assert _signed_out(rob)


def test_disabling_an_account_ends_its_sessions_and_enabling_brings_none_back(live, env):
    site, base = live
    add_admin(env["LITREVIEW_DATABASE_URL"], "admin@example.org")
    browser = Browser(base)
    browser.sign_in("rob@example.org")
    saved = browser.copy()
    refused = _cli(env, "user", "disable", "rob@example.org", "--as", "rita@example.org")
    assert refused.exit_code == 1 and "only an admin may" in refused.output
    assert not _signed_out(browser)
    result = _cli(env, "user", "disable", "rob@example.org", "--as", "admin@example.org")
    assert result.exit_code == 0, result.output
    assert "rob@example.org is disabled" in result.output
    assert _signed_out(browser) and _signed_out(saved)
    assert Browser(base).sign_in("rob@example.org").status == 401
    assert "\tdisabled" in _cli(env, "user", "list").output
    assert (
        _cli(env, "user", "enable", "rob@example.org", "--as", "admin@example.org").exit_code == 0
    )
    assert _signed_out(saved)  # enabling starts no session again
    assert Browser(base).sign_in("rob@example.org").status == 302
    assert [e.details["sessions"] for e in _actions(site, "user.disable")] == [1]
    # The last active admin cannot be disabled: nobody could make accounts any more.
    last = _cli(env, "user", "disable", "admin@example.org", "--as", "admin@example.org")
    assert last.exit_code == 1 and "the only active admin" in last.output


def test_sign_in_limits_hold_across_two_app_servers(env, database_url, tmp_path):
    """40 wrong passwords at once, half to each of two servers (processes of their own)
    on one database: the password is checked as often as the limit, 5, and no more."""
    with make_site(database_url) as site:
        victim = accounts.create_user(
            site.session, "victim@example.org", "the real password", actor="setup"
        )  # argon2 with its real cost: each check takes a while, as in production
        site.session.commit()
        servers = {
            "LITREVIEW_DATABASE_URL": database_url,
            "LITREVIEW_SECRET_KEY": "shared by the app servers of one site",
        }
        with serve_processes(2, servers, tmp_path / "servers") as urls:
            browsers = [Browser(urls[n % 2]) for n in range(40)]
            for browser in browsers:
                browser.refresh_token()
            answers = at_once(
                40,
                lambda n: browsers[n].post(
                    "/signin", {"email": "victim@example.org", "password": f"guess {n}"}
                ),
            )
            statuses = sorted(a.status for a in answers)
            assert statuses == [401] * 5 + [429] * 35, statuses
            assert all(
                "Too many failed sign-ins for victim@example.org" in a.text
                for a in answers
                if a.status == 429
            )
            # The right password, from the same address on either server: refused too.
            for url in urls:
                late = Browser(url)
                assert late.sign_in("victim@example.org", "the real password").status == 429
        failed = _actions(site, "user.signin_failed")
        assert len(failed) == 5  # written after each password check that failed
        assert {(e.target_id, e.details["ip"]) for e in failed} == {(victim.id, "127.0.0.1")}
        counted = site.session.scalars(sa.select(SignInAttempt.outcome)).all()
        assert sorted(counted) == ["failed"] * 5
        assert site.session.scalar(sa.select(User.password_hash).where(User.id == victim.id))
