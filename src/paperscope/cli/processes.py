"""Process supervision for `serve --workers N` and `worker`: the settings child processes read, the worker
process started beside the web processes and stopped after them, and the signals that stop a worker."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from paperscope.config import Settings

STOP_TIMEOUT_SECONDS = 30.0


def share_settings_with_child_processes(settings: Settings) -> None:
    """Web processes and the worker read their settings from the environment: put there what the command
    line chose (--db), and one signing key for all of them when the configured one is a placeholder."""
    os.environ["PAPERSCOPE_DATABASE_URL"] = settings.database_url
    os.environ["PAPERSCOPE_INDEX_DIR"] = str(settings.resolved_index_dir())
    if settings.has_placeholder_secret():
        os.environ["PAPERSCOPE_SECRET_KEY"] = secrets.token_urlsafe(32)  # lasts until the server stops


@contextmanager
def worker_process(log_level: str, *, start: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """A `paperscope worker` child process for the time of the block (None when `start` is false), stopped
    when the block ends however it ends."""
    process = subprocess.Popen([sys.executable, "-m", "paperscope", "worker", "--log-level", log_level]
                               ) if start else None
    try:
        yield process
    finally:
        if process is not None:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM, then SIGKILL if the process has not ended after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_requested() -> threading.Event:
    """An event set on SIGTERM or SIGINT (Ctrl-C), for a process that runs until it is told to stop."""
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    return stop
