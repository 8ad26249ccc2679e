"""A user's reference-manager library (a CSL-JSON, RIS or BibTeX export, or a Zotero library through the Web
API) imported as their saved papers.

Every record is stored as ingest stores it (`Store.upsert_papers`), so the store's merge matches it to a stored
paper by DOI, arXiv id or another shared id, or by title and first author, and stores the rest as new papers;
then the stored paper of each record is saved to the user's library. Importing the same library again
changes nothing: the records merge unchanged and the papers are already saved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.detect import FORMATS, detect_format, open_input
from paperscope.ingest.pipeline import READERS
from paperscope.ingest.validate import check_entry
from paperscope.ingest.zotero import is_zotero_source, zotero_items
from paperscope.models import Paper
from paperscope.store import Store

BATCH_SIZE = 500


@dataclass
class LibraryImport:
    """What an import did: the papers stored (added, updated, unchanged), the records rejected, and the
    library: papers newly saved and those that were already in it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    saved: int = 0
    already_saved: int = 0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"papers: added {self.added}, updated {self.updated}, unchanged {self.unchanged}, rejected "
                f"{self.rejected}; library: saved {self.saved}, already in the library {self.already_saved}")
        return text + (f"; warnings {self.warnings}" if self.warnings else "")

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "warnings": self.warnings, "saved": self.saved,
                "already_saved": self.already_saved}


def import_library(store: Store, settings: Settings, user_id: int, source: str, *, fmt: str | None = None,
                   on_problem: Callable[[Problem], None] | None = None) -> LibraryImport:
    """Import `source` (a file, or `zotero:USER_ID`) into the library of user `user_id`.

    Raises InputError or SourceError when the source cannot be read at all; a bad record is a Problem in the
    report (named by file and item) and the other records are imported.
    """
    report = LibraryImport()
    items = zotero_items(source, settings) if is_zotero_source(source) else _file_items(Path(source), fmt)
    papers: list[Paper] = []
    for item in items:
        if isinstance(item, Entry):
            paper, problems = check_entry(item)
            if paper is not None:
                papers.append(paper)
        else:
            problems = [item]
        for problem in problems:
            report.problems.append(problem)
            if problem.rejected:
                report.rejected += 1
            else:
                report.warnings += 1
            if on_problem is not None:
                on_problem(problem)
    for start in range(0, len(papers), BATCH_SIZE):
        for outcome in store.upsert_papers(papers[start:start + BATCH_SIZE]):
            setattr(report, outcome.value, getattr(report, outcome.value) + 1)
    ids = list(dict.fromkeys(_stored_ids(store, papers)))
    if ids:
        report.saved = store.accounts.set_library_state(user_id, ids, "saved")
    report.already_saved = len(ids) - report.saved
    return report


def _file_items(path: Path, fmt: str | None) -> Iterator[Item]:
    origin = str(path)
    with open_input(path) as stream:
        if fmt is None:
            fmt = detect_format(stream.read(4096), origin)
            stream.seek(0)
        if fmt not in READERS:
            raise InputError(f"Unknown format {fmt!r}; use one of: {', '.join(FORMATS)}.")
        yield from READERS[fmt](stream, origin)


def _stored_ids(store: Store, papers: Iterable[Paper]) -> Iterator[str]:
    """The id of the stored paper each record was merged into: found by its id, else by any of its ids."""
    for paper in papers:
        stored = store.get_paper(paper.id)
        if stored is None:
            stored = next((found for ref in paper.refs if (found := store.get_paper(ref)) is not None), None)
        if stored is not None:
            yield stored.id
