"""The paperscope command line. DESIGN.md fixes its public forms; options may be added freely."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
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
from paperscope.store import Store, open_configured_store

# Problems printed to the terminal before the rest are only counted (all go to --problems FILE).
SHOWN_PROBLEMS = 20
# Inputs smaller than this finish too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 1 << 20
LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


@dataclass
class AppContext:
    settings: Settings

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = open_configured_store(self.settings)
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
    from paperscope.indexing import PLACE_IN_MAP, index_papers

    with app.store() as store:
        engine = _engine(app, store, model)
        with _count_bar("embedding") as progress:
            report = index_papers(engine, rebuild=rebuild, reembed=reembed, topic_map=PLACE_IN_MAP,
                                  progress=progress, cluster=cluster, workers=workers)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"embedded {report.embedded} papers with {engine.embedder.name}; keyword index: "
               f"{report.keyword_updated} papers updated; vector index: {report.vectors_added} vectors added"
               + (f"; topic map: {report.placed} papers placed" if report.placed else ""))


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
@click.option("--author", metavar="NAME", help="Only papers with this author (a family, given or full name; any case).")
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
    from paperscope.text import plain_text

    return f"{rank:>3}. [{paper.id}] {plain_text(paper.title)}{byline}"


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


# Users, libraries, recommendations and digests ---------------------------------------------------


def _require_digest_extra() -> None:
    from paperscope.errors import require_extra

    for module in ("sklearn", "scipy", "jinja2", "itsdangerous"):
        require_extra(module, "digest", "Recommendations and digests")


@main.group()
def users() -> None:
    """Add and list users (operators; people sign up in the web app)."""


@users.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read a password from standard input (first line), so "
              "the user can sign in to the web app. Without it the user only gets digests.")
@click.option("--name", "display_name", help="Display name.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone for digest times, "
              "e.g. Europe/Paris.")
@click.pass_obj
def users_add(app: AppContext, email: str, password_stdin: bool, display_name: str | None, timezone: str) -> None:
    """Add a user with this e-mail address."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from paperscope.auth import hash_password

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{timezone!r} is not a known time zone; use a name like Europe/Paris.",
                                 param_hint="--timezone") from None
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        password_hash = hash_password(password)
    with app.store() as store:
        user = store.accounts.create_user(email, password_hash=password_hash, display_name=display_name,
                                          timezone=timezone)
    click.echo(f"added user {user.email} (id {user.id})" + ("" if user.can_sign_in else "; no password: "
                                                            "digests only"))


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def users_list(app: AppContext, as_json: bool) -> None:
    """Every user, with their subscription."""
    with app.store() as store:
        rows: list[dict[str, Any]] = []
        for user in store.accounts.list_users():
            sub = store.digests.get_subscription(user.id)
            rows.append({"id": user.id, "email": user.email, "timezone": user.timezone,
                         "can_sign_in": user.can_sign_in,
                         "subscription": None if sub is None else {
                             "kind": sub.kind, "every": sub.frequency, "hour": sub.hour, "active": sub.active}})
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        plan = row["subscription"]
        what = ("no digest" if plan is None else
                f"{plan['kind']} {plan['every']} at {plan['hour']:02d}:00" + ("" if plan["active"] else
                                                                              " (unsubscribed)"))
        click.echo(f"{row['id']:>4}  {row['email']}  {row['timezone']}  {what}")


@main.group()
def library() -> None:
    """Save papers to a user's library, or mark them "not interested"."""


def _set_library(app: AppContext, email: str, paper_ids: tuple[str, ...], state: str) -> None:
    from paperscope.ids import parse_arxiv_id

    ids = [parsed[0] if (parsed := parse_arxiv_id(p)) else p for p in paper_ids]
    with app.store() as store:
        user = store.accounts.require_user(email)
        changed = store.accounts.set_library_state(user.id, ids, "saved" if state == "saved" else "hidden")
    verb = "saved" if state == "saved" else "hidden"
    click.echo(f"{verb} {changed} of {len(ids)} papers for {user.email}")


