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


def _engine(app: AppContext, store: Store, model: str | None = None) -> Any:
    from paperscope.index.search import SearchEngine

    settings = app.settings.model_copy(update={"embedding_model": model}) if model else app.settings
    return SearchEngine(store, settings)


@main.command()
@click.option("--rebuild", is_flag=True, help="Rebuild both indexes from the stored papers and vectors.")
@click.option("--reembed", is_flag=True, help="Forget this model's vectors and embed every paper again.")
@click.option("--model", metavar="SPEC", help="Embedding model (default: $PAPERSCOPE_EMBEDDING_MODEL or minilm).")
@click.option("--cluster", metavar="local|ADDRESS",
              help="Embed on a Dask cluster: 'local' starts one on this machine, or a scheduler address.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 256),
              help="Worker processes of a --cluster local.")
@click.pass_obj
def index(app: AppContext, rebuild: bool, reembed: bool, model: str | None, cluster: str | None,
          workers: int) -> None:
    """Embed new and changed papers, then update the keyword and vector indexes.

    Only papers added or changed since the last run are embedded, so running it after every ingest
    is cheap. Searches also fold in what is already embedded on their own, but only this command
    runs the embedding model over papers.
    """
    with app.store() as store:
        engine = _engine(app, store, model)
        with _count_bar("embedding") as progress:
            report = engine.update(rebuild=rebuild, reembed=reembed, progress=progress, cluster=cluster,
                                   workers=workers)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"embedded {report.embedded} papers with {engine.embedder.name}; keyword index: "
               f"{report.keyword_updated} papers updated; vector index: {report.vectors_added} vectors added")


@contextmanager
def _count_bar(label: str) -> Iterator[Any]:
    """A progress bar with an ETA on stderr for a job counted in items; None when stderr is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(f"[progress.description]{label}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=_stderr_console()) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _filters(date_from: str | None, date_to: str | None, category: str | None, author: str | None) -> Any:
    from paperscope.ingest.fields import parse_date
    from paperscope.store import PaperFilter

    try:
        return PaperFilter(published_from=parse_date(date_from), published_to=parse_date(date_to),
                           category=category, author=author)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None


@main.command()
@click.argument("query", required=False)
@click.option("--queries", "queries_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Run every query of a JSON Lines file ({"_id", "text"} per line); prints one JSON line each.')
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="Results per query.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0), help="Skip this many.")
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid",
              show_default=True, help="Keyword (BM25), semantic (embeddings) or both fused.")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Only papers published on or after this date.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Only papers published on or before this date.")
@click.option("--category", metavar="CAT", help="Only papers in this arXiv category, e.g. cs.LG.")
@click.option("--author", metavar="NAME", help="Only papers with this author (family or full name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def search(app: AppContext, query: str | None, queries_file: Path | None, limit: int, offset: int, mode: str,
           date_from: str | None, date_to: str | None, category: str | None, author: str | None,
           as_json: bool) -> None:
    """Search the stored papers: keyword, semantic or hybrid (the default).

    Quote a phrase ("novel class discovery") and end a word with * for a prefix (cluster*).
    """
    if (query is None) == (queries_file is None):
        raise click.UsageError("Give either a QUERY or --queries FILE.")
    filters = _filters(date_from, date_to, category, author)
    with app.store() as store:
        engine = _engine(app, store)
        if queries_file is not None:
            _search_batch(engine, queries_file, limit=limit, mode=mode, filters=filters)
            return
        assert query is not None
        hits = engine.search(query, mode=mode, limit=limit, offset=offset, filters=filters)
        results = engine.papers(hits)
    if as_json:
        click.echo(json.dumps({"query": query, "mode": mode, "results": [
            {"id": paper.id, "score": round(hit.score, 6), "title": paper.title, "authors": paper.authors,
             "published": paper.published.isoformat() if paper.published else None,
             "keyword_rank": hit.keyword_rank, "semantic_rank": hit.semantic_rank}
            for hit, paper in results]}))
        return
    if not results:
        click.echo("no results")
    for rank, (_hit, paper) in enumerate(results, start=offset + 1):
        click.echo(_paper_line(rank, paper))


def _search_batch(engine: Any, path: Path, *, limit: int, mode: str, filters: Any) -> None:
    from paperscope.errors import InputError

    with path.open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                query_id, text = record["_id"], record["text"]
                hits = engine.search(str(text), mode=mode, limit=limit, filters=filters)
            except (ValueError, KeyError, TypeError, InputError) as exc:
                reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                click.echo(f"{path}:line {lineno}: skipped: {reason}", err=True)
                continue
            click.echo(json.dumps({"query_id": query_id, "results": [
                {"id": hit.id, "score": round(hit.score, 6)} for hit in hits]}))


def _paper_line(rank: int, paper: Any) -> str:
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    date = f" ({paper.published.isoformat()})" if paper.published else ""
    byline = f"\n     {authors}{date}" if authors or date else ""
    return f"{rank:>3}. [{paper.id}] {paper.title}{byline}"


@main.command()
@click.argument("paper_id")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many papers.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def similar(app: AppContext, paper_id: str, limit: int, as_json: bool) -> None:
    """Papers most similar to a stored paper, by its embedding."""
    with app.store() as store:
        engine = _engine(app, store)
        results = engine.papers(engine.similar(paper_id, limit=limit))
    if as_json:
        click.echo(json.dumps({"paper_id": paper_id, "results": [
            {"id": paper.id, "score": round(hit.score, 6), "title": paper.title} for hit, paper in results]}))
        return
    for rank, (_hit, paper) in enumerate(results, start=1):
        click.echo(_paper_line(rank, paper))


def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--jobs/--no-jobs", "jobs", default=None,
              help="Run the background ingest/embed/index jobs (default: $PAPERSCOPE_BACKGROUND_JOBS, on).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="info", show_default=True, help="How much the server logs.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@click.pass_obj
def serve(app: AppContext, host: str, port: int, jobs: bool | None, log_level: str, access_log: bool) -> None:
    """Run the web app and JSON API (one process; background jobs in a thread of it).

    Open http://HOST:PORT/ in a browser. On an empty database the server starts fetching the sources
    of $PAPERSCOPE_INGEST_SOURCES in the background (arXiv cs.LG, cs.CV, cs.CL and Hugging Face daily
    papers by default), then again every day at $PAPERSCOPE_INGEST_AT. API docs: /docs.
    """
    from paperscope.errors import require_extra

    require_extra("fastapi", "web", "paperscope serve")
    uvicorn = require_extra("uvicorn", "web", "paperscope serve")
    from paperscope.web import create_app

    settings = app.settings
    if not _is_loopback(host) and settings.has_placeholder_secret():
        click.echo("warning: listening beyond this machine with a placeholder PAPERSCOPE_SECRET_KEY; sessions "
                   "last until the server stops. Set PAPERSCOPE_SECRET_KEY (and PAPERSCOPE_ENVIRONMENT="
                   "production) for a real deployment.", err=True)
    web_app = create_app(settings, background_jobs=jobs)
    shown = "localhost" if host in {"127.0.0.1", "::1"} else host
    click.echo(f"paperscope: serving {settings.database_url} on http://{shown}:{port}/ (API docs at /docs)",
               err=True)
    uvicorn.run(web_app, host=host, port=port, log_level=log_level, access_log=access_log,
                proxy_headers=False, server_header=False)
