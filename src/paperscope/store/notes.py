"""Private notes on papers, and the reading state of the papers in a user's library.

One Markdown note per (user, paper), read and written only for its author: every method takes the user's id and
touches that user's rows alone. Searching notes is a case-insensitive LIKE over the user's own notes, which at
the scale of one person's notes (hundreds, each at most `limits.NOTE` long) answers in milliseconds without an
index of its own (docs/decisions/0095-notes-search-by-like.md).

The reading state ("to-read", "reading", "read") is a column of the user's library row: setting it saves the
paper to the library (un-hiding it) as a tag does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.errors import InputError
from paperscope.limits import NOTE, NOTES_QUERY
from paperscope.store.db import as_utc, in_chunks, upsert, utc_now, write_transaction
from paperscope.store.schema import library, notes, papers

ReadingState = Literal["to-read", "reading", "read"]
READING_STATES: tuple[ReadingState, ...] = get_args(ReadingState)
NOTES_FOUND = 200  # the most notes one search answers


@dataclass(frozen=True, slots=True)
class Note:
    user_id: int
    paper_id: str
    body: str  # Markdown with math, as written
    created_at: dt.datetime
    updated_at: dt.datetime


def check_reading_state(value: str) -> ReadingState:
    """`value` as a reading state; InputError naming the field and the states otherwise."""
    for state in READING_STATES:
        if value == state:
            return state
    raise InputError(f"The reading state (reading) must be one of {', '.join(READING_STATES)}, not {value[:40]!r}.")


class NoteStore:
    """Database I/O for notes and reading states. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Notes ------------------------------------------------------------------------------------

    def get_note(self, user_id: int, paper_id: str) -> Note | None:
        """The user's note on the paper, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(notes).where(notes.c.user_id == user_id, notes.c.paper_id == paper_id)
                               ).mappings().first()
        return _note(row) if row else None

    def set_note(self, user_id: int, paper_id: str, body: str) -> Note:
        """Write (or replace) the user's note on a stored paper; InputError naming the field when the text is
        beyond `limits.NOTE`, or when there is no such paper."""
        NOTE.check(body)
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
                raise InputError(f"Unknown paper id: {paper_id[:100]}. Check the id (arXiv ids without a version, "
                                 "e.g. 2503.11731).")
            now = utc_now()
            created = conn.execute(sa.select(notes.c.created_at).where(
                notes.c.user_id == user_id, notes.c.paper_id == paper_id)).scalar()
            conn.execute(upsert(conn, notes).values(user_id=user_id, paper_id=paper_id, body=body,
                                                     created_at=created or now, updated_at=now))
        note = self.get_note(user_id, paper_id)
        assert note is not None
        return note

    def delete_note(self, user_id: int, paper_id: str) -> bool:
        """Delete the user's note on the paper; whether there was one."""
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(notes.delete().where(notes.c.user_id == user_id,
                                                          notes.c.paper_id == paper_id)).rowcount)

    def notes_of(self, user_id: int, paper_ids: Iterable[str]) -> dict[str, str]:
        """The user's note text on each of these papers that has one."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in in_chunks(list(dict.fromkeys(paper_ids))):
                found.update(conn.execute(sa.select(notes.c.paper_id, notes.c.body).where(
                    notes.c.user_id == user_id, notes.c.paper_id.in_(chunk))).all())
        return found

    def search_notes(self, user_id: int, query: str, *, limit: int = NOTES_FOUND) -> list[Note]:
        """The user's notes that contain `query` (case-insensitive, as written: `%` and `_` are no wildcards),
        most recently edited first; every note of the user's when the query is blank."""
        NOTES_QUERY.check(query)
        condition = notes.c.user_id == user_id
        words = query.split()
        for word in words:
            escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            condition = sa.and_(condition, sa.func.lower(notes.c.body).like(f"%{escaped}%", escape="\\"))
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(notes).where(condition)
                                .order_by(notes.c.updated_at.desc(), notes.c.paper_id).limit(limit)).mappings().all()
        return [_note(row) for row in rows]

    # Reading state ----------------------------------------------------------------------------

    def set_reading_state(self, user_id: int, paper_id: str, state: str) -> ReadingState:
        """Set how far the user got with a paper, saving it to their library (un-hiding it) when it is not
        there; InputError for an unknown state or paper."""
        checked = check_reading_state(state)
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
                raise InputError(f"Unknown paper id: {paper_id[:100]}. Check the id (arXiv ids without a version, "
                                 "e.g. 2503.11731).")
            where = sa.and_(library.c.user_id == user_id, library.c.paper_id == paper_id)
            current = conn.execute(sa.select(library.c.state).where(where)).scalar()
            if current == "saved":
                conn.execute(library.update().where(where).values(reading=checked))
            else:
                conn.execute(library.delete().where(where))
                conn.execute(library.insert().values(user_id=user_id, paper_id=paper_id, state="saved",
                                                     reading=checked, created_at=utc_now()))
        return checked

    def reading_states(self, user_id: int, paper_ids: Iterable[str] | None = None) -> dict[str, ReadingState]:
        """The reading state of each saved paper of the user's (of these papers only, when given)."""
        query = sa.select(library.c.paper_id, library.c.reading).where(library.c.user_id == user_id,
                                                                      library.c.state == "saved")
        with self.engine.connect() as conn:
            if paper_ids is None:
                rows = [tuple(row) for row in conn.execute(query)]
            else:
                rows = [row for chunk in in_chunks(list(dict.fromkeys(paper_ids)))
                        for row in conn.execute(query.where(library.c.paper_id.in_(chunk)))]
        return {paper_id: check_reading_state(state) for paper_id, state in rows}

    def library_by_reading(self, user_id: int, state: str) -> list[str]:
        """Ids of the user's saved papers in this reading state, newest saved first."""
        checked = check_reading_state(state)
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(library.c.paper_id).where(
                library.c.user_id == user_id, library.c.state == "saved", library.c.reading == checked)
                .order_by(library.c.created_at.desc(), library.c.paper_id)).scalars())


def _note(row: sa.RowMapping) -> Note:
    return Note(user_id=row["user_id"], paper_id=row["paper_id"], body=row["body"],
                created_at=as_utc(row["created_at"]), updated_at=as_utc(row["updated_at"]))
