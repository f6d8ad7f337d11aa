"""When it is safe to stop screening: a statistical test, and a hint that is only a hint.

The test (:func:`recall_test`) is the one of Callaghan and Müller-Hansen (2020),
"Statistical stopping criteria for automated screening in systematic reviews",
*Systematic Reviews* 9:273, https://doi.org/10.1186/s13643-020-01521-4, in its
"ranked quasi-sampling" form: the last ``n`` records screened are treated as if they
had been drawn at random from the records still unscreened when they were reached.
The null hypothesis is "recall is below the target" (the records found so far are
fewer than ``target`` of all relevant ones); if that were true, at least
``K = floor(found / target) + 1 - found_before`` relevant records were in that pool,
and drawing ``n`` of them would have turned up more than the ``k`` actually found
with probability ``1 - p``, where ``p`` is the hypergeometric ``P(X <= k)``. The
test is run for every starting point and the smallest ``p`` is kept; when it falls
below ``alpha``, the null hypothesis is rejected and screening can stop with the
chosen confidence that the target recall was reached.

It is conservative: records screened most-relevant-first are *more* likely to be
relevant than a random draw, so a run of irrelevant ones there is stronger evidence
than the test credits, and it fires later than it has to (on the two labelled reviews
of bench/bench_ranking.py, five seeds each, it fired at a recall of 1.00 every time for
a target of 0.95, after screening 81% of Kitchenham 2010 and 80% of Smid 2020, where
95% recall was reached after 25% and 12%).
That is the price of a signal that holds whatever the model does: it assumes only
that screening order is no worse than random. In an order exactly as good as random it
is not quite at alpha: the test is run again after every record and keeps the smallest
p over the starting points, with no correction for the many looks, and in 400 random
orders each of 300 records with 15 or 5 relevant it said "stop" below the target recall
in 5.8% and 6.5% of them (alpha 0.05; measured 5 Dec 2026). Screened in file order ("in order"),
a file sorted by relevance the wrong way round would break that assumption.

Counting irrelevant records in a row (:func:`irrelevant_in_a_row`) is shown only as a
hint, labelled as such: measured on nine labelled reviews, "50 in a row" stopped at a
recall as low as 0.11 and "100 in a row" was unsafe in half the runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TARGET_RECALL = 0.95
ALPHA = 0.05
METHOD = "Callaghan & Müller-Hansen (2020) random-sampling test"
HINT_METHOD = "irrelevant records in a row (a hint, not a stopping rule)"
HINT_RUN = 100


@dataclass(frozen=True)
class TestResult:
    """The outcome of :func:`recall_test` on a sequence of screened records."""

    method: str
    target: float
    alpha: float
    p: float  # the smallest p-value over the starting points (1.0: no evidence yet)
    stop: bool  # p < alpha: "recall is below the target" is rejected

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "target_recall": self.target,
            "alpha": self.alpha,
            "p": self.p,
            "stop": self.stop,
        }


def _check(target: float, alpha: float) -> None:
    if not 0 < target < 1:
        raise ValueError(f"target recall {target}: choose a number between 0 and 1")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha}: choose a number between 0 and 1")


def p_value(seen: Sequence[int] | np.ndarray, total: int, target: float = TARGET_RECALL) -> float:
    """The smallest p-value of the test over every starting point (see the module).

    ``seen``: the screened records in the order they were screened, 1 relevant, 0 not;
    ``total``: how many records there are to screen in all (screened or not).
    """
    from scipy.stats import hypergeom

    labels = np.asarray(seen, dtype=np.int64)
    n_seen = len(labels)
    if n_seen == 0:
        return 1.0
    if total < n_seen:
        raise ValueError(f"{n_seen} records screened out of {total}: more than there are")
    found = int(labels.sum())
    # The sample is the last n records screened. For a fixed number k of relevant
    # records in it, p only falls as n grows (a longer run with nothing new), so only
    # the longest sample for each k needs testing: the one that stops just short of the
    # next relevant record back, and the whole sequence.
    from_end = labels[::-1]
    relevant_at = np.flatnonzero(from_end)  # positions (0-based, from the end)
    sizes = np.append(relevant_at, n_seen)  # sample sizes: up to each relevant record
    sizes = sizes[sizes > 0]
    k = np.cumsum(from_end)[sizes - 1]  # relevant records in each sample
    population = total - n_seen + sizes  # records unscreened when the sample began
    at_least = math.floor(found / target) + 1 - (found - k)  # relevant in it under H0
    p = np.ones(len(sizes))
    impossible = at_least > population  # H0 cannot hold: that many do not fit
    p[impossible] = 0.0
    ok = ~impossible
    if ok.any():
        p[ok] = hypergeom.cdf(k[ok], population[ok], at_least[ok], sizes[ok])
    return float(p.min())


def recall_test(
    seen: Sequence[int] | np.ndarray,
    total: int,
    *,
    target: float = TARGET_RECALL,
    alpha: float = ALPHA,
) -> TestResult:
    """Whether screening can stop with recall at least ``target`` (confidence 1 - alpha).

    Conservative (see the module docstring): it fires later than it needs to when the
    records were screened most relevant first.
    """
    _check(target, alpha)
    p = p_value(seen, total, target)
    return TestResult(METHOD, target, alpha, p, p < alpha)


def irrelevant_in_a_row(seen: Sequence[int] | np.ndarray) -> int:
    """How many records were screened since the last relevant one (all, if none)."""
    labels = np.asarray(seen, dtype=np.int64)
    relevant = np.flatnonzero(labels)
    return int(len(labels) - 1 - relevant[-1]) if len(relevant) else len(labels)


def first_stop(
    seen: Sequence[int] | np.ndarray,
    total: int,
    *,
    target: float = TARGET_RECALL,
    alpha: float = ALPHA,
    start: int = 1,
) -> int | None:
    """The smallest n >= ``start`` such that the test fires after the first n records of
    ``seen``, or None if it does not fire within them (for replays of labelled reviews).
    """
    _check(target, alpha)
    labels = np.asarray(seen, dtype=np.int64)
    for n in range(max(1, start), len(labels) + 1):
        if p_value(labels[:n], total, target) < alpha:
            return n
    return None
