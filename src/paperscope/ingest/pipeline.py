"""The ingest pipeline: sources -> parse -> validate -> merge into the store, in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperscope.config import Settings
from paperscope.errors import InputError, PaperscopeError
from paperscope.ingest import (
    atom,
    bibtex,
    biorxiv,
    crossref,
    csljson,
    hf,
    jsonl,
    listing,
    openalex,
    openreview,
    pubmed,
    ris,
    semantic_scholar,
)
from paperscope.ingest.base import Checkpoint, Entry, FileReader, Problem, SourceItem
from paperscope.ingest.detect import FORMATS, detect_format, open_input
from paperscope.ingest.remote import is_network_source, network_items
from paperscope.ingest.validate import check_entry
from paperscope.models import Paper
from paperscope.store import Outcome, Store

READERS: dict[str, FileReader] = {
    "jsonl": jsonl.read_jsonl,
    "atom": atom.read_atom,
    "hf": hf.read_hf_daily,
    "bibtex": bibtex.read_bibtex,
    "listing": listing.read_listing,
    "s2": semantic_scholar.read_s2,
    "pubmed": pubmed.read_pubmed_xml,
    "biorxiv": biorxiv.read_biorxiv_json,
    "openreview": openreview.read_openreview_json,
    "openalex": openalex.read_openalex,
    "crossref": crossref.read_crossref,
    "csljson": csljson.read_csljson,
    "ris": ris.read_ris,
}
assert set(READERS) == set(FORMATS)
# Problems a report holds; past them each is only counted (and passed to `on_problem`), so that a snapshot of
# millions of records with a warning each streams in bounded memory.
KEPT_PROBLEMS = 1000

@dataclass
class IngestReport:
    """What an ingest did: counts of outcomes, the first KEPT_PROBLEMS problems found (`rejected` and `warnings`
    count them all), and sources that failed whole."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    problems: list[Problem] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)  # messages of sources that could not be read

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def summary(self) -> str:
        text = (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"rejected {self.rejected}")
        if self.warnings:
            text += f", warnings {self.warnings}"
        if self.failed_sources:
            text += f", failed sources {len(self.failed_sources)}"
        return text

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "warnings": self.warnings,
                "failed_sources": len(self.failed_sources)}


ProgressCallback = Callable[[int, int], None]  # (bytes read, total bytes) over all files


class Ingester:
    """Feeds sources into a store. One bad record never stops the batch or touches stored papers."""

    def __init__(self, store: Store, settings: Settings, *, batch_size: int = 2000,
                 on_problem: Callable[[Problem], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.batch_size = batch_size
        self.on_problem = on_problem

    def ingest(self, *sources: str, fmt: str | None = None, limit: int | None = None,
               progress: ProgressCallback | None = None) -> IngestReport:
        """Ingest files and network sources ("arxiv:cs.LG", "hf:daily") in order, as one stream of batches.

        A source that cannot be read at all (missing file, unknown format, offline) is recorded in
        `failed_sources` and the others go on.
        """
        report = IngestReport()
        files = [Path(s) for s in sources if not is_network_source(s)]
        tracker = _ByteProgress(sum(p.stat().st_size for p in files if p.is_file()), progress)

        def all_items() -> Iterator[SourceItem]:
            for source in sources:
                try:
                    if is_network_source(source):
                        yield from network_items(source, self.store, self.settings, limit=limit)
                    else:
                        yield from self.file_items(Path(source), fmt, tracker)
                except PaperscopeError as exc:
                    report.failed_sources.append(str(exc))
                    if self.on_problem is not None:
                        self.on_problem(Problem(source, "", str(exc)))

        return self.store_items(all_items(), report=report, on_batch=tracker.tick)

    def file_items(self, path: Path, fmt: str | None = None, tracker: _ByteProgress | None = None
                   ) -> Iterator[SourceItem]:
        """The records and problems of one file, its format told from its content unless `fmt` names it."""
        tracker = tracker or _ByteProgress(0, None)
        origin = str(path)
        with open_input(path) as stream:
            if fmt is None:
                fmt = detect_format(stream.read(4096), origin)
                stream.seek(0)
            if fmt not in READERS:
                raise InputError(f"Unknown format {fmt!r}; use one of: {', '.join(FORMATS)}.")
            tracker.start_file(getattr(stream, "fileobj", None) or stream)
            yield from READERS[fmt](stream, origin)
            tracker.end_file()

    def store_items(self, items: Iterable[SourceItem], *, report: IngestReport | None = None,
                    on_batch: Callable[[], None] | None = None,
                    on_stored: Callable[[list[Paper]], None] | None = None) -> IngestReport:
        """Validate and store what a source yields, committing a batch at a time; `on_stored` is given each
        batch of records once stored."""
        report = report if report is not None else IngestReport()
        pending: list[Paper] = []

        def flush() -> None:
            if pending:
                for outcome in self.store.upsert_papers(pending):
                    report.count(outcome)
                if on_stored is not None:
                    on_stored(list(pending))
                pending.clear()
            if on_batch is not None:
                on_batch()

        for item in items:
            if isinstance(item, Checkpoint):
                flush()
                self.store.set_sync_state(item.source, item.state)
                continue
            if isinstance(item, Entry):
                paper, problems = check_entry(item)
                if paper is not None:
                    pending.append(paper)
            else:
                problems = [item]
            for problem in problems:
                self._report(problem, report)
            if len(pending) >= self.batch_size:
                flush()
        flush()
        return report

    def _report(self, problem: Problem, report: IngestReport) -> None:
        if problem.rejected:
            report.rejected += 1
        else:
            report.warnings += 1
        if len(report.problems) < KEPT_PROBLEMS:
            report.problems.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)


class _ByteProgress:
    """Bytes read so far over all input files, for a progress bar."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.finished_bytes = 0
        self.current: Any = None

    def start_file(self, raw: Any) -> None:
        self.current = raw

    def end_file(self) -> None:
        if self.current is not None:
            self.finished_bytes += self.current.tell()
            self.current = None

    def tick(self) -> None:
        if self.callback is not None:
            done = self.finished_bytes + (self.current.tell() if self.current is not None else 0)
            self.callback(min(done, self.total), self.total)
