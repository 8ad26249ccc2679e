"""What the commands print besides their results: progress bars on stderr and one line per paper."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from paperscope.models import Paper

if TYPE_CHECKING:
    from rich.console import Console

# Inputs smaller than this finish too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 1 << 20

# (done, total); total None while it is not known yet.
Progress = Callable[[int, int | None], None]


@contextmanager
def progress_bar(sources: tuple[str, ...]) -> Iterator[Progress | None]:
    """A progress bar on stderr over all input files, or None where it would not help."""
    size = sum(Path(s).stat().st_size for s in sources if Path(s).is_file())
    if not sys.stderr.isatty() or size < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]ingesting", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), transient=True, console=stderr_console()) as bar:
        task = bar.add_task("ingest", total=size)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def count_bar(label: str) -> Iterator[Progress | None]:
    """A progress bar with an ETA on stderr for a job counted in items; None when stderr is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(f"[progress.description]{label}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=stderr_console()) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def paper_line(rank: int, paper: Paper) -> str:
    """`  1. [id] Title` and, below it, up to three authors and the date."""
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    date = f" ({paper.published.isoformat()})" if paper.published else ""
    byline = f"\n     {authors}{date}" if authors or date else ""
    from paperscope.text import plain_text

    return f"{rank:>3}. [{paper.id}] {plain_text(paper.title)}{byline}"
