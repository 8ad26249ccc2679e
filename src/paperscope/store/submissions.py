"""Papers users submitted by id (arXiv, DOI, PubMed, OpenReview), with what became of each submission.

`SubmissionStore` shares the engine of a `SQLStore` (`store.submissions`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.store.db import as_utc, inserted_id, utc_now, write_transaction
from paperscope.store.schema import submissions


@dataclass(frozen=True, slots=True)
class Submission:
    id: int
    user_id: int
    arxiv_id: str
    paper_id: str | None
    status: str
    message: str
    created_at: dt.datetime


class SubmissionStore:
    """Database I/O of submissions. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, user_id: int, arxiv_id: str, *, paper_id: str | None, status: str, message: str) -> Submission:
        """Record a submission and its outcome (`status`, `message`)."""
        with write_transaction(self.engine) as conn:
            submission_id = inserted_id(conn.execute(submissions.insert().values(
                user_id=user_id, arxiv_id=arxiv_id, paper_id=paper_id, status=status, message=message,
                created_at=utc_now())))
            row = conn.execute(sa.select(submissions).where(submissions.c.id == submission_id)).mappings().one()
        return _submission_from_row(row)

    def by_user(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[Submission]:
        """The user's submissions, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(submissions).where(submissions.c.user_id == user_id)
                                .order_by(submissions.c.created_at.desc(), submissions.c.id.desc())
                                .limit(limit).offset(offset)).mappings()
            return [_submission_from_row(row) for row in rows]


def _submission_from_row(row: Any) -> Submission:
    return Submission(id=row["id"], user_id=row["user_id"], arxiv_id=row["arxiv_id"], paper_id=row["paper_id"],
                      status=row["status"], message=row["message"], created_at=as_utc(row["created_at"]))