@library.command("add")
@click.argument("email")
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_obj
def library_add(app: AppContext, email: str, paper_ids: tuple[str, ...]) -> None:
    """Save papers to the user's library (the positives of their recommendations)."""
    _set_library(app, email, paper_ids, "saved")


@library.command("hide")
@click.argument("email")
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_obj
def library_hide(app: AppContext, email: str, paper_ids: tuple[str, ...]) -> None:
    """Mark papers "not interested" for the user (the negatives of their recommendations)."""
    _set_library(app, email, paper_ids, "hidden")


@library.command("list")
@click.argument("email")
@click.option("--hidden", is_flag=True, help="List the hidden papers instead of the saved ones.")
@click.pass_obj
def library_list(app: AppContext, email: str, hidden: bool) -> None:
    """The user's saved (or hidden) papers, newest first."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        ids = store.accounts.library_ids(user.id, "hidden" if hidden else "saved")
        papers = store.get_papers(ids)
    for rank, paper_id in enumerate(ids, start=1):
        if paper_id in papers:
            click.echo(_paper_line(rank, papers[paper_id]))


@main.command()
@click.argument("email")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many papers.")
@click.option("--since", metavar="YYYY-MM-DD", help="Rank the papers stored since this date (default: since the "
              "user's last digest, or every paper before the first one).")
@click.option("--json", "as_json", is_flag=True, help='Print JSON: [{"id", "score", "why", ...}, ...].')
@click.pass_obj
def recommend(app: AppContext, email: str, limit: int, since: str | None, as_json: bool) -> None:
    """Papers ranked for a user, each with the reason; never one from their library or hidden papers."""
    _require_digest_extra()
    import datetime as dt

    from paperscope.ingest.fields import parse_date
    from paperscope.recommend import Recommender

    try:
        since_date = parse_date(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    with app.store() as store:
        user = store.accounts.require_user(email)
        recommender = Recommender(store, app.settings)
        if not recommender.corpus.ids:
            raise click.ClickException("No paper is embedded yet, so there is nothing to rank: run paperscope index.")
        start = dt.datetime.combine(since_date, dt.time(), tzinfo=dt.UTC) if since_date else None
        candidates = recommender.period_candidates(user.id, start)
        unembedded = sum(1 for c in candidates if c not in recommender.corpus.row)
        results = recommender.recommend(user.id, candidates=candidates, limit=limit)
    if unembedded:
        click.echo(f"note: {unembedded} papers of the period are not embedded yet; run paperscope index",
                   err=True)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results]))
        return
    if not results:
        click.echo("no new papers to recommend")
    for rank, result in enumerate(results, start=1):
        click.echo(_paper_line(rank, result.paper))
        click.echo(f"     why: {result.why.text()}")


@main.command()
@click.argument("email")
@click.option("--every", "frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True,
              help="How often the digest comes.")
@click.option("--query", "queries", multiple=True, metavar="TEXT",
              help="Follow a search: its words seed the recommendations (repeatable; a cold start needs no library).")
@click.option("--author", "authors", multiple=True, metavar="NAME", help="Follow an author (repeatable).")
@click.option("--topic", "topics", multiple=True, metavar="ID", help="Follow a topic of the topic map: its most "
              "central papers seed the recommendations (repeatable; a cold start needs no library).")
@click.option("--trending", is_flag=True, help="Add the trending papers (the same list for everyone).")
@click.option("--kind", type=click.Choice(["personal", "trending", "both"]),
              help="What the digest holds (default: personal, or both with --trending).")
@click.option("--hour", default=7, show_default=True, type=click.IntRange(0, 23),
              help="Local hour of the day (the user's time zone) the digest is due.")
@click.option("--weekday", default="monday", show_default=True,
              type=click.Choice(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]),
              help="Day of a weekly digest.")
@click.option("--papers", "max_papers", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Papers per section of the digest.")
@click.pass_obj
def subscribe(app: AppContext, email: str, frequency: str, queries: tuple[str, ...], authors: tuple[str, ...],
              topics: tuple[str, ...], trending: bool, kind: str | None, hour: int, weekday: str,
              max_papers: int) -> None:
    """Subscribe a user to e-mail digests (again, after an unsubscribe), and add what they follow."""
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    chosen = kind or ("both" if trending else "personal")
    with app.store() as store:
        user = store.accounts.require_user(email)
        for topic in topics:
            if not topic.isdigit() or store.topics.get_topic(int(topic)) is None:
                raise click.BadParameter(f"there is no topic {topic!r}: `paperscope topics` lists the topic ids",
                                         param_hint="--topic")
        for what, values in (("query", queries), ("author", authors), ("topic", topics)):
            for value in values:
                store.digests.follow(user.id, what, value)  # type: ignore[arg-type]
        sub = store.digests.subscribe(user.id, kind=chosen, frequency=frequency,  # type: ignore[arg-type]
                                      hour=hour, weekday=days.index(weekday), max_papers=max_papers)
        follows = store.digests.follows_of(user.id)
    when = f"at {sub.hour:02d}:00 {user.timezone}" + (f" on {weekday.title()}s" if frequency == "weekly" else "")
    click.echo(f"{user.email}: {sub.kind} digest, {sub.frequency} {when}"
               + (f"; follows: {', '.join(f'{f.kind} {f.value!r}' for f in follows)}" if follows else ""))


@main.command()
@click.argument("email")
@click.pass_obj
def unsubscribe(app: AppContext, email: str) -> None:
    """Stop a user's digests (what the unsubscribe link in every digest does)."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        was_active = store.digests.unsubscribe(user.id, source="cli")
    click.echo(f"{user.email}: unsubscribed" if was_active else f"{user.email}: had no active subscription")


