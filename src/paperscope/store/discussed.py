"""How much papers are discussed: the visible comments of each paper (what listings show), and the papers
most commented on in a trending window ("most discussed", feed/trending.py).

A comment counts while it is visible to everyone: not deleted, not hidden by a moderator. Comments on a paper
an admin hid count for nobody, as the paper is listed to nobody but admins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.store.db import as_utc, in_chunks
from paperscope.store.schema import comments, hidden_papers, papers, votes


@dataclass(frozen=True, slots=True)
class DiscussedCandidate:
    """A paper commented on in a window: how many visible comments the window holds, its upvotes from its
    source and local votes, and its date (publication, else the day it was stored)."""

    id: str
    comments: int
    upvotes: int
    votes: int
    date: dt.date


def visible_comment() -> sa.ColumnElement[bool]:
    """Comments everyone sees: neither deleted nor hidden."""
    return sa.and_(comments.c.deleted_at.is_(None), comments.c.hidden_at.is_(None))


class DiscussedStore:
    """Comment counts and most-discussed candidates, mixed into `SQLStore` (it provides `engine`)."""

    engine: Engine

    def comment_counts(self, paper_ids: Iterable[str]) -> dict[str, int]:
        """Visible comments per paper among these (papers without any are left out): one query for a page."""
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in in_chunks(list(dict.fromkeys(paper_ids))):
                counts.update((paper_id, int(n)) for paper_id, n in conn.execute(
                    sa.select(comments.c.paper_id, sa.func.count()).where(comments.c.paper_id.in_(chunk),
                                                                           visible_comment())
                    .group_by(comments.c.paper_id)))
        return counts

    def discussed_candidates(self, first: dt.date, last: dt.date) -> list[DiscussedCandidate]:
        """Papers with visible comments written within [first, last] (UTC days), with how many; papers an
        admin hid are left out."""
        start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        in_window = (sa.select(comments.c.paper_id, sa.func.count().label("n"))
                     .where(visible_comment(), comments.c.created_at >= start, comments.c.created_at < end)
                     .group_by(comments.c.paper_id).subquery())
        vote_counts = (sa.select(votes.c.paper_id, sa.func.count().label("n"))
                       .group_by(votes.c.paper_id).subquery())
        hidden = sa.select(hidden_papers.c.paper_id).where(hidden_papers.c.paper_id == papers.c.id)
        query = (sa.select(papers.c.id, in_window.c.n, papers.c.upvotes, vote_counts.c.n, papers.c.published,
                           papers.c.added_at)
                 .select_from(papers.join(in_window, in_window.c.paper_id == papers.c.id)
                              .outerjoin(vote_counts, vote_counts.c.paper_id == papers.c.id))
                 .where(~hidden.exists()))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [DiscussedCandidate(id=pid, comments=int(n), upvotes=int(up or 0), votes=int(v or 0),
                                   date=published or as_utc(added).date())
                for pid, n, up, v, published, added in rows]
