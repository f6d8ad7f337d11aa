"""`litreview simulate` as a person types it, and the screening order of `review set`."""

from __future__ import annotations

from pathlib import Path

import pytest

from litreview.ingest.decoding import READERS
from litreview.screening import simulation
from tests.test_stopping import LABELLED, load_labelled

DATA = Path(__file__).parent / "data"
needs_tables = pytest.mark.skipif(
    "csv" not in READERS,
    reason="reading CSV files comes with the tables reader (branch `tables`)",
)


@needs_tables
def test_simulate_prints_the_replay_as_json_and_draws_the_plot(cli, tmp_path):
    plot = tmp_path / "recall.png"
    result = cli.json(
        "simulate",
        str(LABELLED),
        "--label-column",
        "label_included",
        "--seed",
        "3",
        "--plot",
        str(plot),
    )
    assert set(result) == {
        "records",
        "relevant",
        "screened_to",
        "wss95",
        "wss100",
        "rrf10",
        "stop",
        "seconds",
    }
    assert set(result["screened_to"]) == {"50", "80", "95", "100"}
    assert set(result["stop"]) == {"method", "screened", "recall"}
    # The same replay as the library's, from the file as the reader reads it.
    texts, labels = load_labelled()
    expected = simulation.replay(texts, labels, seed=3).to_json()
    assert {k: v for k, v in result.items() if k != "seconds"} == {
        k: v for k, v in expected.items() if k != "seconds"
    }
    n = result["records"]
    assert result["wss95"] == pytest.approx((n - result["screened_to"]["95"]) / n - 0.05, abs=1e-4)
    assert result["stop"]["recall"] >= 0.95
    png = plot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


@needs_tables
def test_simulate_does_not_depend_on_the_order_of_the_file(cli, tmp_path):
    lines = LABELLED.read_text(encoding="utf-8").splitlines(keepends=True)
    import csv
    import io

    rows = list(csv.reader(io.StringIO("".join(lines))))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([rows[0], *rows[:0:-1]])
    reversed_file = tmp_path / "reversed.csv"
    reversed_file.write_text(out.getvalue(), encoding="utf-8")
    args = ("--label-column", "label_included", "--seed", "5")
    first = cli.json("simulate", str(LABELLED), *args)
    second = cli.json("simulate", str(reversed_file), *args)
    first.pop("seconds"), second.pop("seconds")
    assert first == second


def test_simulate_without_the_label_column_says_so_in_one_line(cli):
    ris = DATA / "ris" / "rispy_example_full.ris"
    result = cli("simulate", str(ris), "--label-column", "label_included", ok=False)
    assert result.exit_code == 1
    message = result.output.strip()
    assert message.count("\n") == 0
    assert "no column 'label_included' holds the labels" in message and str(ris) in message


def test_simulate_of_a_missing_file_says_so_in_one_line(cli, tmp_path):
    missing = tmp_path / "nothing.csv"
    result = cli("simulate", str(missing), "--label-column", "x", ok=False)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {missing}: no such file"


def test_review_set_chooses_the_screening_order(review_cli):
    assert review_cli.json("review", "set", "ai-sw", "--order", "id")["order"] == "id"
    assert review_cli.json("review", "set", "ai-sw", "--mode", "dual")["order"] == "id"
    result = review_cli("review", "set", "ai-sw", "--order", "random", ok=False)
    assert result.exit_code == 2 and "'random' is not one of 'relevance', 'id'" in result.output
