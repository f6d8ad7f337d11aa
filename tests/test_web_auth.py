"""Signing in and out, limits on guessing, session cookies, security headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from litreview.accounts import signin_limits
from litreview.accounts import users as accounts
from litreview.accounts.signin_limits import Admission, SignInLimits
from litreview.models import SignInAttempt, User
from litreview.web.security import CONTENT_SECURITY_POLICY, secure_cookie_mode
from tests.webapp import PASSWORD, make_site

TEMPLATES = Path(__file__).parents[1] / "litreview" / "web" / "templates"


@pytest.fixture
def site(env, database_url):
    with make_site(database_url) as site:
        yield site


def test_sign_in_with_the_right_password_and_out_again(site):
    client = site.client()
    page = client.get("/r/ai-sw/records")
    assert page.status_code == 302
    assert page.location == "/signin?next=/r/ai-sw/records"
    signin = client.page(page.location)
    assert 'name="next" value="/r/ai-sw/records"' in signin
    client.refresh_token()
    done = client.post(
        "/signin",
        {"email": "LEAD@example.org ", "password": PASSWORD, "next": "/r/ai-sw/records"},
    )
    assert done.status_code == 302 and done.location == "/r/ai-sw/records"
    assert "AI in social work" in client.page("/")
    client.refresh_token()
    out = client.post("/signout")
    assert out.status_code == 302 and out.location == "/signin"
    assert "You are signed out." in client.page("/signin")
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_so_and_keeps_the_email(site):
    client = site.client()
    client.refresh_token()
    response = client.post("/signin", {"email": "rita@example.org", "password": "wrong one"})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "That email and password do not match an account." in html
    assert 'value="rita@example.org"' in html
    assert "wrong one" not in html
    missing = client.post("/signin", {"email": "rita@example.org", "password": ""})
    assert missing.status_code == 400
    assert "Enter your email address and your password." in missing.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_sign_in_never_redirects_off_the_site(site, target):
    client = site.client()
    client.refresh_token()
    response = client.post(
        "/signin", {"email": "lead@example.org", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.location == "/"


def test_failed_sign_ins_are_limited_per_email_and_address(site):
    guesser = site.client(ip="203.0.113.9")
    guesser.refresh_token()
    for _ in range(5):
        response = guesser.post("/signin", {"email": "rita@example.org", "password": "guess"})
        assert response.status_code == 401
    # Now even the right password is refused from that address, without checking it.
    blocked = guesser.post("/signin", {"email": "rita@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins for rita@example.org" in blocked.get_data(as_text=True)
    assert "Try again in 15 minutes." in blocked.get_data(as_text=True)
    # Rita at her own desk, and other accounts from that address, are not locked out.
    assert site.client(ip="198.51.100.7").sign_in("rita@example.org").status_code == 302
    assert site.client(ip="203.0.113.9").sign_in("rob@example.org").status_code == 302


def test_the_limits_count_a_sliding_window_and_forgive_on_success(session):
    limits = SignInLimits(max_failures=3, max_per_ip=5, window=60)
    ann = User(email="ann@x.org")
    session.add(ann)
    session.commit()
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def attempt(email: str, ip: str, when: float, user=None) -> Admission:
        now = t0 + timedelta(seconds=when)
        admission = signin_limits.admit(session, limits, email, ip, now=now)
        if admission.attempt_id is not None:
            signin_limits.settle(session, admission.attempt_id, email, ip, user)
        session.commit()
        return admission

    for n in range(3):
        assert attempt("ann@x.org", "1.2.3.4", n).attempt_id is not None
    # The fourth is refused until the oldest failure leaves the window.
    assert attempt("ann@x.org", "1.2.3.4", 3) == Admission(None, 57)
    assert attempt("ann@x.org", "1.2.3.4", 30) == Admission(None, 30)
    assert attempt("ann@x.org", "1.2.3.4", 61).attempt_id is not None
    # A success forgives the pair's failures: three more may fail before a refusal.
    assert attempt("ann@x.org", "1.2.3.4", 62, user=ann).attempt_id is not None
    for n in range(3):
        assert attempt("ann@x.org", "1.2.3.4", 63 + n).attempt_id is not None
    assert attempt("ann@x.org", "1.2.3.4", 66).retry_after == 57
    # Five failures from one address across emails block the address, forgiven or not.
    for n, email in enumerate(["u0@x.org", "u1@x.org", "ann@x.org"]):
        assert attempt(email, "5.6.7.8", 100 + n).attempt_id is not None
    assert attempt("ann@x.org", "5.6.7.8", 103, user=ann).attempt_id is not None
    assert attempt("u4@x.org", "5.6.7.8", 104).attempt_id is not None
    assert attempt("u5@x.org", "5.6.7.8", 105).attempt_id is not None
    assert attempt("someone@x.org", "5.6.7.8", 106) == Admission(None, 54)
    assert attempt("someone@x.org", "9.9.9.9", 106).attempt_id is not None
    # Refused attempts were never written, and attempts out of the window are forgotten.
    outcomes = session.scalars(sa.select(SignInAttempt.outcome).order_by(SignInAttempt.id))
    assert list(outcomes) == ["failed", "ok"] + ["failed"] * 6 + ["ok"] + ["failed"] * 3
    attempt("ann@x.org", "1.2.3.4", 1000)
    assert session.scalar(sa.select(sa.func.count(SignInAttempt.id))) == 1


def test_changing_a_password_signs_out_other_browsers(site):
    client = site.client("rita@example.org")
    assert client.get("/").status_code == 200
    user = accounts.get_user_by_email(site.session, "rita@example.org")
    accounts.set_password(site.session, user, "a brand new password", actor="admin")
    site.session.commit()
    assert client.get("/").status_code == 302


def test_a_deactivated_account_is_signed_out(site):
    client = site.client("rob@example.org")
    user = accounts.get_user_by_email(site.session, "rob@example.org")
    user.is_active = False
    site.session.commit()
    assert client.get("/").status_code == 302


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


@pytest.mark.parametrize(
    ("mode", "host", "forwarded", "secure"),
    [
        ("auto", "127.0.0.1:5000", None, False),
        ("auto", "localhost", None, False),
        ("auto", "[::1]:8000", None, False),
        ("auto", "review.example.org", None, True),
        ("auto", "127.0.0.1:8000", "https", True),
        ("on", "127.0.0.1:5000", None, True),
        ("off", "review.example.org", None, False),
    ],
)
def test_session_cookies_are_secure_unless_a_local_browser_uses_plain_http(
    env, database_url, monkeypatch, mode, host, forwarded, secure
):
    monkeypatch.setenv("LITREVIEW_SECURE_COOKIES", mode)
    with make_site(database_url, {"TESTING": False}) as site:
        headers = {"Host": host}
        if forwarded:
            headers["X-Forwarded-Proto"] = forwarded
        response = site.app.test_client().get("/signin", headers=headers)
        cookie = _session_cookie(response)
        assert ("; Secure" in cookie) is secure, cookie
        assert "; HttpOnly" in cookie and "SameSite=Lax" in cookie
        page = response.get_data(as_text=True)
        assert ("only over HTTPS" in page) is secure


def test_tests_and_debug_never_set_secure_cookies(site):
    response = site.app.test_client().get("/signin", headers={"Host": "review.example.org"})
    assert "; Secure" not in _session_cookie(response)


def test_secure_cookie_setting_values():
    assert secure_cookie_mode("1") == secure_cookie_mode("true") == secure_cookie_mode(True) == "on"
    assert (
        secure_cookie_mode("0") == secure_cookie_mode("off") == secure_cookie_mode(False) == "off"
    )
    assert secure_cookie_mode(None) == secure_cookie_mode("AUTO") == "auto"
    with pytest.raises(ValueError, match="use 1, 0 or auto"):
        secure_cookie_mode("sometimes")


def test_pages_carry_security_headers(site):
    client = site.client("lead@example.org")
    response = client.get("/r/ai-sw/")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_and_mark_nothing_safe():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", ""), path.name
        assert "Markup(" not in text, path.name
        for tag in re.findall(r"<script[^>]*>", text):
            assert 'src="' in tag, f"{path.name}: inline script {tag}"
        assert not re.search(r"\son[a-z]+=", text), f"{path.name}: inline event handler"
        assert " style=" not in text, f"{path.name}: inline style"