@main.group()
def digest() -> None:
    """Compose and send the e-mail digests, or preview one."""


@digest.command("send")
@click.option("--user", "email", metavar="EMAIL", help="Only this user's digest.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; store and send nothing.")
@click.option("--no-index", is_flag=True, help="Do not embed newly ingested papers first.")
@click.pass_obj
def digest_send(app: AppContext, email: str | None, dry_run: bool, no_index: bool) -> None:
    """Compose the digests that are due and deliver every pending message over SMTP.

    Safe to run as often as you like (cron, a timer): a digest is composed once per scheduled slot, each
    paper goes to a user at most once, and the outbox delivers each message exactly once, also after a
    crash. Exits with status 1 when a message could not be delivered (it is retried on the next run).
    """
    _require_digest_extra()
    from paperscope.digest import send_digests

    with app.store() as store:
        report = send_digests(store, app.settings, email=email, dry_run=dry_run, update_index=not no_index)
    for composed in report.composed:
        prefix = "would send" if dry_run else "queued"
        click.echo(f"{prefix}: {composed.recipient}: {composed.subject}")
        if dry_run:
            for paper in composed.personal + composed.trending:
                click.echo(f"  [{paper.id}] {paper.title}\n     why: {paper.reason}")
    for address in report.nothing_new:
        click.echo(f"nothing new for {address}")
    delivery = report.delivery
    if not dry_run:
        click.echo(f"sent {len(delivery.sent)}, to retry later {len(delivery.retry_later)}, "
                   f"failed {len(delivery.failed)}")
    for error in delivery.errors:
        click.echo(f"error: {error}", err=True)
    if delivery.stopped:
        click.echo(f"stopped early: {delivery.stopped}; the other messages stay queued for the next run", err=True)
    if delivery.retry_later or delivery.failed:
        raise click.exceptions.Exit(1)


