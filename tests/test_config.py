"""Settings and the secret key; the audit log cannot be rewritten."""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa

from litreview.config import load_settings, secret_key
from litreview.models import AuditEntry


def test_defaults_put_everything_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.data_dir == tmp_path / "instance"
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'litreview.sqlite3'}"


def test_secret_key_is_generated_once_kept_private_and_never_a_constant(tmp_path):
    settings = load_settings({"LITREVIEW_DATA_DIR": str(tmp_path / "a")})
    key = secret_key(settings)
    assert len(key) == 64
    assert secret_key(settings) == key
    path = tmp_path / "a" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = load_settings({"LITREVIEW_DATA_DIR": str(tmp_path / "b")})
    assert secret_key(other) != key
    given = load_settings({"LITREVIEW_DATA_DIR": str(tmp_path / "c"), "LITREVIEW_SECRET_KEY": "s"})
    assert secret_key(given) == "s"
    assert not (tmp_path / "c" / "secret_key").exists()


def test_audit_entries_cannot_be_changed_or_deleted(review_cli, session):
    entry = session.scalars(sa.select(AuditEntry)).first()
    assert entry.action == "review.create" and entry.actor == "tester@example.org"
    entry.action = "something else"
    with pytest.raises(ValueError, match="cannot be changed"):
        session.flush()
    session.rollback()
    session.delete(session.scalars(sa.select(AuditEntry)).first())
    with pytest.raises(ValueError, match="cannot be changed or deleted"):
        session.flush()


def test_attachments_live_in_the_data_folder_or_the_shared_store(tmp_path):
    own = load_settings({"LITREVIEW_DATA_DIR": str(tmp_path / "a")})
    assert own.attachments_dir == tmp_path / "a" / "files"
    assert own.attachment_file("files/ab/abc.pdf") == tmp_path / "a" / "files" / "ab" / "abc.pdf"
    shared = load_settings(
        {
            "LITREVIEW_DATA_DIR": str(tmp_path / "b"),
            "LITREVIEW_ATTACHMENTS_DIR": str(tmp_path / "shared"),
        }
    )
    # A stored path names the store, not the machine: the same row finds the shared file.
    assert shared.attachment_file("files/ab/abc.pdf") == tmp_path / "shared" / "ab" / "abc.pdf"
