"""Comments written straight into the `comments` table: the comment routes are not these tests' subject, the
notifications, counts and orders that comments cause are."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from paperscope.store import Store
from paperscope.store.schema import comments


def add_comment(store: Store, paper_id: str, user_id: int | None, body: str, *, parent_id: int | None = None,
                at: dt.datetime | None = None, deleted: bool = False, hidden: bool = False) -> int:
    """Store one comment as the comment routes would (a deleted one with its body emptied); its id."""
    when = at or dt.datetime.now(dt.UTC)
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        result = conn.execute(comments.insert().values(
            paper_id=paper_id, user_id=user_id, parent_id=parent_id, body="" if deleted else body, created_at=when,
            deleted_at=when if deleted else None, hidden_at=when if hidden else None))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def set_comment(store: Store, comment_id: int, **values: object) -> None:
    """Change a stored comment's columns (delete or hide it after the fact)."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(comments.update().where(comments.c.id == comment_id).values(**values))
