"""Storing papers: each incoming record merged into the paper it duplicates, title-only records linked to
real ids, users' rows moved along, and the filter tables rewritten, in one transaction per batch.

Writers that merge take the papers' write lock before their first read (`merging`): BEGIN IMMEDIATE on
SQLite, an advisory lock on PostgreSQL. A batch that collides with another process is merged again from what
is stored then (`merge_papers`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import operator
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.ids import (
    DERIVED_ID_PREFIX,
    EXCLUSIVE_KINDS,
    ID_KINDS,
    canonical_id,
    is_derived_id,
    ref_of_id,
    split_ref,
)
from paperscope.models import Paper
from paperscope.store.authors import write_author_rows
from paperscope.store.base import Outcome
from paperscope.store.db import WRITE_LOCK_OPTION, as_utc, in_chunks, utc_now
from paperscope.store.filters import write_filter_rows
from paperscope.store.papers import PAPER_FIELDS, select_papers
from paperscope.store.schema import PAPER_REFERENCES, citations, comments, notes, paper_ids, papers

_paper_values = operator.attrgetter(*PAPER_FIELDS)
_WRITE_ATTEMPTS = 10
_PAPERS_LOCK_KEY = 0x70617065727301  # pg_advisory_xact_lock key of "merging into papers" ("papers" + 1)


def merge_papers(engine: Engine, batch: Sequence[Paper]) -> list[Outcome]:
    """Merge a batch into the stored papers in one transaction (see `Store.upsert_papers`), again from what is
    stored then when another process wrote one of its papers meanwhile."""
    for attempt in range(_WRITE_ATTEMPTS):
        try:
            with merging(engine) as conn:
                return _BatchMerge(conn, batch).run()
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            # Another process stored one of these papers between our read and our write (a unique
            # violation on PostgreSQL, a stale snapshot or lock on SQLite): merge again from what is
            # stored now. Anything else, or the same failure every time, is raised.
            if attempt == _WRITE_ATTEMPTS - 1 or not _is_write_conflict(exc):
                raise
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # jitter: the racers part
    raise AssertionError("unreachable")


@contextlib.contextmanager
def merging(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the papers' write lock from before its first read: writers that merge
    records into stored papers queue instead of each overwriting the other's merge. It also makes
    modification times rise in commit order, which the indexes' watermarks rely on."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{WRITE_LOCK_OPTION: True})  # BEGIN IMMEDIATE
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PAPERS_LOCK_KEY)))
            yield conn


def _is_write_conflict(exc: sa.exc.DBAPIError) -> bool:
    """A failure a retry of the whole transaction can cure: a concurrent insert of the same key, a
    serialization failure or deadlock (PostgreSQL), a busy or stale-snapshot database (SQLite)."""
    code = getattr(exc.orig, "sqlstate", None)
    if code is not None:
        return code in {"23505", "40001", "40P01"}
    text = str(exc.orig).lower()
    return (isinstance(exc, sa.exc.IntegrityError) and "unique" in text) or "locked" in text or "busy" in text


class _BatchMerge:
    """Merges one batch of incoming records into the stored papers inside one transaction.

    A record joins every stored paper (and every earlier record of the batch) that shares one of its
    references (`Paper.refs`); a record without a strong id is linked by title instead. The merged paper takes
    the canonical id of all its references (`ids.canonical_id`), so the result does not depend on the order in
    which records arrive; a paper whose id changes is absorbed into the new one (users' rows move along) and
    its old id stays one of its references, so every URL that reached it still does."""

    def __init__(self, conn: Connection, batch: Sequence[Paper]) -> None:
        self.conn = conn
        self.batch = batch
        refs = sorted({ref for paper in batch for ref in paper.refs})
        self.owner: dict[str, str] = _owners(conn, refs)  # reference -> id of the paper it belongs to
        self.current = select_papers(conn, papers.c.id, sorted({p.id for p in batch} | set(self.owner.values())))
        # Linking by title is needed only when title-only records are in play, on either side.
        self.linking = any(is_derived_id(p.id) for p in batch) or self._has_derived_papers()
        self.by_title = self._title_candidates() if self.linking else {}
        self.stored_ids = set(self.current) | {p.id for ps in self.by_title.values() for p in ps}
        # What the side tables hold for each stored paper, to rewrite only the rows of papers that changed.
        self.stored_rows = {p.id: (p.authors, p.categories, p.ids)
                            for p in [*self.current.values(), *(p for ps in self.by_title.values() for p in ps)]}
        self.absorbed: dict[str, str] = {}  # old id -> the id of the paper that absorbed it
        self.dirty: set[str] = set()
        self.edges: set[tuple[str, str]] = set()  # (citing reference, cited reference)
        self.placed: list[tuple[str, Paper]] = []  # (paper id, record) of records that name authors by id

    def _title_candidates(self) -> dict[str, list[Paper]]:
        """Stored papers a record of this batch may link to by title (see Store.upsert_papers)."""
        keys = list({p.title_key for p in self.batch if p.id not in self.current})
        by_title: dict[str, list[Paper]] = {}
        for paper in select_papers(self.conn, papers.c.title_key, keys).values():
            by_title.setdefault(paper.title_key, []).append(paper)
        return by_title

    def _has_derived_papers(self) -> bool:
        # The range [title, titlf) holds every id starting with "title-" in byte order and in linguistic
        # collations (which may ignore the hyphen) alike, so the primary key index serves it on any
        # PostgreSQL cluster; the LIKE then keeps exactly the derived ids.
        stem = DERIVED_ID_PREFIX.rstrip("-")
        query = (sa.select(papers.c.id)
                 .where(papers.c.id >= stem, papers.c.id < stem[:-1] + chr(ord(stem[-1]) + 1),
                        papers.c.id.startswith(DERIVED_ID_PREFIX, autoescape=True))
                 .limit(1))
        return self.conn.execute(query).first() is not None

    def _title_match(self, paper: Paper, derived: bool) -> Paper | None:
        """A known paper with the same title (and compatible first author), real ids preferred."""
        author = paper.first_author_key
        matches = [
            other for other in self.by_title.get(paper.title_key, [])
            if other.id != paper.id and other.id not in self.absorbed
            and is_derived_id(other.id) == derived
            and (not author or not other.first_author_key or author == other.first_author_key)
        ]
        return matches[0] if matches else None

    def run(self) -> list[Outcome]:
        outcomes = [self._merge_one(paper) for paper in self.batch]
        self._write()
        return outcomes

    def _targets(self, paper: Paper) -> list[Paper]:
        """The known papers this record is: those sharing a reference with it, else one with its title."""
        ids = dict.fromkeys(self.owner[ref] for ref in paper.refs if ref in self.owner)
        targets = [self.current[i] for i in ids if i in self.current]
        if targets or not (self.linking and paper.title_key):
            return targets
        if is_derived_id(paper.id):
            match = self._title_match(paper, derived=False) or self._title_match(paper, derived=True)
        else:
            match = self._title_match(paper, derived=True)  # a title-only record becomes this paper's record
        return [self.current.setdefault(match.id, match)] if match is not None else []

    def _merge_one(self, paper: Paper) -> Outcome:
        self.edges.update((ref_of_id(paper.id), cited) for cited in paper.references)
        self.edges.update((citing, ref_of_id(paper.id)) for citing in paper.cited_by)
        targets = self._targets(paper)
        merged = paper
        joined: list[Paper] = []
        for target in targets:  # a paper never joins one with another value of an exclusive id
            if not _conflicting(merged, target):
                merged = target.merged_with(merged)
                joined.append(target)
        merged = dataclasses.replace(merged, id=_paper_id(merged, joined))
        same_id = self.current.get(merged.id)
        if same_id is not None and merged.id not in {t.id for t in joined}:  # a known paper's id: that paper
            merged = same_id.merged_with(merged)
            joined.append(same_id)
        merged.ids = merged.refs
        joined_ids = {t.id for t in joined}
        for old_id in joined_ids - {merged.id}:
            self.absorbed[old_id] = merged.id
            self.current.pop(old_id, None)
            self.dirty.discard(old_id)
        stored = self.current.get(merged.id)
        if not joined:
            outcome = Outcome.ADDED
        elif joined_ids == {merged.id} and merged == stored:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATED
        if outcome is not Outcome.UNCHANGED:
            self.dirty.add(merged.id)
        self.current[merged.id] = merged
        # An id absorbed earlier in the batch can come back as another paper's (records that contradict each
        # other): that paper is stored under it, not deleted with the absorbed one.
        self.absorbed.pop(merged.id, None)
        if paper.author_ids:
            self.placed.append((merged.id, paper))
        for ref in merged.ids:  # a reference another paper holds (an exclusive-id conflict) stays with it
            if self.owner.get(ref) in (None, *joined_ids):
                self.owner[ref] = merged.id
        if self.linking:
            same_title = self.by_title.setdefault(merged.title_key, [])
            same_title[:] = [p for p in same_title if p.id not in joined_ids and p.id != merged.id] + [merged]
        return outcome

    def _write(self) -> None:
        now = _lock_holder_time(self.conn)
        inserts = [_row(self.current[i], added_at=now, modified_at=now)
                   for i in sorted(self.dirty) if i not in self.stored_ids]
        updates = [_row(self.current[i], modified_at=now) for i in sorted(self.dirty) if i in self.stored_ids]
        if inserts:
            self.conn.execute(papers.insert(), inserts)
        final = _final_targets(self.absorbed)
        if self.absorbed:
            _repoint_references(self.conn, final)
            self.conn.execute(papers.delete().where(papers.c.id.in_(list(self.absorbed))))
        if updates:
            columns: dict[str, Any] = {name: sa.bindparam(f"new_{name}") for name in updates[0] if name != "id"}
            statement = papers.update().where(papers.c.id == sa.bindparam("old_id")).values(columns)
            self.conn.execute(statement, [
                {"old_id": row["id"], **{f"new_{k}": v for k, v in row.items() if k != "id"}}
                for row in updates
            ])
        # The side tables, in the same transaction; an absorbed paper's rows went with it (ON DELETE CASCADE).
        added = [self.current[row["id"]] for row in inserts]
        changed = [self.current[row["id"]] for row in updates]
        write_filter_rows(self.conn, added, replace=False)
        write_filter_rows(self.conn, [p for p in changed if (p.authors, p.categories) != self.stored_rows[p.id][:2]],
                          replace=True)
        self._write_refs(added, [p for p in changed if p.ids != self.stored_rows[p.id][2]])
        _write_edges(self.conn, sorted(self.edges))
        write_author_rows(self.conn, [(final.get(paper_id, paper_id), record) for paper_id, record in self.placed])

    def _write_refs(self, added: list[Paper], changed: list[Paper]) -> None:
        """The `paper_ids` rows of new and changed papers: each reference the paper owns in this batch."""
        if changed:
            for chunk in in_chunks([p.id for p in changed]):
                self.conn.execute(paper_ids.delete().where(paper_ids.c.paper_id.in_(chunk)))
        rows = [{"ref": ref, "paper_id": paper.id} for paper in [*added, *changed]
                for ref in paper.ids if self.owner.get(ref) == paper.id]
        if rows:
            self.conn.execute(paper_ids.insert(), rows)


def _final_targets(absorbed: dict[str, str]) -> dict[str, str]:
    """Each absorbed id mapped to the paper that holds it at the end of the batch (absorptions can chain)."""
    final = {}
    for old_id, new_id in absorbed.items():
        while new_id in absorbed:
            new_id = absorbed[new_id]
        final[old_id] = new_id
    return final


def _owners(conn: Connection, refs: list[str]) -> dict[str, str]:
    """The stored paper each of these references belongs to."""
    owners: dict[str, str] = {}
    for chunk in in_chunks(refs):
        rows = conn.execute(sa.select(paper_ids.c.ref, paper_ids.c.paper_id).where(paper_ids.c.ref.in_(chunk)))
        owners.update((ref, paper_id) for ref, paper_id in rows)
    return owners


def _conflicting(a: Paper, b: Paper) -> bool:
    """Whether two records that share an id still name different papers: they differ in an id of which a paper
    has one (two arXiv ids, say) that ranks above the best id they share. Two papers given one DOI stay two; two
    OpenAlex works of one arXiv paper (OpenAlex holds duplicates) are one."""
    refs_a, refs_b = _by_kind(a.refs), _by_kind(b.refs)
    shared = [ID_KINDS.index(kind) for kind in refs_a.keys() & refs_b.keys() if refs_a[kind] & refs_b[kind]
              and kind in ID_KINDS]
    best_shared = min(shared, default=len(ID_KINDS))
    return any(kind in EXCLUSIVE_KINDS and ID_KINDS.index(kind) < best_shared and not refs_a[kind] & refs_b[kind]
               for kind in refs_a.keys() & refs_b.keys() if kind in ID_KINDS)


def _by_kind(refs: list[str]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for ref in refs:
        kind, value = split_ref(ref)
        kinds.setdefault(kind, set()).add(value)
    return kinds


def _paper_id(merged: Paper, joined: list[Paper]) -> str:
    """The id of a merged paper: its canonical id, else (no strong id) the id of a paper it joined."""
    canonical = canonical_id(merged.refs)
    if canonical is not None:
        return canonical
    real = [t.id for t in joined if not is_derived_id(t.id)]
    return min(real) if real else (joined[0].id if joined else merged.id)


def _write_edges(conn: Connection, edges: list[tuple[str, str]]) -> None:
    """Citation edges, each stored once."""
    if not edges:
        return
    known: set[tuple[str, str]] = set()
    for chunk in in_chunks(sorted({citing for citing, _ in edges})):
        rows = conn.execute(sa.select(citations.c.citing_ref, citations.c.cited_ref)
                            .where(citations.c.citing_ref.in_(chunk)))
        known.update((citing, cited) for citing, cited in rows)
    new = [{"citing_ref": citing, "cited_ref": cited} for citing, cited in edges
           if (citing, cited) not in known and citing != cited]
    if new:
        conn.execute(citations.insert(), new)


def _repoint_references(conn: Connection, moves: dict[str, str]) -> None:
    """Move users' rows (library, tags, votes, collections, notes, comments) from absorbed paper ids to their new
    ids; where the user has a row on the new id already, it stays (a note gets the absorbed note appended).
    Comments keep their ids (replies point at them) and are moved in place."""
    for absorbed_id, new_id in moves.items():
        conn.execute(comments.update().where(comments.c.paper_id == absorbed_id).values(paper_id=new_id))
    for table, column_name in PAPER_REFERENCES:
        column = table.c[column_name]
        rows = conn.execute(sa.select(table).where(column.in_(list(moves)))).mappings().all()
        if not rows:
            continue
        conn.execute(table.delete().where(column.in_(list(moves))))
        key_columns = [c.name for c in table.primary_key.columns]
        moved = {tuple(moves.get(r[k], r[k]) if k == column_name else r[k] for k in key_columns):
                 {**r, column_name: moves[r[column_name]]} for r in rows}
        existing = conn.execute(sa.select(*[table.c[k] for k in key_columns])
                                .where(column.in_(list(set(moves.values()))))).all()
        for key in existing:
            absorbed = moved.pop(tuple(key), None)
            if table is notes and absorbed is not None:
                _append_note(conn, absorbed)
        if moved:
            conn.execute(table.insert(), list(moved.values()))


def _append_note(conn: Connection, absorbed: dict[str, Any]) -> None:
    """A user's note on an absorbed record, added below their note on the record that absorbs it: a private
    note is the user's own writing and is never dropped."""
    where = sa.and_(notes.c.user_id == absorbed["user_id"], notes.c.paper_id == absorbed["paper_id"])
    kept = conn.execute(sa.select(notes.c.body).where(where)).scalar_one()
    if absorbed["body"].strip() not in kept:
        conn.execute(notes.update().where(where).values(
            body=f"{kept.rstrip()}\n\n{absorbed['body']}", updated_at=utc_now()))


def _row(paper: Paper, **timestamps: dt.datetime) -> dict[str, Any]:
    """The `papers` row of a paper, with its derived keys and the given times."""
    row = dict(zip(PAPER_FIELDS, _paper_values(paper), strict=True))
    row["primary_category"] = paper.primary_category
    row["title_key"] = paper.title_key
    row["first_author_key"] = paper.first_author_key
    row["content_hash"] = paper.content_hash
    row.update(timestamps)
    return row


def _lock_holder_time(conn: Connection) -> dt.datetime:
    """The modification time of a merge, taken while it holds the write lock: on PostgreSQL from the
    server's clock, so that writers on several machines with skewed clocks still stamp in commit order."""
    if conn.dialect.name == "postgresql":
        return as_utc(conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one())
    return utc_now()
