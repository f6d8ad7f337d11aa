"""The tables, by feature; the database is the one source of truth."""

from litreview.models.account_tokens import AccountToken
from litreview.models.accounts import Membership, SignInAttempt, User, UserSession
from litreview.models.core import (
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
from litreview.models.evidence import (
    Annotation,
    Attachment,
    AttachmentPage,
    RecordNote,
    RecordTag,
    SearchOutbox,
)
from litreview.models.export import CitationCache
from litreview.models.jobs import JOB_STATES, Job
from litreview.models.screening import (
    STAGES,
    Decision,
    RankedRecord,
    Ranking,
    Resolution,
    ScreeningClaim,
    ScreeningOrderChoice,
    ScreeningSkip,
    StageOutcome,
)
from litreview.models.zotero import ZoteroLink

__all__ = [
    "JOB_STATES",
    "JSON",
    "STAGES",
    "AccountToken",
    "Annotation",
    "Attachment",
    "AttachmentPage",
    "AuditEntry",
    "CitationCache",
    "Decision",
    "ImportBatch",
    "Job",
    "KeepApart",
    "Membership",
    "Merge",
    "Record",
    "RecordNote",
    "RecordSource",
    "RankedRecord",
    "Ranking",
    "RecordTag",
    "Resolution",
    "Review",
    "ReviewQuestion",
    "ScreeningClaim",
    "ScreeningOrderChoice",
    "ScreeningSkip",
    "SearchOutbox",
    "SignInAttempt",
    "StageOutcome",
    "Timestamp",
    "User",
    "UserSession",
    "ZoteroLink",
    "utcnow",
]
