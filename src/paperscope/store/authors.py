"""Authors that sources name by an id (ORCID, OpenAlex, Semantic Scholar): one record per person, found by any
of their ids, placed in the author lists of their papers.

`write_author_rows` runs inside the merge's transaction (store/merge.py); `AuthorStore` reads, and shares the
engine of a `SQLStore` (`store.authors`). Authors known only by name have no record: the author filter and
follows match their names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.ids import title_key
from paperscope.models import Paper
from paperscope.store.db import in_chunks
from paperscope.store.moderation import HIDDEN_PAPER_IDS
from paperscope.store.papers import paper_from_row
from paperscope.store.schema import author_ids, authors, paper_authors, papers

MAX_NAMES = 20  # spellings kept per author


@dataclass(frozen=True, slots=True)
class Author:
    id: int
    name: str
    names: list[str]  # every spelling seen
    ids: list[str]  # references "kind:value" (ids.author_ref)
    papers: int  # papers stored here


def write_author_rows(conn: Connection, placed: Sequence[tuple[str, Paper]]) -> None:
    """Record the authors with ids of each (paper id, record) pair: find each author by any of their ids (or
    create them), join records that turn out to be one person (an ORCID given beside two source ids), and
    place them in the paper's author list.

    The batch is resolved in memory first (`_AuthorResolution`) and written with a few statements per batch
    rather than several per author: the stored authors of every id named, the new authors, their ids, names and
    places each in one statement, and one join per pair of stored records found to be one person (rare)."""
    wanted = [(paper_id, position, sorted(set(refs)), record.authors[position])
              for paper_id, record in placed for position, refs in enumerate(record.author_ids)
              if refs and position < len(record.authors)]
    if not wanted:
        return
    resolution = _AuthorResolution(conn, {ref for _, _, refs, _ in wanted for ref in refs})
    keys = [resolution.place(refs, name) for _, _, refs, name in wanted]
    final = resolution.write()
    paper_ids = sorted({paper_id for paper_id, _, _, _ in wanted})
    stored = {(row.paper_id, row.position, row.author_id) for chunk in in_chunks(paper_ids) for row in conn.execute(
        sa.select(paper_authors).where(paper_authors.c.paper_id.in_(chunk)))}
    rows = {(paper_id, position, final(key)) for (paper_id, position, _, _), key in zip(wanted, keys, strict=True)}
    new_rows = [{"paper_id": p, "position": n, "author_id": a} for p, n, a in sorted(rows - stored)]
    if new_rows:
        conn.execute(paper_authors.insert(), new_rows)


class _AuthorResolution:
    """The authors of one batch, resolved in memory: a key per person, ("stored", id) or ("new", n), joined by
    union-find when one record's ids name several; `write` then stores what changed."""

    def __init__(self, conn: Connection, refs: set[str]) -> None:
        self.conn = conn
        self.owner: dict[str, tuple[str, int]] = {
            row.ref: ("stored", int(row.author_id)) for chunk in in_chunks(sorted(refs))
            for row in conn.execute(sa.select(author_ids).where(author_ids.c.ref.in_(chunk)))}
        self.known_refs = set(self.owner)
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}
        self.names: dict[tuple[str, int], list[str]] = {}  # names seen in this batch, first seen first
        self.new_count = 0

    def _root(self, key: tuple[str, int]) -> tuple[str, int]:
        while self.parent.get(key, key) != key:
            key = self.parent[key]
        return key

    def place(self, refs: list[str], name: str) -> tuple[str, int]:
        """The key of the person known by any of `refs`, created or joined as needed; `name` among their names."""
        found = sorted({self._root(self.owner[ref]) for ref in refs if ref in self.owner}, key=_oldest_first)
        if not found:
            key = ("new", self.new_count)
            self.new_count += 1
        else:  # the oldest record keeps everything, as `_join_authors` does
            key = found[0]
            for other in found[1:]:
                self.parent[other] = key
                self.names.setdefault(key, []).extend(self.names.pop(other, []))
        for ref in refs:
            self.owner.setdefault(ref, key)
        self.names.setdefault(key, []).append(name)
        return key

    def write(self) -> Callable[[tuple[str, int]], int]:
        """Store the joins, new authors, names and ids; returns the stored id of each key."""
        conn = self.conn
        ids: dict[tuple[str, int], int] = {}
        stored_groups: dict[tuple[str, int], list[int]] = {}
        for key in self.parent:
            root = self._root(key)
            if key[0] == "stored" and root[0] == "stored":
                stored_groups.setdefault(root, []).append(key[1])
        for root, others in stored_groups.items():
            _join_authors(conn, root[1], sorted(others))
        new_roots = sorted({root for n in range(self.new_count) if (root := self._root(("new", n)))[0] == "new"},
                           key=lambda key: key[1])
        if new_roots:
            rows = []
            for root in new_roots:
                names = _distinct(self.names[root])
                rows.append({"name": names[0], "names": names[:MAX_NAMES], "name_key": title_key(names[0])})
            inserted = conn.execute(authors.insert().returning(authors.c.id, sort_by_parameter_order=True), rows)
            ids.update(zip(new_roots, (int(row[0]) for row in inserted), strict=True))
        stored_roots = [key for key in self.names if key[0] == "stored" and self._root(key) == key]
        for chunk in in_chunks([key[1] for key in stored_roots]):
            updates = []
            stored = conn.execute(sa.select(authors.c.id, authors.c.names).where(authors.c.id.in_(chunk)))
            for author_id, names in stored:
                merged = list(names)
                for name in self.names[("stored", author_id)]:
                    if name not in merged and len(merged) < MAX_NAMES:
                        merged.append(name)
                if merged != names:
                    updates.append({"key": author_id, "names": merged})
            if updates:
                conn.execute(authors.update().where(authors.c.id == sa.bindparam("key"))
                             .values(names=sa.bindparam("names", type_=authors.c.names.type)), updates)

        def final(key: tuple[str, int]) -> int:
            root = self._root(key)
            return root[1] if root[0] == "stored" else ids[root]

        new_refs = [{"ref": ref, "author_id": final(key)} for ref, key in self.owner.items()
                    if ref not in self.known_refs]
        if new_refs:
            conn.execute(author_ids.insert(), new_refs)
        return final


