"""Accounts and roles: argon2 passwords, sign-in, members of a review, the CLI."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from litreview.accounts import users as accounts
from litreview.cli import people_commands
from litreview.cli.main import cli as litreview_cli
from litreview.errors import Invalid, NotFound
from litreview.library import reviews
from litreview.models import AuditEntry, User

ADMIN = "admin@example.org"


def test_a_user_is_stored_with_an_argon2_hash_and_a_lower_case_email(session):
    user = accounts.create_user(
        session, "  Ann.Lee@Example.ORG ", "correct horse", name="Ann Lee", actor=ADMIN
    )
    session.commit()
    assert user.email == "ann.lee@example.org"
    assert user.name == "Ann Lee"
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert not user.is_admin
    [entry] = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert (entry.actor, entry.target_id) == (ADMIN, user.id)
    assert entry.details == {"email": "ann.lee@example.org", "is_admin": False}
    assert "correct horse" not in str(entry.details)

    assert accounts.authenticate(session, "ANN.LEE@example.org", "correct horse") is user
    assert accounts.authenticate(session, "ann.lee@example.org", "Correct horse") is None
    assert accounts.authenticate(session, "nobody@example.org", "correct horse") is None
    assert accounts.get_user_by_email(session, "Ann.Lee@example.org") is user
    with pytest.raises(NotFound, match="no user with email 'bob@example.org'"):
        accounts.get_user_by_email(session, "Bob@example.org")


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", "long enough", "an email address is required"),
        ("ann", "long enough", "'ann' is not an email address"),
        ("ann@example", "long enough", "'ann@example' is not an email address"),
        ("ann lee@example.org", "long enough", "is not an email address"),
        ("ann@example.org", "seven77", "the password must have at least 8 characters"),
        ("ann@example.org", "", "the password must have at least 8 characters"),
    ],
)
def test_bad_emails_and_short_passwords_are_refused(session, email, password, message):
    with pytest.raises(Invalid, match=message):
        accounts.create_user(session, email, password, actor=ADMIN)
    assert session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_an_email_has_one_account_whatever_its_case(session):
    accounts.create_user(session, "ann@example.org", "long enough", actor=ADMIN)
    with pytest.raises(Invalid, match="^a user with that email already exists$"):
        accounts.create_user(session, "ANN@example.org", "other password", actor=ADMIN)
    # The caller's transaction is still usable.
    accounts.create_user(session, "ben@example.org", "long enough", actor=ADMIN)
    session.commit()
    assert [u.email for u in accounts.list_users(session)] == ["ann@example.org", "ben@example.org"]


def test_unknown_email_still_costs_a_hash_verification(session, monkeypatch):
    calls = []
    real = accounts._hasher

    class Counting:
        def verify(self, hashed, password):
            calls.append(hashed)
            return real.verify(hashed, password)

        def __getattr__(self, name):
            return getattr(real, name)

    accounts.create_user(session, "ann@example.org", "long enough", actor=ADMIN)
    monkeypatch.setattr(accounts, "_hasher", Counting())
    assert accounts.authenticate(session, "nobody@example.org", "long enough") is None
    assert accounts.authenticate(session, "ann@example.org", "wrong password") is None
    assert len(calls) == 2 and all(h.startswith("$argon2id$") for h in calls)


def test_an_old_hash_is_replaced_at_sign_in_and_inactive_users_stay_out(session):
    user = accounts.create_user(session, "ann@example.org", "long enough", actor=ADMIN)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("long enough")
    user.password_hash = weak
    session.commit()
    assert accounts.authenticate(session, "ann@example.org", "long enough") is user
    assert user.password_hash != weak
    assert PasswordHasher().verify(user.password_hash, "long enough")
    user.is_active = False
    assert accounts.authenticate(session, "ann@example.org", "long enough") is None


def test_members_roles_and_the_reviews_a_user_sees(session):
    review = reviews.create_review(session, "ai-sw", "AI in social work", ADMIN)
    other = reviews.create_review(session, "other", "Another review", ADMIN)
    ann = accounts.create_user(session, "ann@example.org", "long enough", actor=ADMIN)
    ben = accounts.create_user(session, "ben@example.org", "long enough", actor=ADMIN)
    admin = accounts.create_user(session, ADMIN, "long enough", is_admin=True, actor=ADMIN)

    accounts.add_member(session, review, ann, "lead", actor=ADMIN)
    accounts.add_member(session, review, ben, "viewer", actor=ADMIN)
    membership = accounts.add_member(session, review, ben, "reviewer", actor="ann@example.org")
    assert membership.role == "reviewer"
    assert [(m.user.email, m.role) for m in accounts.members(session, review)] == [
        ("ann@example.org", "lead"),
        ("ben@example.org", "reviewer"),
    ]
    assert accounts.role_of(session, review, ben) == "reviewer"
    assert accounts.role_of(session, other, ben) is None
    # An admin is a lead of every review without being a member of it.
    assert accounts.role_of(session, review, admin) == "lead"
    assert accounts.require_role(session, other, admin, "lead") == "lead"
    assert accounts.reviews_for(session, admin) == [review, other]  # by title
    assert accounts.roles_for(session, admin) == {review.id: "lead", other.id: "lead"}
    assert accounts.reviews_for(session, ann) == [review]
    assert accounts.roles_for(session, ann) == {review.id: "lead"}
    assert [m.user.email for m in accounts.members(session, other)] == []

    with pytest.raises(Invalid, match="role 'owner': choose one of lead, reviewer, viewer"):
        accounts.add_member(session, review, ben, "owner", actor=ADMIN)
    with pytest.raises(Invalid, match="ann@example.org is the only lead of ai-sw"):
        accounts.add_member(session, review, ann, "reviewer", actor=ADMIN)
    with pytest.raises(Invalid, match="ann@example.org is the only lead of ai-sw"):
        accounts.remove_member(session, review, ann, actor=ADMIN)
    accounts.remove_member(session, review, ben, actor="ann@example.org")
    assert accounts.role_of(session, review, ben) is None
    with pytest.raises(NotFound, match="ben@example.org is not a member of ai-sw"):
        accounts.remove_member(session, review, ben, actor=ADMIN)
    session.commit()

    actions = session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor, AuditEntry.details)
        .where(AuditEntry.action.like("member.%"))
        .order_by(AuditEntry.id)
    ).all()
    assert [
        (a, who, d["email"], d["role"], d["previous"] if "previous" in d else "-")
        for a, who, d in actions
    ] == [
        ("member.add", ADMIN, "ann@example.org", "lead", None),
        ("member.add", ADMIN, "ben@example.org", "viewer", None),
        ("member.role", "ann@example.org", "ben@example.org", "reviewer", "viewer"),
        ("member.remove", "ann@example.org", "ben@example.org", "reviewer", "-"),
    ]


def test_users_and_members_from_the_cli(review_cli, monkeypatch):
    runner = review_cli.runner
    made = runner.invoke(
        litreview_cli,
        [
            "user",
            "create",
            "Lead@Example.org",
            "--admin",
            "--name",
            "Lena",
            "--password-stdin",
            "--json",
        ],
        input="a long password\n",
    )
    assert made.exit_code == 0, made.output
    assert '"email": "lead@example.org"' in made.stdout
    short = runner.invoke(
        litreview_cli, ["user", "create", "ann@example.org", "--password-stdin"], input="short\n"
    )
    assert (short.exit_code, short.stderr.strip()) == (
        1,
        "Error: the password must have at least 8 characters",
    )
    # Not a terminal and no --password-stdin: say how, do not hang on a prompt.
    no_tty = runner.invoke(litreview_cli, ["user", "create", "ann@example.org"], input="")
    assert no_tty.exit_code == 1
    assert "--password-stdin" in no_tty.stderr
    # At a terminal: asked twice, and the two must match.
    monkeypatch.setattr(people_commands, "_interactive", lambda: True)
    typo = runner.invoke(
        litreview_cli, ["user", "create", "ann@example.org"], input="first try\nfirst tyr\n"
    )
    assert typo.exit_code == 1
    assert "Error: The two entered values do not match." in typo.stderr
    prompted = runner.invoke(
        litreview_cli, ["user", "create", "ann@example.org"], input="ann's secret\nann's secret\n"
    )
    assert prompted.exit_code == 0, prompted.output

    assert [u["email"] for u in review_cli.json("user", "list")] == [
        "ann@example.org",
        "lead@example.org",
        "tester@example.org",  # the admin the CLI acts as (conftest)
    ]
    review_cli("member", "add", "ai-sw", "LEAD@example.org", "--role", "lead")
    review_cli("member", "add", "ai-sw", "ann@example.org", "--role", "viewer")
    added = review_cli.json("member", "add", "ai-sw", "ann@example.org", "--role", "reviewer")
    assert added == {"review": "ai-sw", "email": "ann@example.org", "role": "reviewer"}
    assert review_cli.json("member", "list", "ai-sw") == [
        {"email": "lead@example.org", "name": "Lena", "role": "lead"},
        {"email": "ann@example.org", "name": None, "role": "reviewer"},
    ]
    missing = review_cli("member", "add", "ai-sw", "zed@example.org", "--role", "viewer", ok=False)
    assert missing.stderr.strip() == (
        "Error: no user with email 'zed@example.org': create one with `litreview user create EMAIL`"
    )
    review_cli("member", "remove", "ai-sw", "ann@example.org")
    assert [m["email"] for m in review_cli.json("member", "list", "ai-sw")] == ["lead@example.org"]


def test_admins_alone_create_accounts_and_the_first_account_is_one(session):
    with pytest.raises(Invalid, match="the first one must be an admin"):
        accounts.require_account_creator(session, None, is_admin=False)
    accounts.require_account_creator(session, None, is_admin=True)
    admin = accounts.create_user(session, ADMIN, "long enough", is_admin=True, actor=ADMIN)
    ann = accounts.create_user(session, "ann@example.org", "long enough", actor=ADMIN)
    accounts.require_account_creator(session, admin, is_admin=False)
    with pytest.raises(accounts.NotAllowed, match=r"only an admin may create accounts \(no acc"):
        accounts.require_account_creator(session, None, is_admin=True)
    with pytest.raises(accounts.NotAllowed, match="ann@example.org is not an admin"):
        accounts.require_account_creator(session, ann, is_admin=False)
    admin.is_active = False
    with pytest.raises(accounts.NotAllowed):
        accounts.require_admin(admin, "create reviews")
    assert accounts.role_of(session, reviews.create_review(session, "x", "X", ADMIN), admin) is None


def _create_user(runner, *args, input="a long password\n"):
    return runner.invoke(litreview_cli, ["user", "create", *args, "--password-stdin"], input=input)


def test_the_cli_bootstraps_one_admin_who_then_creates_reviews_and_accounts(cli, monkeypatch):
    cli("init")
    runner = cli.runner
    # LITREVIEW_USER is tester@example.org, who has no account.
    refused = cli("review", "create", "ai-sw", "--title", "AI", ok=False)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "Error: only an admin may create reviews, and there are no accounts yet: create the "
        "first with `litreview user create EMAIL --admin`, then act as it with --as EMAIL "
        "or LITREVIEW_USER=EMAIL"
    )
    not_admin = _create_user(runner, "ann@example.org")
    assert not_admin.exit_code == 1
    assert "Error: there are no accounts yet: the first one must be an admin" in not_admin.stderr
    # The first account: anyone at the terminal may make it, as an admin.
    made = runner.invoke(
        litreview_cli,
        ["user", "create", "lead@example.org", "--admin", "--generate-password", "--json"],
    )
    assert made.exit_code == 0, made.output
    first = json.loads(made.stdout)
    assert first["admin"] is True and len(first["password"]) >= 12
    # From now on only an admin creates accounts and reviews.
    again = _create_user(runner, "ann@example.org")
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        "Error: only an admin may create accounts (no account): act as an admin with --as "
        "EMAIL or LITREVIEW_USER=EMAIL (now 'tester@example.org')"
    )
    assert _create_user(runner, "ann@example.org", "--as", "lead@example.org").exit_code == 0
    as_ann = cli("review", "create", "ai-sw", "--title", "AI", "--as", "ann@example.org", ok=False)
    assert "only an admin may create reviews (ann@example.org is not an admin)" in as_ann.stderr
    monkeypatch.setenv("LITREVIEW_USER", "lead@example.org")
    cli("review", "create", "ai-sw", "--title", "AI in social work")
    # The admin acts in the review without being a member of it.
    assert cli.json("member", "list", "ai-sw") == []
    cli("question", "add", "ai-sw", "Q1", "Risks")
    both = runner.invoke(
        litreview_cli,
        ["user", "create", "bo@example.org", "--password-stdin", "--generate-password"],
    )
    assert both.exit_code == 2 and "not both" in both.stderr


def test_load_sample_makes_the_first_admin_then_needs_one(cli, monkeypatch):
    cli("init")
    first = cli.json("load-sample")
    assert first["admin"] is True and first["password"]
    cli("review", "create", "x", "--title", "X", "--as", "demo@litreview.local")
    assert cli.json("load-sample")["created"] is False  # nothing to create: no one needed
