"""Behind a TLS proxy, the sign-in limit counts each client's own address.

Every request then comes from the proxy's address; with LITREVIEW_TRUSTED_PROXIES=1 the
client's is the one the proxy added last to X-Forwarded-For. Without the setting the
header is ignored: anyone reaching the app directly could write any address in it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from litreview import create_app
from litreview.models import SignInAttempt
from tests.webapp import PASSWORD, make_site

PROXY = "10.0.0.2"
LIMITS = {"LITREVIEW_SIGNIN_MAX_FAILURES": 3, "LITREVIEW_SIGNIN_MAX_PER_IP": 50}


def _sign_in(site, forwarded_for: str, password: str) -> int:
    client = site.client(ip=PROXY)
    # As the browser sends it over HTTPS (Flask-WTF checks the Referer of a secure POST).
    headers = {
        "X-Forwarded-For": forwarded_for,
        "X-Forwarded-Proto": "https",
        "Referer": "https://localhost/signin",
    }
    client.refresh_token()
    answer = client.post(
        "/signin", {"email": "rita@example.org", "password": password}, headers=headers
    )
    return answer.status_code


def _addresses(site) -> set[str]:
    site.session.expire_all()
    return set(site.session.scalars(sa.select(SignInAttempt.ip)))


def test_behind_one_proxy_each_client_is_limited_on_its_own_address(env, database_url):
    config = {"LITREVIEW_TRUSTED_PROXIES": "1", **LIMITS}
    with make_site(database_url, config) as site:
        guesser = "203.0.113.5"
        assert [_sign_in(site, guesser, "wrong") for _ in range(3)] == [401, 401, 401]
        assert _sign_in(site, guesser, PASSWORD) == 429
        # Writing another address in front of the proxy's entry does not get round it.
        assert _sign_in(site, f"198.51.100.99, {guesser}", "wrong") == 429
        # Rita, at her own address behind the same proxy, is not locked out.
        assert _sign_in(site, "198.51.100.7", PASSWORD) == 302
        assert _addresses(site) == {guesser, "198.51.100.7"}


def test_without_trusted_proxies_a_forwarded_address_is_ignored(env, database_url):
    with make_site(database_url, dict(LIMITS)) as site:
        statuses = [_sign_in(site, f"192.0.2.{n}", "wrong") for n in range(4)]
        assert statuses == [401, 401, 401, 429]
        assert _addresses(site) == {PROXY}


def test_the_setting_must_be_a_number(env):
    with pytest.raises(ValueError, match="LITREVIEW_TRUSTED_PROXIES"):
        create_app({"TESTING": True, "LITREVIEW_TRUSTED_PROXIES": "yes"})
