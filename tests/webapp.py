"""Test helpers for the browser app: a review with a team, signed-in test clients.

``Site`` holds the app and a database session; ``site.client(email)`` is a Flask test
client signed in through the real sign-in form, whose ``post`` sends the CSRF token
the pages carry (as a browser would), unless told not to.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from litreview import create_app
from litreview.db import make_engine, make_session_factory
from litreview.library import reviews
from litreview.models import Membership, Record, Review, User

PASSWORD = "correct horse battery"
# One cheap hash for every test user: argon2's cost is tested in test_accounts.
HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
TEAM = {
    "lead@example.org": "lead",
    "rita@example.org": "reviewer",
    "rob@example.org": "reviewer",
    "vera@example.org": "viewer",
    "nina@example.org": None,  # signed in, but not a member of the review
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    """A signed-in (or anonymous) test client that posts forms with their CSRF token."""

    def __init__(self, flask_client: FlaskClient, environ: dict[str, str] | None = None) -> None:
        self.http = flask_client
        self.environ = environ or {}
        self.token: str | None = None

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("environ_base", self.environ)
        return self.http.get(url, **kwargs)

    def refresh_token(self) -> None:
        page = self.get("/signin" if self.token is None else "/").get_data(as_text=True)
        found = _CSRF.search(page) or _CSRF.search(self.get("/signin").get_data(as_text=True))
        self.token = found.group(1) if found else None

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> TestResponse:
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.refresh_token()
            data.setdefault("csrf_token", self.token)
        kwargs.setdefault("environ_base", self.environ)
        return self.http.post(url, data=data, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD) -> TestResponse:
        self.refresh_token()
        response = self.post("/signin", {"email": email, "password": password})
        # The session starts afresh at sign-in, with a new CSRF token.
        self.token = None
        if response.status_code == 302:
            self.token = _CSRF.search(self.get("/").get_data(as_text=True)).group(1)
        return response

    def page(self, url: str, status: int = 200) -> str:
        response = self.get(url)
        assert response.status_code == status, (url, response.status_code, response.location)
        return response.get_data(as_text=True)


class Site:
    """The app, a session on its database, the review ``ai-sw`` and its team."""

    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.session = session
        self.users: dict[str, User] = {}

    @property
    def review(self) -> Review:
        return self.session.scalar(sa.select(Review).where(Review.slug == "ai-sw"))

    def add_user(self, email: str, role: str | None = None, review: Review | None = None) -> User:
        user = self.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=email.split("@")[0].title(), password_hash=HASH)
            self.session.add(user)
            self.session.flush()
        if role is not None:
            self.session.add(
                Membership(review_id=(review or self.review).id, user_id=user.id, role=role)
            )
        self.session.commit()
        self.users[email] = user
        return user

    def client(self, email: str | None = None, ip: str = "127.0.0.1") -> Client:
        client = Client(self.app.test_client(), {"REMOTE_ADDR": ip})
        if email is not None:
            response = client.sign_in(email)
            assert response.status_code == 302, response.get_data(as_text=True)
        return client

    def add_records(self, count: int, review: Review | None = None, **fields: Any) -> list[int]:
        review = review or self.review
        rows = [
            Record(
                review_id=review.id,
                title=fields.get("title", f"Paper {n} on risk"),
                abstract=fields.get("abstract", f"Abstract {n}."),
                year=fields.get("year", 2010 + n % 10),
                authors=[{"family": f"Author{n}", "given": "A."}],
            )
            for n in range(count)
        ]
        self.session.add_all(rows)
        self.session.commit()
        return [r.id for r in rows]

    def wait_for_import(self, client: Client, job_url: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = client.get(job_url + "/status.json").get_json()
            if status["state"] not in ("queued", "running"):
                job_id = job_url.rstrip("/").rsplit("/", 1)[1]
                self.app.extensions["litreview.jobs"].wait(job_id, timeout)
                return status
            assert time.monotonic() < deadline, f"import did not finish: {status}"
            time.sleep(0.05)


@contextmanager
def make_site(database_url: str, config: dict[str, Any] | None = None) -> Iterator[Site]:
    """The app on a migrated database with review ``ai-sw`` and the TEAM as its members."""
    app = create_app({"TESTING": True, **(config or {})})
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            if session.scalar(sa.select(Review.id).where(Review.slug == "ai-sw")) is None:
                reviews.create_review(session, "ai-sw", "AI in social work", "setup")
                session.commit()
            site = Site(app, session)
            for email, role in TEAM.items():
                site.add_user(email, role)
            yield site
    finally:
        app.extensions["litreview.jobs"].wait_all(60)
        app.extensions["litreview.jobs"].close()
        app.extensions["litreview.indexer"].stop(60)
        app.extensions["litreview.retrainer"].stop(60)
        engine.dispose()
        app.extensions["litreview.engine"].dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ris(*entries: dict[str, Any]) -> str:
    """A RIS file of journal articles: each entry a dict of title, authors, year, abstract..."""
    out = []
    for n, e in enumerate(entries, start=1):
        out.append("TY  - JOUR")
        out.append(f"ID  - {e.get('id', f'r{n}')}")
        out.append(f"TI  - {e['title']}")
        for author in e.get("authors", [f"Author{n}, A."]):
            out.append(f"AU  - {author}")
        if e.get("year"):
            out.append(f"PY  - {e['year']}")
        if e.get("abstract"):
            out.append(f"AB  - {e['abstract']}")
        if e.get("doi"):
            out.append(f"DO  - {e['doi']}")
        for kw in e.get("keywords", []):
            out.append(f"KW  - {kw}")
        out.append("ER  - ")
        out.append("")
    return "\n".join(out)
