"""How the web app words an error's next step (`errors.Fix`): for a reader of a page or of the JSON API, who may
not run the server, so never with command-line flags."""

from __future__ import annotations

from paperscope.errors import Fix, PaperscopeError

WEB_HINTS: dict[Fix, str] = {
    Fix.CHOOSE_DATABASE: "The server's database is set by PAPERSCOPE_DATABASE_URL.",
    Fix.CHOOSE_COPY_TARGET: "Copy into another database.",
    Fix.START_CLUSTER: "Start the Dask scheduler, or embed on a local cluster.",
    Fix.REBUILD_INDEX: "The server's search indexes need to be rebuilt.",
    Fix.SEED_RECOMMENDATIONS: "Save or upvote papers, or follow a topic or a search.",
}


def web_message(exc: PaperscopeError) -> str:
    """The error's message with the web's wording of its next step, if it has one."""
    hint = WEB_HINTS[exc.fix] if exc.fix is not None else None
    return f"{exc} {hint}" if hint else str(exc)
