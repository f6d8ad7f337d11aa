"""The stopping test on cases worked out by hand, and replays of a labelled review."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import hypergeom

from litreview.errors import Invalid
from litreview.ingest.record_data import EntryError, RecordData
from litreview.screening import ranking, simulation, stopping

LABELLED = Path(__file__).parent / "data" / "screening" / "kitchenham_2010_subset.csv"


def load_labelled(path: Path = LABELLED) -> tuple[list[str], list[int]]:
    """A test-only reader of the labelled CSV (the app's CSV reader lives in ingest)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [ranking.text_of(r["title"], r["abstract"]) for r in rows]
    return texts, [int(r["label_included"]) for r in rows]


def test_ten_found_then_fifty_irrelevant_of_a_hundred():
    # Recall 95% with 10 found means at most 10 of 10.53 relevant: H0 says at least 11,
    # so one or more among the 90 unscreened when the run of 50 began. Drawing 50 of
    # those 90 and missing the one: 40/90.
    seen = [1] * 10 + [0] * 50
    assert stopping.p_value(seen, 100) == pytest.approx(40 / 90)
    result = stopping.recall_test(seen, 100)
    assert (result.stop, result.target, result.alpha) == (False, 0.95, 0.05)
    assert "Callaghan" in result.method


def test_the_test_fires_at_the_first_run_long_enough():
    # After 10 relevant, 85 irrelevant of the 90 left: p = 5/90 > 0.05; one more: 4/90.
    seen = [1] * 10 + [0] * 90
    assert stopping.p_value(seen[:95], 100) == pytest.approx(5 / 90)
    assert stopping.p_value(seen[:96], 100) == pytest.approx(4 / 90)
    assert not stopping.recall_test(seen[:95], 100).stop
    assert stopping.recall_test(seen[:96], 100).stop
    assert stopping.first_stop(seen, 100) == 96
    # A lower target needs less: at 80%, H0 is "at least 13", three among the 90.
    p80 = hypergeom.cdf(0, 90, 3, 60)
    assert stopping.p_value(seen[:70], 100, target=0.8) == pytest.approx(p80)
    assert stopping.first_stop(seen, 100, target=0.8) == 10 + math.ceil(
        next(n for n in range(1, 91) if hypergeom.cdf(0, 90, 3, n) < 0.05)
    )


def test_everything_screened_rejects_and_nothing_screened_does_not():
    assert stopping.p_value([1, 0, 0, 1, 0], 5) == 0.0
    assert stopping.recall_test([1, 0, 0, 1, 0], 5).stop
    assert stopping.p_value([], 50) == 1.0
    with pytest.raises(ValueError, match="target recall"):
        stopping.recall_test([1, 0], 10, target=1.0)
    with pytest.raises(ValueError, match="more than there are"):
        stopping.p_value([0, 0, 0], 2)


def test_the_smallest_p_is_found_among_every_starting_point():
    """Only the longest sample for each count of relevant records is tested; that gives
    the same smallest p as testing every starting point."""

    def every_start(seen, total, target):
        n_seen, found = len(seen), sum(seen)
        p = []
        for n in range(1, n_seen + 1):
            k = sum(seen[n_seen - n :])
            population = total - n_seen + n
            at_least = math.floor(found / target) + 1 - (found - k)
            p.append(0.0 if at_least > population else hypergeom.cdf(k, population, at_least, n))
        return min(p)

    rng = np.random.default_rng(7)
    for _ in range(60):
        total = int(rng.integers(20, 300))
        n = int(rng.integers(1, total + 1))
        seen = (rng.random(n) < np.linspace(0.6, 0.0, n)).astype(int).tolist()
        for target in (0.8, 0.95):
            assert stopping.p_value(seen, total, target) == pytest.approx(
                every_start(seen, total, target), abs=1e-12
            )


def test_irrelevant_in_a_row():
    assert stopping.irrelevant_in_a_row([1, 0, 1, 0, 0, 0]) == 3
    assert stopping.irrelevant_in_a_row([0, 0]) == 2
    assert stopping.irrelevant_in_a_row([0, 1]) == 0


def test_metrics_of_a_known_order():
    # 20 records, 4 relevant, found at positions 1, 2, 5 and 10.
    seen = [0] * 20
    for at in (1, 2, 5, 10):
        seen[at - 1] = 1
    m = simulation.metrics(seen, 4, 20)
    assert m["screened_to"] == {"50": 2, "80": 10, "95": 10, "100": 10}
    assert m["wss95"] == pytest.approx((20 - 10) / 20 - 0.05)
    assert m["wss100"] == pytest.approx(0.5)
    assert m["rrf10"] == pytest.approx(2 / 4)  # the first 2 records (10%) hold two


def test_a_replay_finds_the_relevant_records_early_whatever_the_file_order():
    texts, labels = load_labelled()
    assert (len(texts), sum(labels)) == (250, 15)
    replay = simulation.replay(texts, labels, seed=3)
    assert replay.records == 250 and replay.relevant == 15 and replay.priors == 2
    assert sorted(replay.order) == list(range(250))
    found = [labels[i] for i in replay.order]
    assert replay.screened_to["100"] == max(n + 1 for n, y in enumerate(found) if y)
    # Far better than random order, which finds half after 125 records and 95% after
    # about 238 (WSS@95 near 0), on average ...
    assert replay.wss95 > 0.25 and replay.screened_to["50"] < 80
    # ... and the stopping test fired at or above the target recall.
    assert replay.stop["recall"] >= 0.95 and replay.stop["screened"] >= replay.screened_to["95"]
    assert "Callaghan" in replay.stop["method"]
    # The same records in another order, with the same seed: the same replay.
    back = simulation.replay(texts[::-1], labels[::-1], seed=3)
    same = {k: v for k, v in replay.to_json().items() if k != "seconds"}
    assert {k: v for k, v in back.to_json().items() if k != "seconds"} == same
    assert [249 - i for i in back.order] == replay.order
    # Another seed draws other priors.
    assert simulation.replay(texts, labels, seed=4).order[:2] != replay.order[:2]


def test_a_replay_needs_something_to_find_and_enough_priors():
    texts, labels = load_labelled()
    with pytest.raises(ValueError, match="no relevant records"):
        simulation.replay(texts, [0] * len(texts))
    with pytest.raises(ValueError, match="16 prior relevant records asked for; there are 15"):
        simulation.replay(texts, labels, prior_included=16)


def test_labels_are_read_from_a_tables_column_and_bad_ones_named_with_their_line():
    def item(n, label, **extra):
        return RecordData(
            title=f"T{n}", entry_key=str(n), line=n + 1, extra={"included": label, **extra}
        )

    items = [item(1, "yes"), item(2, "0"), item(3, "Included"), EntryError(9, "x", "broken")]
    data = simulation.labelled_records(items, "included", "f.csv")
    assert data.labels == [1, 0, 1] and data.texts == ["T1 T1", "T2 T2", "T3 T3"]
    assert len(data.skipped) == 1
    with pytest.raises(Invalid, match=r"f\.csv, entry 2 \(line 3\): label 'perhaps'"):
        simulation.labelled_records([item(1, "1"), item(2, "perhaps")], "included", "f.csv")
    with pytest.raises(Invalid, match=r"entry 1 \(line 2\): no label"):
        simulation.labelled_records([item(1, "")], "included", "f.csv")
    with pytest.raises(Invalid, match="no column 'label' holds the labels; its extra columns"):
        simulation.labelled_records([item(1, "1")], "label", "f.csv")
