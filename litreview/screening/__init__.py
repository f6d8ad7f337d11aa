"""Screening: decisions at title/abstract and full text, single or blind dual, conflicts.

The package's public face; each rule has one module:

* :mod:`.outcomes` - a record's outcome at a stage (the one rule) and the table that
  keeps it;
* :mod:`.visibility` - what a person may see of the decisions (the blind rule);
* :mod:`.decisions` - writing decisions, undos and resolutions;
* :mod:`.queue` - what a reviewer screens next; :mod:`.orders` - the order a person
  chose for themselves, kept on the server;
* :mod:`.progress` - the dashboard's numbers; :mod:`.agreement` - Cohen's kappa;
* prioritised screening: :mod:`.ranking` (the model), :mod:`.relevance` (rankings kept
  per review, stage and learner, and ``retrain``), :mod:`.retraining` (the background
  thread), :mod:`.stopping` (when it is safe to stop), :mod:`.prioritised` (what the
  screening page shows), :mod:`.simulation` and :mod:`.recall_plot` (replays of
  labelled reviews). They load numpy, scipy and scikit-learn, so they are imported by
  module, not from here.
"""

from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.agreement import cohen_kappa, kappa_csv
from litreview.screening.decisions import decide, resolve, undo_last
from litreview.screening.outcomes import (
    CONFLICT,
    FULL_TEXT,
    OUTCOMES,
    PASSES,
    PENDING,
    TITLE_ABSTRACT,
    latest_outcomes,
    outcome_at,
    outcomes_at,
    record_ids_with,
)
from litreview.screening.progress import decided_count, stats
from litreview.screening.queue import next_record, previous_record
from litreview.screening.visibility import (
    Conflict,
    conflicts,
    history,
    reviewers_to_filter_by,
    sees_others,
    visible_decisions,
    while_screening,
)

__all__ = [
    "CONFLICT",
    "DECISIONS",
    "FULL_TEXT",
    "OUTCOMES",
    "PASSES",
    "PENDING",
    "STAGES",
    "TITLE_ABSTRACT",
    "Conflict",
    "cohen_kappa",
    "conflicts",
    "decide",
    "decided_count",
    "history",
    "kappa_csv",
    "latest_outcomes",
    "next_record",
    "outcome_at",
    "outcomes_at",
    "previous_record",
    "record_ids_with",
    "resolve",
    "reviewers_to_filter_by",
    "sees_others",
    "stats",
    "undo_last",
    "visible_decisions",
    "while_screening",
]
