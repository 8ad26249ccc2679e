"""The paperscope command line: the root group `main` and its commands, one module per command group.

docs/reference.md holds every command's --help, generated from these commands (`paperscope.cli.reference`).

* `ingest`: ingest;  `search`: index, search, similar;  `users`: users, library, recommend, subscribe,
  unsubscribe;  `webhooks`: subscribe --webhook, webhooks;  `digest`: digest send/preview;  `serve`: serve,
  worker (`processes` starts and stops the worker process of `serve --workers N`);  `topics`: topics;
  `summaries`: summarise;  `db`: db copy, stats;  `agents`: mcp.
* `context` is what each command gets (settings, the store); `output` its progress bars and paper lines;
  `hints` words an error's next step for the command line.
"""

from __future__ import annotations

import click
from pydantic import ValidationError

from paperscope import __version__
from paperscope.cli.agents import mcp
from paperscope.cli.context import AppContext
from paperscope.cli.db import db, stats
from paperscope.cli.digest import digest
from paperscope.cli.hints import cli_message
from paperscope.cli.ingest import ingest
from paperscope.cli.search import index, search, similar
from paperscope.cli.serve import serve, worker
from paperscope.cli.summaries import summarise
from paperscope.cli.topics import topics
from paperscope.cli.users import library, recommend, subscribe, unsubscribe, users
from paperscope.cli.webhooks import webhooks
from paperscope.config import Settings
from paperscope.errors import ConfigError, PaperscopeError


class PaperscopeGroup(click.Group):
    """Turns paperscope's own errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PaperscopeError as exc:
            raise click.ClickException(cli_message(exc)) from exc


@click.group(cls=PaperscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="PATH_OR_URL",
              help="Database: a SQLite file path or a URL (postgresql://...). "
                   "Default: $PAPERSCOPE_DATABASE_URL, else paperscope.db in the user data directory.")
@click.version_option(__version__, prog_name="paperscope")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """paperscope: a self-hosted research-paper radar.

    Ingest papers from arXiv, Hugging Face daily papers, OpenAlex, Crossref, Semantic Scholar, PubMed,
    bioRxiv/medRxiv, OpenReview, bulk snapshots, BibTeX, CSL-JSON, RIS and pasted listings; then search them,
    map their topics, follow what is trending and get recommendations by e-mail, feed or webhook.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        raise click.ClickException(str(ConfigError(f"Invalid setting in the environment: {exc}"))) from exc
    if db:
        settings.database_url = db
    ctx.obj = AppContext(settings)


for command in (ingest, stats, index, search, similar, users, library, recommend, subscribe, unsubscribe, webhooks,
                digest, serve, worker, topics, summarise, db, mcp):
    main.add_command(command)

__all__ = ["main"]
