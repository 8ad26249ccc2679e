"""`paperscope summarise`: LLM summaries of the waiting papers now, beside the background jobs that write them."""

from __future__ import annotations

import json

import click

from paperscope.cli.context import AppContext


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=None, metavar="N",
              help="Summarise at most N papers, newest first.  [default: $PAPERSCOPE_LLM_SUMMARIES_PER_RUN]")
@click.option("--any-age", is_flag=True,
              help="Also papers published more than $PAPERSCOPE_LLM_SUMMARY_DAYS days ago, and undated ones.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"summarised": [ids], "refused": {id: why}, "endpoint_problem": text or null, "counts": '
                   '{"summarised", "waiting_to_retry", "given_up"}}.')
@click.pass_obj
def summarise(app: AppContext, limit: int | None, any_age: bool, as_json: bool) -> None:
    """Have the LLM at $PAPERSCOPE_LLM_URL summarise papers that have no summary yet: one sentence and three key
    phrases each, stored with the model's name and shown on cards, paper pages, digests and in the API.

    The background jobs (serve, worker) do the same for new papers by themselves; this runs it now. Papers whose
    answer was unusable are tried again later (after 1, 4 and 16 hours) and then given up; an endpoint that
    cannot be reached stops the run with exit status 1.
    """
    from paperscope.summaries import require_llm, summarise_papers

    require_llm(app.settings)  # before the database is opened: without the setting nothing is touched
    with app.store() as store:
        run = summarise_papers(store, app.settings, limit=limit, any_age=any_age)
        counts = store.summaries.counts()
        shown = store.summaries.of_papers(run.summarised)
    if as_json:
        click.echo(json.dumps({"summarised": run.summarised, "refused": run.refused,
                               "endpoint_problem": run.endpoint_problem,
                               "counts": {"summarised": counts.summarised, "waiting_to_retry": counts.waiting_to_retry,
                                          "given_up": counts.given_up}}, ensure_ascii=False))
    else:
        for paper_id in run.summarised:
            summary = shown.get(paper_id)
            if summary is not None:
                click.echo(f"{paper_id}  {summary.text}  [{'; '.join(summary.key_phrases)}]")
        for paper_id, why in run.refused.items():
            click.echo(f"{paper_id}  not summarised: {why}", err=True)
        if not run.summarised and not run.refused and run.endpoint_problem is None:
            click.echo("No papers are waiting for a summary." + ("" if any_age else " (--any-age reaches older ones)"))
        click.echo(f"{len(run.summarised)} summarised now; {counts.summarised} in all, {counts.waiting_to_retry} "
                   f"to be tried again, {counts.given_up} given up.", err=True)
    if run.endpoint_problem is not None:
        raise click.ClickException(run.endpoint_problem)
