"""Agreement between reviewers: Cohen's kappa per stage and pair, and its CSV.

The cells come from the kept outcomes (``pair_a``/``pair_b``: who decided what on
records two reviewers decided), counted by :mod:`litreview.screening.progress`; records
that more than two decided are paired here from their decisions.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from litreview.models import Decision, Review, StageOutcome, User
from litreview.models.screening import DECISIONS, STAGES
from litreview.screening.outcomes import unscreened
from litreview.screening.sql import current


def cohen_kappa(table: list[list[int]]) -> tuple[float | None, float | None, float | None]:
    """(observed agreement, expected agreement, kappa) of a square table of counts.

    Rows are one rater's categories, columns the other's. Kappa is None when it is
    undefined: no items, or both raters used a single category throughout (expected
    agreement 1).
    """
    n = sum(sum(row) for row in table)
    if n == 0:
        return None, None, None
    k = len(table)
    observed = sum(table[i][i] for i in range(k)) / n
    rows = [sum(table[i]) / n for i in range(k)]
    cols = [sum(table[i][j] for i in range(k)) / n for j in range(k)]
    expected = sum(r * c for r, c in zip(rows, cols, strict=True))
    if expected >= 1:
        return observed, expected, None
    return observed, expected, (observed - expected) / (1 - expected)


def crowded_pairs(session: Session, review: Review, cells: Counter) -> None:
    """Add to ``cells`` every pair of reviewers on records that more than two decided.

    Rare (a third reviewer who decided instead of resolving), so a self-join over just
    those records; the two-reviewer records were counted from their grouped row.
    """
    a, b = aliased(Decision), aliased(Decision)
    many = sa.select(StageOutcome.record_id).where(
        StageOutcome.review_id == review.id, StageOutcome.votes > 2
    )
    crowded = [
        sa.and_(a.stage == stage, a.record_id.in_(many.where(StageOutcome.stage == stage)))
        for stage in STAGES
    ]
    code = {d: n for n, d in enumerate(DECISIONS)}
    query = (
        sa.select(a.stage, a.user_id, b.user_id, a.decision, b.decision, sa.func.count())
        .join(
            b,
            sa.and_(
                b.record_id == a.record_id,
                b.stage == a.stage,
                current(b),
                b.user_id > a.user_id,
            ),
        )
        .where(
            a.review_id == review.id,
            current(a),
            sa.or_(*crowded),
            a.record_id.not_in(unscreened(review)),
        )
        .group_by(a.stage, a.user_id, b.user_id, a.decision, b.decision)
    )
    for stage, a_id, b_id, a_dec, b_dec, count in session.execute(query):
        cells[stage, a_id, b_id, code[a_dec], code[b_dec]] += count


def agreement(session: Session, cells: Counter) -> dict[str, list[dict[str, Any]]]:
    """Cohen's kappa per stage and pair of reviewers, with the 3x3 table behind it."""
    ids = {user for (_s, a, b, _x, _y) in cells for user in (a, b)}
    emails = dict(session.execute(sa.select(User.id, User.email).where(User.id.in_(ids))).all())
    tables: dict[tuple[str, int, int], list[list[int]]] = {}
    for (stage, a, b, x, y), count in cells.items():
        table = tables.setdefault((stage, a, b), [[0] * len(DECISIONS) for _ in DECISIONS])
        table[x][y] += count
    result: dict[str, list[dict[str, Any]]] = {stage: [] for stage in STAGES}
    for (stage, a, b), table in sorted(tables.items()):
        observed, expected, kappa = cohen_kappa(table)
        result[stage].append(
            {
                "reviewers": [emails.get(a), emails.get(b)],
                "labels": list(DECISIONS),
                "table": table,
                "records": sum(map(sum, table)),
                "agreed": sum(table[i][i] for i in range(len(DECISIONS))),
                "observed": _round(observed),
                "expected": _round(expected),
                "kappa": _round(kappa),
            }
        )
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with =, +, - or @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def kappa_csv(stats_: dict[str, Any]) -> str:
    """The agreement part of ``stats`` as CSV: one row per stage and pair of reviewers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cells = [f"a_{a}_b_{b}" for a in DECISIONS for b in DECISIONS]
    writer.writerow(
        [
            "stage",
            "reviewer_a",
            "reviewer_b",
            "records",
            "agreed",
            "observed_agreement",
            "expected_agreement",
            "kappa",
            *cells,
        ]
    )
    for stage in STAGES:
        for pair in stats_["agreement"].get(stage, []):
            writer.writerow(
                [
                    stage,
                    _cell(pair["reviewers"][0]),
                    _cell(pair["reviewers"][1]),
                    pair["records"],
                    pair["agreed"],
                    "" if pair["observed"] is None else pair["observed"],
                    "" if pair["expected"] is None else pair["expected"],
                    "" if pair["kappa"] is None else pair["kappa"],
                    *(count for row in pair["table"] for count in row),
                ]
            )
    return out.getvalue()