@digest.command("preview")
@click.argument("email")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="HTML file to write (default: digest-preview-<user id>.html here).")
@click.option("--text", is_flag=True, help="Print the plain-text part as well.")
@click.pass_obj
def digest_preview(app: AppContext, email: str, output: Path | None, text: bool) -> None:
    """Write the HTML of the digest the user would get now to a file (nothing is stored or sent)."""
    _require_digest_extra()
    from paperscope.digest import preview

    with app.store() as store:
        composed = preview(store, app.settings, email)
    if composed is None or composed.message is None:
        raise click.ClickException(f"Nothing new to send to {email} now: no paper stored in the period is "
                                   "recommended or trending for them.")
    html = composed.message.get_body(("html",))
    plain = composed.message.get_body(("plain",))
    assert html is not None and plain is not None
    path = output or Path(f"digest-preview-{composed.user_id}.html")
    path.write_text(html.get_content(), encoding="utf-8")
    if text:
        click.echo(plain.get_content())
    click.echo(f"wrote {path} ({composed.subject})")

def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes. Above 1 the background jobs run in one separate worker process "
                   "(as paperscope worker), which alone writes the search indexes.")
@click.option("--jobs/--no-jobs", "jobs", default=None,
              help="Run the background ingest/embed/index/digest jobs (default: $PAPERSCOPE_BACKGROUND_JOBS, on).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
              help="How much the server logs.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@click.pass_obj
def serve(app: AppContext, host: str, port: int, workers: int, jobs: bool | None, log_level: str,
          access_log: bool) -> None:
    """Run the web app and JSON API (one process, background jobs in a thread of it; or --workers N).

    Open http://HOST:PORT/ in a browser. On an empty database the server starts fetching the sources
    of $PAPERSCOPE_INGEST_SOURCES in the background (arXiv cs.LG, cs.CV, cs.CL and Hugging Face daily
    papers by default), then again every day at $PAPERSCOPE_INGEST_AT; it embeds and indexes papers
    others add, and sends the digests that are due. API docs: /docs.
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
    shown = "localhost" if host in {"127.0.0.1", "::1"} else host
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": access_log,
                               "proxy_headers": False, "server_header": False}
    if workers == 1:
        web_app = create_app(settings, background_jobs=jobs)
        click.echo(f"paperscope: serving {settings.database_url} on http://{shown}:{port}/ (API docs at /docs)",
                   err=True)
        uvicorn.run(web_app, **options)
        return
    run_jobs = settings.background_jobs if jobs is None else jobs
    with app.store():  # opening upgrades the schema once, before the web processes and the worker open it
        pass
    _share_settings_with_child_processes(settings)
    worker_process = subprocess.Popen([sys.executable, "-m", "paperscope", "worker", "--log-level", log_level]
                                      ) if run_jobs else None
    click.echo(f"paperscope: serving {settings.database_url} on http://{shown}:{port}/ with {workers} web "
               f"processes{' and a worker' if run_jobs else ''} (API docs at /docs)", err=True)
    factory = "web_process_app" if run_jobs else "web_process_app_without_jobs"
    try:
        uvicorn.run(f"paperscope.web.app:{factory}", factory=True, workers=workers, **options)
    finally:
        if worker_process is not None:
            _stop_process(worker_process)


def _share_settings_with_child_processes(settings: Settings) -> None:
    """Web processes and the worker read their settings from the environment: put there what the command
    line chose (--db), and one signing key for all of them when the configured one is a placeholder."""
    os.environ["PAPERSCOPE_DATABASE_URL"] = settings.database_url
    os.environ["PAPERSCOPE_INDEX_DIR"] = str(settings.resolved_index_dir())
    if settings.has_placeholder_secret():
        os.environ["PAPERSCOPE_SECRET_KEY"] = secrets.token_urlsafe(32)  # lasts until the server stops


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@main.command()
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
              help="How much the worker logs.")
@click.pass_obj
def worker(app: AppContext, log_level: str) -> None:
    """Run the background jobs alone, beside web processes (serve --workers N starts one itself).

    Ingests $PAPERSCOPE_INGEST_SOURCES daily at $PAPERSCOPE_INGEST_AT (at once on an empty database),
    embeds and indexes every paper added by anyone, keeps the topic map current and sends the digests
    that are due. It is the only process that writes the search index folder; web processes read it.
    Run one worker per database. Stops on Ctrl-C or SIGTERM.
    """
    from paperscope.index.search import SearchEngine
    from paperscope.jobs import BackgroundJobs, status_file

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = app.settings
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    with app.store() as store:
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings), status_file=status_file(settings))
        click.echo(f"paperscope worker: {settings.database_url}, indexes in {settings.resolved_index_dir()}",
                   err=True)
        jobs.start()
        stop.wait()
        jobs.stop(timeout=30)


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print the map as JSON: topics (id, label, keywords, size, representative_ids, ...), "
                   "every paper's topic id (null for an outlier) and the number of outliers.")
@click.option("--rebuild", is_flag=True, help="Build the map again from every stored vector (topic ids are kept "
              "where a topic is still there).")
@click.option("--balanced", is_flag=True, help="With --rebuild (or a first build): topics of equal size "
              "(Sinkhorn-Knopp), e.g. for reading groups or shards.")
@click.option("--explain", "goal", metavar="GOAL", help='With --rebuild (or a first build): ask the LLM at '
              'PAPERSCOPE_TOPICS_LLM_URL to explain the topics for a goal, e.g. "group by method".')
@click.option("--k", "n_topics", type=click.IntRange(1, 1000), help="With --rebuild (or a first build): this many "
              "topics instead of the number the method chooses.")
@click.option("--no-assignments", is_flag=True, help="Leave the per-paper assignments out of --json.")
@click.pass_obj
def topics(app: AppContext, as_json: bool, rebuild: bool, balanced: bool, goal: str | None, n_topics: int | None,
           no_assignments: bool) -> None:
    """Build the topic map, or show the stored one.

    The first run (and --rebuild) clusters every embedded paper; the number of topics is chosen by the
    method itself. Later runs show the stored map, after placing papers embedded since into its topics.
    """
    from paperscope.errors import require_extra

    require_extra("sklearn", "topics", "The topic map")
    from paperscope.topics.build import assign_new, build_map, embedding_model_name, map_json

    with app.store() as store:
        model_name = embedding_model_name(app.settings)
        current = store.topics.current_map()
        if rebuild or current is None or current.model != model_name:
            report = build_map(store, app.settings, model_name=model_name, balanced=balanced, n_topics=n_topics,
                               explain_goal=goal, progress=lambda message: click.echo(message, err=True))
            click.echo(f"built {report.map.n_topics} topics from {report.map.n_papers} papers in "
                       f"{sum(report.seconds.values()):.1f} s (ids kept {report.kept_ids}, new {report.new_ids}, "
                       f"retired {report.retired_ids}, emerging {len(report.emerging)})", err=True)
        else:
            added = assign_new(store, model_name=model_name)
            if added:
                click.echo(f"placed {added} new papers into the existing topics", err=True)
        data = map_json(store, with_assignments=not no_assignments)
        titles = {pid: paper.title for pid, paper in store.get_papers(
            [pid for topic in data["topics"] for pid in topic["representative_ids"][:3]]).items()}
    if as_json:
        click.echo(json.dumps(data))
        return
    info = data["map"]
    click.echo(f"{info['topics']} topics over {info['papers']} papers (built {info['built_at'][:16]}, "
               f"{info['model']}); outliers: {data['outliers']}")
    for topic in data["topics"]:
        flag = f"  [emerging since {topic['emerged_at']}]" if topic["emerging"] else ""
        click.echo(f"\n#{topic['id']}  {topic['label']}  ({topic['size']} papers, cohesion {topic['cohesion']:.2f})"
                   f"{flag}")
        click.echo(f"     keywords: {', '.join(topic['keywords'])}")
        if topic["description"]:
            click.echo(f"     {topic['description']}")
        for paper_id in topic["representative_ids"][:3]:
            click.echo(f"     - [{paper_id}] {titles.get(paper_id, '')}")


@main.group()
def db() -> None:
    """The database itself: copy it to another one (SQLite to PostgreSQL)."""


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

    with _count_bar("copying") as bar:
        def progress(table: str, rows: int) -> None:
            if bar is not None:
                bar(rows, None)

        report = copy_database(app.settings.database_url, target, batch_size=batch_size, progress=progress)
    click.echo(report.summary())
