"""How the command line words an error's next step (`errors.Fix`): with the commands and flags to use."""

from __future__ import annotations

from paperscope.errors import Fix, PaperscopeError

CLI_HINTS: dict[Fix, str] = {
    Fix.CHOOSE_DATABASE: "Pass --db (or set PAPERSCOPE_DATABASE_URL) to choose the database.",
    Fix.CHOOSE_COPY_TARGET: "Give --to another one.",
    Fix.START_CLUSTER: "Start it (dask scheduler) or use --cluster local.",
    Fix.REBUILD_INDEX: "Rebuild it with `paperscope index --rebuild`.",
    Fix.SEED_RECOMMENDATIONS: "Save papers (paperscope library add EMAIL ID...), follow a topic of the topic map "
                              "(paperscope subscribe EMAIL --topic ID) or a search (paperscope subscribe EMAIL "
                              "--query \"your keywords\").",
}


def cli_message(exc: PaperscopeError) -> str:
    """The error's message with the command line's wording of its next step, if it has one."""
    hint = CLI_HINTS[exc.fix] if exc.fix is not None else None
    return f"{exc} {hint}" if hint else str(exc)
