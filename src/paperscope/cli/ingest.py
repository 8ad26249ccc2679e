"""`paperscope ingest`: files and network sources into the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from paperscope.cli.context import AppContext
from paperscope.cli.output import progress_bar
from paperscope.ingest.base import Problem
from paperscope.ingest.detect import FORMATS

# Problems printed to the terminal before the rest are only counted (all go to --problems FILE).
SHOWN_PROBLEMS = 20


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Read every file as this format instead of detecting it from the content.")
@click.option("--strict", is_flag=True, help="Exit with status 1 if any record was rejected.")
@click.option("--limit", type=click.IntRange(min=1),
              help="At most this many entries from a network source (arxiv:..., openalex:...).")
@click.option("--problems", "problems_file", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write every rejected record and warning to this file as JSON Lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary, not each problem.")
@click.pass_obj
def ingest(app: AppContext, sources: tuple[str, ...], fmt: str | None, strict: bool, limit: int | None,
           problems_file: Path | None, as_json: bool, quiet: bool) -> None:
    """Ingest papers from files or network sources.

    SOURCES are files or network sources. Files: arXiv API Atom XML, Hugging Face daily papers JSON,
    JSON Lines (plain or gzip), BibTeX, a plain-text listing, saved answers of the OpenAlex,
    Crossref, Semantic Scholar, bioRxiv/medRxiv and OpenReview APIs, the OpenAlex snapshot's works
    JSON Lines, PubMed XML (efetch answers, baseline and update .xml.gz files), reference managers'
    CSL-JSON and RIS exports (Zotero, Mendeley, EndNote); the format is detected from the content.
    Network sources: arxiv:cs.LG (a category), arxiv:"contrastive clustering" (a search),
    arxiv:id:2503.11731, hf:daily or hf:daily:YYYY-MM-DD,
    openalex:QUERY or openalex:filter:FILTER, crossref:QUERY, doi:10.NNNN/SUFFIX, s2:QUERY,
    s2:id:ID[,ID...], s2:references:ID, s2:citations:ID, pubmed:QUERY, biorxiv:FROM/TO,
    medrxiv:FROM/TO (dates YYYY-MM-DD), openreview:VENUE_ID. What each reads: docs/sources.md.

    Ingesting is incremental and idempotent: the same input twice changes nothing, and a paper
    seen in several sources becomes one record.
    """
    from paperscope.ingest.pipeline import Ingester

    shown = 0
    problems_out = problems_file.open("w", encoding="utf-8") if problems_file else None

    def show(problem: Problem) -> None:
        nonlocal shown
        shown += 1
        if not quiet and shown <= SHOWN_PROBLEMS:
            click.echo(str(problem), file=sys.stderr)  # sys.stderr: rich keeps it above the progress bar
        if problems_out is not None:  # written as found: the report keeps only the first ones
            problems_out.write(json.dumps({"origin": problem.origin, "where": problem.where,
                                           "message": problem.message, "rejected": problem.rejected}) + "\n")

    try:
        with app.store() as store, progress_bar(sources) as progress:
            total = Ingester(store, app.settings, on_problem=show).ingest(
                *sources, fmt=fmt, limit=limit, progress=progress)
    finally:
        if problems_out is not None:
            problems_out.close()
    if shown > SHOWN_PROBLEMS and not quiet:
        click.echo(f"... and {shown - SHOWN_PROBLEMS} more problems"
                   + ("" if problems_file else " (write them all with --problems FILE)"), err=True)
    if as_json:
        click.echo(json.dumps(total.as_dict()))
    else:
        click.echo(total.summary())
    if total.failed_sources:
        raise click.ClickException(f"{len(total.failed_sources)} of {len(sources)} sources could not be "
                                   "read; see the messages above.")
    if strict and total.rejected:
        raise click.ClickException(f"{total.rejected} records were rejected (--strict).")
