"""`paperscope db copy`, `db convert-embeddings` and `stats`: the database itself."""

from __future__ import annotations

import json

import click

from paperscope.cli.context import AppContext
from paperscope.cli.output import count_bar


@click.group()
def db() -> None:
    """The database itself: copy it to another one (SQLite to PostgreSQL), store its vectors compactly."""


@db.command("copy")
@click.option("--to", "target", required=True, metavar="PATH_OR_URL",
              help="The database to fill, e.g. postgresql://USER@HOST/NAME; it must be new or empty.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows read and written at a time.")
@click.pass_obj
def db_copy(app: AppContext, target: str, batch_size: int) -> None:
    """Copy every record of the --db database into another database.

    Every table is copied (papers, embeddings, sync state and whatever else the schema holds), in one
    transaction on the target: an interrupted copy leaves the target empty, and a target that already
    holds rows is refused. Stop other paperscope processes writing to the source while it runs; then
    point PAPERSCOPE_DATABASE_URL at the target. The search indexes are rebuilt from the copy on first use.
    """
    from paperscope.store.copy import copy_database

    with count_bar("copying") as bar:
        def progress(table: str, rows: int) -> None:
            if bar is not None:
                bar(rows, None)

        report = copy_database(app.settings.database_url, target, batch_size=batch_size, progress=progress)
    click.echo(report.summary())


@db.command("convert-embeddings")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000),
              help="Vectors rewritten per transaction.")
@click.pass_obj
def db_convert_embeddings(app: AppContext, batch_size: int) -> None:
    """Rewrite stored vectors kept as float32 as float16: half the bytes.

    New vectors are stored as float16 already; this converts those an older paperscope stored, batch by
    batch, while the database stays in use (every reader takes either form). A vector with a value beyond
    float16's range stays float32. SQLite reuses the freed pages for new rows; its VACUUM statement gives
    them back to the file system.
    """
    with app.store() as store:
        total = sum(int(entry["count"]) for entry in store.embedding_models().values())
        read = 0
        with count_bar("converting") as bar:
            def progress(rows: int) -> None:
                nonlocal read
                read += rows
                if bar is not None:
                    bar(read, total)

            converted = store.convert_embeddings(batch_size=batch_size, progress=progress)
    click.echo(f"converted {converted} of {total} stored vectors to float16")


@click.command()
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"papers": N, ...}.')
@click.pass_obj
def stats(app: AppContext, as_json: bool) -> None:
    """Counts of what the database holds: papers, by source, by primary category, dates; the fusion hybrid
    search uses, with what its tuning measured; and the recommendation signal mix the users' libraries lean to."""
    from paperscope.index.tuning import fixed_fusion, load_tuning
    from paperscope.recommend.mix import InstancePrior

    with app.store() as store:
        data = store.stats()
        tuning = load_tuning(store)
        instance = InstancePrior.of(store.accounts.signal_mixes())
    data["search_tuning"] = tuning.to_json() if tuning is not None else None
    data["recommendation_mix"] = instance.summary()
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"papers: {data['papers']}")
    click.echo(f"database: {data['database']} (schema {data['schema_version']})")
    if data["published_from"]:
        click.echo(f"published: {data['published_from']} to {data['published_to']}")
    for source, count in data["by_source"].items():
        click.echo(f"  from {source}: {count}")
    top = list(data["by_primary_category"].items())[:10]
    if top:
        click.echo("top primary categories: " + ", ".join(f"{c} {n}" for c, n in top))
    if tuning is None:
        click.echo(f"search fusion: fixed ({fixed_fusion(app.settings).describe()}); not tuned yet")
    else:
        click.echo(f"search fusion {tuning.summary()}"
                   + ("" if app.settings.search_tuning else " (not used: PAPERSCOPE_SEARCH_TUNING is off)"))
    mix = data["recommendation_mix"]
    if mix["leaning"] is None:
        click.echo("recommendation signals: no library weighed yet (the default mix)")
    else:
        weights = ", ".join(f"{name} {weight:g}" for name, weight in mix["leaning"].items())
        click.echo(f"recommendation signals: {mix['users']} libraries weighed; the instance leans to {weights}")
