"""`paperscope index`, `search` and `similar`: the search indexes and what they answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paperscope.cli.context import AppContext
from paperscope.cli.output import count_bar, paper_line
from paperscope.errors import InputError
from paperscope.store import PaperFilter, Store

if TYPE_CHECKING:
    from paperscope.index.search import Mode, SearchEngine


def _engine(app: AppContext, store: Store, model: str | None = None) -> SearchEngine:
    from paperscope.index.search import SearchEngine

    settings = app.settings.model_copy(update={"embedding_model": model}) if model else app.settings
    return SearchEngine(store, settings)


@click.command()
@click.option("--rebuild", is_flag=True, help="Rebuild both indexes from the stored papers and vectors.")
@click.option("--reembed", is_flag=True, help="Forget this model's vectors and embed every paper again.")
@click.option("--model", metavar="SPEC", help="Embedding model (default: $PAPERSCOPE_EMBEDDING_MODEL or minilm).")
@click.option("--cluster", metavar="local|ADDRESS",
              help="Embed on a Dask cluster: 'local' starts one on this machine, or a scheduler address.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 256),
              help="Worker processes of a --cluster local.")
@click.option("--tune-search", is_flag=True,
              help="Tune hybrid search on the stored papers now, however little they grew since the last tuning.")
@click.pass_obj
def index(app: AppContext, rebuild: bool, reembed: bool, model: str | None, cluster: str | None,
          workers: int, tune_search: bool) -> None:
    """Embed new and changed papers, then update the keyword and vector indexes.

    Only papers added or changed since the last run are embedded, so running it after every ingest
    is cheap. Searches also fold in what is already embedded on their own, but only this command
    runs the embedding model over papers. Hybrid search's fusion is tuned on the stored papers when there is no
    tuning yet or they have grown by PAPERSCOPE_SEARCH_RETUNE_GROWTH since (paperscope stats shows it).
    """
    from paperscope.indexing import PLACE_IN_MAP, index_papers

    with app.store() as store:
        engine = _engine(app, store, model)
        with count_bar("embedding") as progress:
            report = index_papers(engine, rebuild=rebuild, reembed=reembed, topic_map=PLACE_IN_MAP,
                                  progress=progress, cluster=cluster, workers=workers,
                                  tune_search="now" if tune_search else "due")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"embedded {report.embedded} papers with {engine.embedder.name}; keyword index: "
               f"{report.keyword_updated} papers updated; vector index: {report.vectors_added} vectors added"
               + (f"; topic map: {report.placed} papers placed" if report.placed else ""))
    if report.tuning is not None:
        click.echo(f"search fusion {report.tuning.summary()}")


def _filters(date_from: str | None, date_to: str | None, category: str | None, author: str | None) -> PaperFilter:
    from paperscope.filter_input import parse_paper_filter

    try:
        return parse_paper_filter(date_from=date_from, date_to=date_to, category=category, author=author)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None


@click.command()
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
def search(app: AppContext, query: str | None, queries_file: Path | None, limit: int, offset: int, mode: Mode,
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
        click.echo(paper_line(rank, paper))


def _search_batch(engine: SearchEngine, path: Path, *, limit: int, mode: Mode, filters: PaperFilter) -> None:
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


@click.command()
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
        click.echo(paper_line(rank, paper))
