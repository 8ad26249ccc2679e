"""The paperscope command line. DESIGN.md fixes its public forms; options may be added freely."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from paperscope import __version__
from paperscope.config import Settings
from paperscope.errors import ConfigError, PaperscopeError
from paperscope.ingest.base import Problem
from paperscope.ingest.detect import FORMATS
from paperscope.store import Store, open_store

# Problems printed to the terminal before the rest are only counted (all go to --problems FILE).
SHOWN_PROBLEMS = 20
# Inputs smaller than this finish too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 1 << 20


@dataclass
class AppContext:
    settings: Settings

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = open_store(self.settings.database_url)
        try:
            yield store
        finally:
            store.close()


class PaperscopeGroup(click.Group):
    """Turns paperscope's own errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PaperscopeError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=PaperscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="PATH_OR_URL",
              help="Database: a SQLite file path or a URL (postgresql://...). "
                   "Default: $PAPERSCOPE_DATABASE_URL, else paperscope.db in the user data directory.")
@click.version_option(__version__, prog_name="paperscope")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """paperscope: a self-hosted research-paper radar.

    Ingest papers from arXiv, Hugging Face daily papers, JSON Lines, BibTeX and pasted listings,
    then search them, map their topics and follow what is trending.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        raise click.ClickException(str(ConfigError(f"Invalid setting in the environment: {exc}"))) from exc
    if db:
        settings.database_url = db
    ctx.obj = AppContext(settings)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Read every file as this format instead of detecting it from the content.")
@click.option("--strict", is_flag=True, help="Exit with status 1 if any record was rejected.")
@click.option("--limit", type=click.IntRange(min=1),
              help="At most this many entries from a network source (arxiv:...).")
@click.option("--problems", "problems_file", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write every rejected record and warning to this file as JSON Lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary, not each problem.")
@click.pass_obj
def ingest(app: AppContext, sources: tuple[str, ...], fmt: str | None, strict: bool, limit: int | None,
           problems_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Ingest papers from files or network sources.

    SOURCES are files (arXiv API Atom XML, Hugging Face daily papers JSON, JSON Lines plain or
    gzip, BibTeX, a plain-text listing; the format is detected from the content) or network
    sources: arxiv:cs.LG (a category), arxiv:"contrastive clustering" (a search), arxiv:id:2503.11731,
    hf:daily (today's Hugging Face papers) or hf:daily:YYYY-MM-DD.

    Ingesting is incremental and idempotent: the same input twice changes nothing, and a paper
    seen in several sources becomes one record.
    """
    from paperscope.ingest.pipeline import Ingester

    shown = 0

    def show(problem: Problem) -> None:
        nonlocal shown
        shown += 1
        if not quiet and shown <= SHOWN_PROBLEMS:
            click.echo(str(problem), file=sys.stderr)  # sys.stderr: rich keeps it above the progress bar

    with app.store() as store, _progress_bar(sources) as progress:
        total = Ingester(store, app.settings, on_problem=show).ingest(
            *sources, fmt=fmt, limit=limit, progress=progress)
    if shown > SHOWN_PROBLEMS and not quiet:
        click.echo(f"... and {shown - SHOWN_PROBLEMS} more problems"
                   + ("" if problems_file else " (write them all with --problems FILE)"), err=True)
    if problems_file:
        with problems_file.open("w", encoding="utf-8") as out:
            for p in total.problems:
                out.write(json.dumps({"origin": p.origin, "where": p.where, "message": p.message,
                                      "rejected": p.rejected}) + "\n")
    if as_json:
        click.echo(json.dumps(total.as_dict()))
    else:
        click.echo(total.summary())
    if total.failed_sources:
        raise click.ClickException(f"{len(total.failed_sources)} of {len(sources)} sources could not be "
                                   "read; see the messages above.")
    if strict and total.rejected:
        raise click.ClickException(f"{total.rejected} records were rejected (--strict).")


@contextmanager
def _progress_bar(sources: tuple[str, ...]) -> Iterator[Any]:
    """A progress bar on stderr over all input files, or None where it would not help."""
    size = sum(Path(s).stat().st_size for s in sources if Path(s).is_file())
    if not sys.stderr.isatty() or size < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]ingesting", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), transient=True, console=_stderr_console()) as bar:
        task = bar.add_task("ingest", total=size)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"papers": N, ...}.')
@click.pass_obj
def stats(app: AppContext, as_json: bool) -> None:
    """Counts of what the database holds: papers, by source, by primary category, dates."""
    with app.store() as store:
        data = store.stats()
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
