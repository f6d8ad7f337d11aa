"""Replaying a labelled review: how soon prioritised screening finds the relevant records.

``litreview simulate`` (and bench/bench_ranking.py) call :func:`replay`: the records
are screened in the order the model of :mod:`.ranking` chooses, starting from a few
"prior" records picked at random (at least one relevant and one not), and retrained as
the app retrains (:func:`.ranking.retrain_due`: after every decision at first, in
growing batches later), so a replay measures what a reviewer would get.

File order does not matter: the records are first put in an order fixed by their
content (a hash of the text, in lower case with its spacing tidied, and the label) and
then shuffled with the seed, so the same file in any order, with the same seed, gives
the same replay; ties in the model's scores fall to that shuffled order, never to the
file's.

The figures (:class:`Replay`), every count including the priors (they are the first
records a reviewer screens):

* ``screened_to[q]``: records screened when q% of the relevant ones were found;
* WSS@95 = (N - screened_to[95]) / N - 0.05, WSS@100 = (N - screened_to[100]) / N:
  the share of the work saved against screening everything, at 95% and 100% recall;
* RRF@10: the share of the relevant records found after screening 10% of all;
* ``stop``: where the stopping test of :mod:`.stopping` first fired, and the recall
  there.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from litreview.errors import Invalid
from litreview.ingest.record_data import EntryError, Item, RecordData
from litreview.screening import ranking, stopping

LEVELS = (50, 80, 95, 100)
# A label cell, as the labelled datasets write it (ASReview's 1/0 and the words people
# type). The tables reader of litreview.ingest brings the one home of this rule for
# imports (litreview.ingest.labels); a replay needs only relevant or not.
_RELEVANT = {"1", "1.0", "yes", "y", "true", "include", "included", "relevant"}
_IRRELEVANT = {"0", "0.0", "no", "n", "false", "exclude", "excluded", "irrelevant"}


@dataclass(frozen=True)
class Labelled:
    """The records of a labelled file, as a replay reads them."""

    texts: list[str]
    labels: list[int]
    skipped: list[EntryError]  # entries the reader could not read


def labelled_records(items: Sequence[Item], column: str, file_name: str) -> Labelled:
    """Title + abstract and the label (1 relevant, 0 not) of each record read from a file,
    the label from the column ``column`` of a table (``RecordData.extra``).

    Raises Invalid, naming the file, the entry and its line, for a record without a
    label or with one that is not 1/0, yes/no, true/false or included/excluded.
    """
    records = [item for item in items if isinstance(item, RecordData)]
    skipped = [item for item in items if isinstance(item, EntryError)]
    if not records:
        raise Invalid(f"{file_name}: no records could be read")
    if not any(column in r.extra for r in records):
        found = sorted({name for r in records for name in r.extra})
        has = f"; its extra columns: {', '.join(found)}" if found else ""
        raise Invalid(f"{file_name}: no column {column!r} holds the labels{has}")
    texts, labels = [], []
    for r in records:
        cell = (r.extra.get(column) or "").strip()
        word = cell.casefold()
        if word in _RELEVANT or word in _IRRELEVANT:
            labels.append(int(word in _RELEVANT))
            texts.append(ranking.text_of(r.title, r.abstract))
            continue
        where = f"{file_name}, entry {r.entry_key or '?'} (line {r.line})"
        if not cell:
            raise Invalid(f"{where}: no label in column {column!r}; a replay needs every label")
        raise Invalid(
            f"{where}: label {cell[:40]!r} in column {column!r} is not "
            "1/0, yes/no, true/false or included/excluded"
        )
    return Labelled(texts, labels, skipped)


@dataclass(frozen=True)
class Replay:
    """The result of :func:`replay`; ``order`` lists indices into the input, as screened."""

    records: int
    relevant: int
    order: list[int]
    priors: int
    screened_to: dict[str, int]
    wss95: float
    wss100: float
    rrf10: float
    stop: dict
    seconds: float

    def to_json(self) -> dict:
        """The figures as ``litreview simulate --json`` prints them."""
        return {
            "records": self.records,
            "relevant": self.relevant,
            "screened_to": dict(self.screened_to),
            "wss95": round(self.wss95, 4),
            "wss100": round(self.wss100, 4),
            "rrf10": round(self.rrf10, 4),
            "stop": dict(self.stop),
            "seconds": round(self.seconds, 3),
        }

    def recall_curve(self, labels: Sequence[int]) -> list[float]:
        """Recall after each record screened (labels indexed as the input)."""
        found = np.cumsum([labels[i] for i in self.order])
        return (found / max(1, self.relevant)).tolist()


def canonical_order(texts: Sequence[str], labels: Sequence[int], seed: int) -> np.ndarray:
    """Indices of the records in an order that depends on their content and the seed,
    never on the order they came in."""
    # Case and spacing do not change the features, so they do not change the order
    # either: readers that tidy white space differently give the same replay.
    keys = [
        (hashlib.sha1(" ".join(t.casefold().split()).encode("utf-8")).hexdigest(), int(y))
        for t, y in zip(texts, labels, strict=True)
    ]
    by_content = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    return by_content[np.random.default_rng(seed).permutation(len(keys))]


def metrics(seen: Sequence[int], relevant: int, records: int) -> dict:
    """screened_to, WSS@95, WSS@100 and RRF@10 of a screening order (labels as screened)."""
    found = np.cumsum(np.asarray(seen, dtype=np.int64))
    screened_to = {}
    for level in LEVELS:
        need = math.ceil(level / 100 * relevant - 1e-9)
        screened_to[str(level)] = int(np.searchsorted(found, need) + 1) if need else 0
    tenth = math.ceil(0.10 * records)
    return {
        "screened_to": screened_to,
        "wss95": (records - screened_to["95"]) / records - 0.05,
        "wss100": (records - screened_to["100"]) / records,
        "rrf10": float(found[min(tenth, len(found)) - 1]) / relevant if tenth else 0.0,
    }


def replay(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    prior_included: int = 1,
    prior_excluded: int = 1,
    seed: int = 0,
    target_recall: float = stopping.TARGET_RECALL,
    alpha: float = stopping.ALPHA,
    every_decision: bool = False,
    batch: float = ranking.BATCH,
    priors: Sequence[int] | None = None,
    model: ranking.Model = ranking.DEFAULT,
) -> Replay:
    """Screen the labelled records (1 relevant, 0 not) in the model's order; see the module.

    ``every_decision`` retrains after every record instead of in growing batches,
    ``batch`` sets their growth (:func:`.ranking.retrain_due`);
    ``priors`` names the prior records (indices) instead of drawing them; ``model`` is
    the app's unless another is being measured.
    Raises ValueError when the labels cannot be replayed (no relevant record, fewer than
    the priors asked for).
    """
    started = time.perf_counter()
    n = len(texts)
    y_in = np.asarray(labels, dtype=np.int64)
    if len(y_in) != n:
        raise ValueError("one label per record is needed")
    relevant = int(y_in.sum())
    if relevant == 0:
        raise ValueError("no relevant records: there is nothing to find")
    if relevant == n:
        raise ValueError("every record is relevant: there is nothing to rank")
    perm = canonical_order(texts, y_in, seed)
    y = y_in[perm]
    position = np.empty(n, dtype=np.int64)
    position[perm] = np.arange(n)
    if priors is None:
        priors_at = _draw_priors(y, prior_included, prior_excluded, seed)
    else:
        priors_at = [int(position[i]) for i in priors]
        if not ranking.can_train(y[priors_at].tolist()):
            raise ValueError("the priors must hold a relevant and an irrelevant record")
    features = model.features([texts[i] for i in perm])

    screened: list[int] = list(priors_at)
    unscreened = np.ones(n, dtype=bool)
    unscreened[screened] = False
    queue: list[int] = []
    trained_at = -1
    found = int(y[screened].sum())
    while unscreened.any() and found < relevant:
        if (
            not queue
            or trained_at < 0
            or every_decision
            or ranking.retrain_due(len(screened) - trained_at, len(screened), batch)
        ):
            queue = _ranked(model, features, y, screened, unscreened, seed)
            trained_at = len(screened)
        nxt = queue.pop(0)
        while not unscreened[nxt]:
            nxt = queue.pop(0)
        screened.append(nxt)
        unscreened[nxt] = False
        found += int(y[nxt])
    # Every relevant record is found: the rest, in any order, are irrelevant.
    rest = np.flatnonzero(unscreened)
    order = screened + rest.tolist()
    seen = y[order]
    fired = stopping.first_stop(seen, n, target=target_recall, alpha=alpha, start=len(priors_at))
    stop = {
        "method": f"{stopping.METHOD}, target recall {target_recall}, alpha {alpha}",
        "screened": fired,
        "recall": round(float(seen[:fired].sum()) / relevant, 4) if fired else None,
    }
    figures = metrics(seen, relevant, n)
    return Replay(
        records=n,
        relevant=relevant,
        order=perm[order].tolist(),
        priors=len(priors_at),
        stop=stop,
        seconds=time.perf_counter() - started,
        **figures,
    )


def draw_priors(
    texts: Sequence[str], labels: Sequence[int], included: int, excluded: int, seed: int
) -> list[int]:
    """The prior records :func:`replay` draws with this seed (indices into the input)."""
    y = np.asarray(labels, dtype=np.int64)
    perm = canonical_order(texts, y, seed)
    return [int(perm[i]) for i in _draw_priors(y[perm], included, excluded, seed)]


def _draw_priors(y: np.ndarray, included: int, excluded: int, seed: int) -> list[int]:
    if included < 1 or excluded < 1:
        raise ValueError("at least one prior relevant and one prior irrelevant record are needed")
    rng = np.random.default_rng([seed, 1])
    rel, irr = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if included > len(rel):
        raise ValueError(f"{included} prior relevant records asked for; there are {len(rel)}")
    if excluded > len(irr):
        raise ValueError(f"{excluded} prior irrelevant records asked for; there are {len(irr)}")
    picked = [*rng.choice(rel, included, replace=False), *rng.choice(irr, excluded, replace=False)]
    return [int(i) for i in picked]


def _ranked(
    model: ranking.Model, features, y, screened: list[int], unscreened: np.ndarray, seed: int
) -> list[int]:
    """The unscreened rows, most likely relevant first (in shuffled order while the
    screened ones do not yet hold both kinds)."""
    candidates = np.flatnonzero(unscreened)
    labelled = np.array(screened, dtype=np.int64)
    if not ranking.can_train(y[labelled].tolist()):
        return candidates.tolist()
    scores = model.scores(features, labelled, y[labelled], candidates, seed=seed)
    return candidates[ranking.order_by_score(scores, candidates)].tolist()