def _oldest_first(key: tuple[str, int]) -> tuple[int, int]:
    """Stored records before new ones, each in the order made."""
    return (0 if key[0] == "stored" else 1, key[1])


def _distinct(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _join_authors(conn: Connection, keep: int, others: list[int]) -> None:
    conn.execute(author_ids.update().where(author_ids.c.author_id.in_(others)).values(author_id=keep))
    placed = conn.execute(sa.select(paper_authors).where(paper_authors.c.author_id.in_(others))).mappings().all()
    conn.execute(paper_authors.delete().where(paper_authors.c.author_id.in_(others)))
    for row in {(r["paper_id"], r["position"]) for r in placed}:
        exists = conn.execute(sa.select(paper_authors.c.author_id).where(
            paper_authors.c.paper_id == row[0], paper_authors.c.position == row[1],
            paper_authors.c.author_id == keep)).first()
        if exists is None:
            conn.execute(paper_authors.insert().values(paper_id=row[0], position=row[1], author_id=keep))
    for (names,) in conn.execute(sa.select(authors.c.names).where(authors.c.id.in_(others))):
        for name in names:
            _add_name(conn, keep, name)
    conn.execute(authors.delete().where(authors.c.id.in_(others)))


def _add_name(conn: Connection, author_id: int, name: str) -> None:
    names = conn.execute(sa.select(authors.c.names).where(authors.c.id == author_id)).scalar_one()
    if name not in names and len(names) < MAX_NAMES:
        conn.execute(authors.update().where(authors.c.id == author_id).values(names=[*names, name]))


class AuthorStore:
    """Reading author records. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_author(self, author_id: int | str) -> Author | None:
        """The author with this record id, or known by this reference ("orcid:0000-...")."""
        with self.engine.connect() as conn:
            if isinstance(author_id, str):
                found = conn.execute(sa.select(author_ids.c.author_id).where(author_ids.c.ref == author_id)).scalar()
                if found is None:
                    return None
                author_id = int(found)
            authors_found = _authors(conn, [author_id])
        return authors_found[0] if authors_found else None

    def find_authors(self, name: str, *, limit: int = 20) -> list[Author]:
        """Authors whose name (any spelling) has the words of `name` in it, those with most papers first."""
        words = title_key(name).split()
        if not words:
            return []
        condition = sa.and_(*[authors.c.name_key.contains(word, autoescape=True) for word in words])
        with self.engine.connect() as conn:
            counted = (sa.select(authors.c.id).where(condition)
                       .outerjoin(paper_authors, paper_authors.c.author_id == authors.c.id)
                       .group_by(authors.c.id).order_by(sa.func.count(paper_authors.c.paper_id).desc(), authors.c.id)
                       .limit(limit))
            return _authors(conn, [row.id for row in conn.execute(counted)])

    def papers_of(self, author_id: int, *, limit: int = 50, offset: int = 0) -> tuple[list[Paper], int]:
        """A page of the author's papers stored here (hidden ones left out), newest first, and how many there are."""
        theirs = sa.select(paper_authors.c.paper_id).where(paper_authors.c.author_id == author_id)
        order = [papers.c.published.desc().nulls_last(), papers.c.id]
        shown = sa.and_(papers.c.id.in_(theirs), papers.c.id.not_in(HIDDEN_PAPER_IDS))
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(papers).where(shown))
            rows = conn.execute(sa.select(papers).where(shown).order_by(*order)
                                .limit(limit).offset(offset)).mappings()
            return [paper_from_row(row) for row in rows], int(total.scalar_one())

    def paper_ids_of(self, author_ids_: Iterable[int]) -> set[str]:
        """The ids of every stored paper of these authors."""
        wanted = list(author_ids_)
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in in_chunks(wanted):
                found.update(row.paper_id for row in conn.execute(
                    sa.select(paper_authors.c.paper_id).where(paper_authors.c.author_id.in_(chunk))))
        return found

    def authors_of(self, paper_id: str) -> dict[int, Author]:
        """The author records of a paper, by position in its author list."""
        with self.engine.connect() as conn:
            placed = conn.execute(sa.select(paper_authors.c.position, paper_authors.c.author_id)
                                  .where(paper_authors.c.paper_id == paper_id)
                                  .order_by(paper_authors.c.position, paper_authors.c.author_id)).all()
            by_id = {a.id: a for a in _authors(conn, sorted({author for _, author in placed}))}
        positions: dict[int, Author] = {}
        for position, author in placed:
            positions.setdefault(position, by_id[author])
        return positions


def _authors(conn: Connection, ids: list[int]) -> list[Author]:
    """Author records by id, in the order given."""
    if not ids:
        return []
    rows = {row["id"]: row for row in conn.execute(sa.select(authors).where(authors.c.id.in_(ids))).mappings()}
    refs: dict[int, list[str]] = {}
    for row in conn.execute(sa.select(author_ids).where(author_ids.c.author_id.in_(ids)).order_by(author_ids.c.ref)):
        refs.setdefault(row.author_id, []).append(row.ref)
    papers_counted = sa.func.count(sa.distinct(paper_authors.c.paper_id))
    counts: dict[int, int] = {row[0]: row[1] for row in conn.execute(
        sa.select(paper_authors.c.author_id, papers_counted)
        .where(paper_authors.c.author_id.in_(ids)).group_by(paper_authors.c.author_id))}
    return [_author(rows[i], refs.get(i, []), counts.get(i, 0)) for i in ids if i in rows]


def _author(row: Any, refs: list[str], count: int) -> Author:
    return Author(id=row["id"], name=row["name"], names=list(row["names"]), ids=refs, papers=int(count))
