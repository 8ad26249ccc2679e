"""`paperscope serve` and `worker`: the web app, and the background jobs beside it."""

from __future__ import annotations

import logging

import click

from paperscope.cli.context import LOG_LEVELS, AppContext
from paperscope.cli.processes import share_settings_with_child_processes, stop_requested, worker_process


def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


@click.command()
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
    require_extra("uvicorn", "web", "paperscope serve")
    import uvicorn

    from paperscope.web import create_app

    settings = app.settings
    if not _is_loopback(host) and settings.has_placeholder_secret():
        click.echo("warning: listening beyond this machine with a placeholder PAPERSCOPE_SECRET_KEY; sessions "
                   "last until the server stops. Set PAPERSCOPE_SECRET_KEY (and PAPERSCOPE_ENVIRONMENT="
                   "production) for a real deployment.", err=True)
    shown = "localhost" if host in {"127.0.0.1", "::1"} else host
    if workers == 1:
        web_app = create_app(settings, background_jobs=jobs)
        click.echo(f"paperscope: serving {settings.database_url} on http://{shown}:{port}/ (API docs at /docs)",
                   err=True)
        uvicorn.run(web_app, host=host, port=port, log_level=log_level, access_log=access_log,
                    proxy_headers=False, server_header=False)
        return
    run_jobs = settings.background_jobs if jobs is None else jobs
    with app.store():  # opening upgrades the schema once, before the web processes and the worker open it
        pass
    share_settings_with_child_processes(settings)
    with worker_process(log_level, start=run_jobs):
        click.echo(f"paperscope: serving {settings.database_url} on http://{shown}:{port}/ with {workers} web "
                   f"processes{' and a worker' if run_jobs else ''} (API docs at /docs)", err=True)
        factory = "web_process_app" if run_jobs else "web_process_app_without_jobs"
        uvicorn.run(f"paperscope.web.app:{factory}", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, access_log=access_log, proxy_headers=False, server_header=False)


@click.command()
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
    stop = stop_requested()
    with app.store() as store:
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings), status_file=status_file(settings))
        click.echo(f"paperscope worker: {settings.database_url}, indexes in {settings.resolved_index_dir()}",
                   err=True)
        jobs.start()
        stop.wait()
        jobs.stop(timeout=30)
