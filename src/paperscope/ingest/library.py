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
from paperscope.ingest.base import Problem
from paperscope.ingest.pipeline import Ingester
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
    ingester = Ingester(store, settings, batch_size=BATCH_SIZE, on_problem=on_problem)
    items = zotero_items(source, settings) if is_zotero_source(source) else ingester.file_items(Path(source), fmt)
    stored: list[Paper] = []
    ingested = ingester.store_items(items, on_stored=stored.extend)
    report = LibraryImport(added=ingested.added, updated=ingested.updated, unchanged=ingested.unchanged,
                           rejected=ingested.rejected, warnings=ingested.warnings, problems=ingested.problems)
    ids = list(dict.fromkeys(_stored_ids(store, stored)))
    if ids:
        report.saved = store.accounts.set_library_state(user_id, ids, "saved")
    report.already_saved = len(ids) - report.saved
    return report


def _stored_ids(store: Store, papers: Iterable[Paper]) -> Iterator[str]:
    """The id of the stored paper each record was merged into: found by its id, else by any of its ids."""
    for paper in papers:
        stored = store.get_paper(paper.id)
        if stored is None:
            stored = next((found for ref in paper.refs if (found := store.get_paper(ref)) is not None), None)
        if stored is not None:
            yield stored.id
