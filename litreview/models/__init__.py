"""The tables, by feature; the database is the one source of truth."""

from .accounts import Membership, User
from .core import (
    JSON,
    AuditEntry,
    ImportBatch,
    KeepApart,
    Merge,
    Record,
    RecordSource,
    Review,
    ReviewQuestion,
    Timestamp,
    utcnow,
)
from .evidence import Annotation, Attachment, AttachmentPage, RecordNote, RecordTag, SearchOutbox
from .export import CitationCache
from .screening import STAGES, Decision, Resolution
from .zotero import ZoteroLink

__all__ = [
    "JSON",
    "STAGES",
    "Annotation",
    "Attachment",
    "AttachmentPage",
    "AuditEntry",
    "CitationCache",
    "Decision",
    "ImportBatch",
    "KeepApart",
    "Membership",
    "Merge",
    "Record",
    "RecordNote",
    "RecordSource",
    "RecordTag",
    "Resolution",
    "Review",
    "ReviewQuestion",
    "SearchOutbox",
    "Timestamp",
    "User",
    "ZoteroLink",
    "utcnow",
]
