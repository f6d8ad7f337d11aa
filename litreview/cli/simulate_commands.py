"""`litreview simulate`: replay a labelled review in the order the ranking model chooses."""

from __future__ import annotations

from pathlib import Path

import click

from litreview.cli.common import domain_errors, emit, json_option


@click.command("simulate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--label-column",
    required=True,
    help="The column holding each record's label: 1/0, yes/no, true/false, included/excluded.",
)
@click.option("--prior-included", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--prior-excluded", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int, help="Shuffle and priors.")
@click.option(
    "--target-recall",
    default=0.95,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="The recall the stopping test is asked about (alpha 0.05).",
)
@click.option("--plot", type=click.Path(path_type=Path), help="Write the recall curve as a PNG.")
@json_option
@domain_errors
def simulate(
    file: Path,
    label_column: str,
    prior_included: int,
    prior_excluded: int,
    seed: int,
    target_recall: float,
    plot: Path | None,
    as_json: bool,
) -> None:
    """Replay labelled FILE most relevant first: WSS@95, RRF@10, where stopping fired.

    FILE is any format litreview imports; a CSV names the label column. The replay
    starts from random priors and retrains as the app does. Prints records screened to
    find 50/80/95/100% of the relevant ones, WSS@95 and
    WSS@100 (work saved over screening everything), RRF@10 (relevant found in the first
    10%), and where the stopping test first fired. The priors count as screened. The
    records are shuffled with --seed first, so the file's order does not matter.
    """
    from litreview.ingest.decoding import read_file
    from litreview.screening import simulation

    _format, items = read_file(file)
    data = simulation.labelled_records(items, label_column, str(file))
    for error in data.skipped[:3]:
        click.echo(f"{file}: skipped entry at line {error.line}: {error.message}", err=True)
    try:
        replay = simulation.replay(
            data.texts,
            data.labels,
            prior_included=prior_included,
            prior_excluded=prior_excluded,
            seed=seed,
            target_recall=target_recall,
        )
    except ValueError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if plot is not None:
        from litreview.screening.recall_plot import plot as draw

        title = f"{file.name}: {replay.records} records, {replay.relevant} relevant, seed {seed}"
        draw(replay, data.labels, plot, title)
    result = replay.to_json()

    def human() -> None:
        r = result
        click.echo(f"{file}: {r['records']} records, {r['relevant']} relevant (seed {seed})")
        for level, screened in r["screened_to"].items():
            click.echo(f"  {level}% of the relevant found after {screened} records")
        click.echo(f"  WSS@95 {r['wss95']:.3f}  WSS@100 {r['wss100']:.3f}  RRF@10 {r['rrf10']:.3f}")
        stop = r["stop"]
        click.echo(
            f"  stop: {stop['method']}: fired after {stop['screened']} records, "
            f"recall {stop['recall']:.3f} (a conservative test)"
        )
        click.echo(f"  {r['seconds']:.1f} s")

    emit(as_json, result, human)
