"""Settings from LITREVIEW_* environment variables, with embedded defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SEARCH_BACKENDS = ("tantivy", "postgres", "whoosh")
JOB_RUNNERS = ("inprocess", "queue")


@dataclass(frozen=True)
class Settings:
    """Where litreview keeps its data, and how it reaches its database."""

    data_dir: Path
    database_url: str
    secret_key: str | None
    search: str = "tantivy"  # the search backend: tantivy, postgres or whoosh
    # Who runs background jobs: "inprocess" (threads of the app server, the default) or
    # "queue" (PostgreSQL only: a `litreview worker` takes them; see litreview.jobs).
    jobs: str = "inprocess"
    # The attachment store, when it is not the data folder's ``files/``: on a team server
    # one folder every app server and worker shares (LITREVIEW_ATTACHMENTS_DIR).
    shared_files_dir: Path | None = None

    @property
    def search_outbox(self) -> bool:
        """Whether changes reach the search backend through the outbox: yes for an index
        beside the database (tantivy, whoosh); PostgreSQL's search reads the rows
        themselves, in the transaction that writes them."""
        return self.search != "postgres"

    @property
    def attachments_dir(self) -> Path:
        """Where attachments are kept: LITREVIEW_ATTACHMENTS_DIR, else ``<data dir>/files``."""
        return self.shared_files_dir or self.data_dir / "files"

    def attachment_file(self, stored: str) -> Path:
        """The file of an attachment's stored path. Stored paths name the store, not a
        machine (``files/ab/<sha256>.pdf``), so every app server finds the same file in
        its attachment store, wherever that is mounted, and backups carry them as they are.
        """
        head, _, rest = stored.partition("/")
        if head == "files" and rest:
            return self.attachments_dir / rest
        return self.data_dir / stored

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings; nothing is created on disk here."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("LITREVIEW_DATA_DIR") or "instance").resolve()
    url = env.get("LITREVIEW_DATABASE_URL") or f"sqlite:///{data_dir / 'litreview.sqlite3'}"
    # tantivy is the embedded default; on PostgreSQL its own full-text search, which
    # every app server shares, is the natural choice.
    default = "postgres" if url.startswith("postgresql") else "tantivy"
    search = (env.get("LITREVIEW_SEARCH") or default).strip().lower()
    if search not in SEARCH_BACKENDS:
        raise ValueError(f"LITREVIEW_SEARCH={search!r}: one of {', '.join(SEARCH_BACKENDS)}")
    if search == "postgres" and not url.startswith("postgresql"):
        raise ValueError(
            "LITREVIEW_SEARCH=postgres needs a PostgreSQL database (LITREVIEW_DATABASE_URL)"
        )
    jobs = (env.get("LITREVIEW_JOBS") or "inprocess").strip().lower()
    if jobs not in JOB_RUNNERS:
        raise ValueError(f"LITREVIEW_JOBS={jobs!r}: one of {', '.join(JOB_RUNNERS)}")
    if jobs == "queue" and not url.startswith("postgresql"):
        raise ValueError(
            "LITREVIEW_JOBS=queue needs a PostgreSQL database (LITREVIEW_DATABASE_URL): "
            "the queue is kept there"
        )
    files = env.get("LITREVIEW_ATTACHMENTS_DIR")
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=env.get("LITREVIEW_SECRET_KEY") or None,
        search=search,
        jobs=jobs,
        shared_files_dir=Path(files).resolve() if files else None,
    )


def ensure_data_dir(settings: Settings) -> None:
    """Make the data folder (and its subfolders) if missing."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)


def secret_key(settings: Settings) -> str:
    """The given secret key, or the one generated on first run and kept in the data folder."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    ensure_data_dir(settings)
    key = secrets.token_hex(32)
    # Created owner-only so the key never sits readable by other users.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key
