"""What the web app keeps beyond accounts: sessions, API tokens, sign-in throttling, submissions, and the
paper listings its pages need (newest papers, trending candidates).

`WebStore` shares the engine of a `SQLStore` (`store.web`). Secrets (session and API tokens) are never
stored: only their SHA-256, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.errors import InputError
from paperscope.models import Paper
from paperscope.store.accounts import User, _user_from_row
from paperscope.store.base import PaperFilter
from paperscope.store.schema import (
    api_tokens,
    papers,
    sign_in_failures,
    submissions,
    topic_assignments,
    topics,
    users,
    votes,
    web_sessions,
)
from paperscope.store.sql import _paper_from_row, paper_filter_condition, paper_filter_ids
from paperscope.store.transactions import write_transaction

TOKEN_PREFIX = "ps_"
# A token's last use is written at most this often, so a busy script does not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Submission:
    id: int
    user_id: int
    arxiv_id: str
    paper_id: str | None
    status: str
    message: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TrendingCandidate:
    """A paper in a trending window: its id, upvotes from its source (HF), local votes and its date."""

    id: str
    upvotes: int
    votes: int
    date: dt.date


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class WebStore:
    """Database I/O of the web app. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Sessions ---------------------------------------------------------------------------------

    def create_session(self, user_id: int, lifetime: dt.timedelta) -> str:
        """A new session for the user; returns its secret token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with write_transaction(self.engine) as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
            conn.execute(web_sessions.insert().values(token_hash=hash_secret(token), user_id=user_id,
                                                      created_at=now, expires_at=now + lifetime))
        return token

    def session_user(self, token: str) -> User | None:
        """The user of a live session, or None for an unknown or expired token."""
        query = (sa.select(users).select_from(users.join(web_sessions, web_sessions.c.user_id == users.c.id))
                 .where(web_sessions.c.token_hash == hash_secret(token), web_sessions.c.expires_at > _now()))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _user_from_row(row) if row else None

    def end_session(self, token: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == hash_secret(token)))

    def end_all_sessions(self, user_id: int) -> None:
        """Sign the user out everywhere (after a password change)."""
        with write_transaction(self.engine) as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))

    # API tokens -------------------------------------------------------------------------------

    def create_api_token(self, user_id: int, name: str) -> tuple[ApiToken, str]:
        """A new API token; returns it with its secret, which is shown once and never stored."""
        cleaned = name.strip()
        if not cleaned or len(cleaned) > 100:
            raise InputError("A token name is 1 to 100 characters, e.g. 'laptop script'.")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            result = conn.execute(api_tokens.insert().values(
                user_id=user_id, name=cleaned, token_hash=hash_secret(secret), prefix=secret[:10],
                created_at=_now()))
            key = result.inserted_primary_key
            assert key is not None
            row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == key[0])).mappings().one()
        return _token_from_row(row), secret

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(api_tokens).where(api_tokens.c.user_id == user_id)
                                .order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc())).mappings()
            return [_token_from_row(row) for row in rows]

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        """Delete one of the user's tokens; False when the user has no such token."""
        with write_transaction(self.engine) as conn:
            deleted = conn.execute(api_tokens.delete().where(api_tokens.c.id == token_id,
                                                             api_tokens.c.user_id == user_id)).rowcount
        return bool(deleted)

    def token_user(self, secret: str) -> User | None:
        """The owner of an API token, or None; notes when the token was last used."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        digest = hash_secret(secret)
        query = (sa.select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
                 .select_from(users.join(api_tokens, api_tokens.c.user_id == users.c.id))
                 .where(api_tokens.c.token_hash == digest))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        now = _now()
        last = row["last_used_at"]
        if last is None or _aware(last) < now - LAST_USED_RESOLUTION:
            with write_transaction(self.engine) as conn:
                conn.execute(api_tokens.update().where(api_tokens.c.id == row["token_id"])
                             .values(last_used_at=now))
        return _user_from_row(row)

    # Sign-in throttling -----------------------------------------------------------------------

    def record_sign_in_failure(self, *keys: str) -> None:
        now = _now()
        with write_transaction(self.engine) as conn:
            conn.execute(sign_in_failures.insert(), [{"key": key[:400], "failed_at": now} for key in keys])

    def recent_sign_in_failures(self, key: str, window: dt.timedelta) -> tuple[int, dt.datetime | None]:
        """How many sign-ins failed for `key` within the window, and when the oldest of them was."""
        since = _now() - window
        with write_transaction(self.engine) as conn:
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.failed_at < since))
            count, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(sign_in_failures.c.failed_at))
                .where(sign_in_failures.c.key == key[:400], sign_in_failures.c.failed_at >= since)).one()
        return int(count), _aware(oldest) if oldest is not None else None

    def clear_sign_in_failures(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.key == key[:400]))

    # Submissions ------------------------------------------------------------------------------

    def add_submission(self, user_id: int, arxiv_id: str, *, paper_id: str | None, status: str,
                       message: str) -> Submission:
        with write_transaction(self.engine) as conn:
            result = conn.execute(submissions.insert().values(
                user_id=user_id, arxiv_id=arxiv_id, paper_id=paper_id, status=status, message=message,
                created_at=_now()))
            key = result.inserted_primary_key
            assert key is not None
            row = conn.execute(sa.select(submissions).where(submissions.c.id == key[0])).mappings().one()
        return _submission_from_row(row)

    def submissions(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[Submission]:
        """The user's submissions, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(submissions).where(submissions.c.user_id == user_id)
                                .order_by(submissions.c.created_at.desc(), submissions.c.id.desc())
                                .limit(limit).offset(offset)).mappings()
            return [_submission_from_row(row) for row in rows]

    # Paper listings ---------------------------------------------------------------------------

    def list_papers(self, filters: PaperFilter | None = None, *, limit: int = 20, offset: int = 0
                    ) -> tuple[list[Paper], int]:
        """Papers newest first (by publication date, then by when they were added), and how many match."""
        filters = filters or PaperFilter()
        with self.engine.connect() as conn:
            matching = paper_filter_ids(filters).subquery()
            total = int(conn.execute(sa.select(sa.func.count()).select_from(matching)).scalar_one())
            per_paper = checks_each_paper(conn, filters, total, offset + limit)
            query = listing_query(filters, limit=limit, offset=offset, per_paper=per_paper)
            rows = conn.execute(query).mappings().all()
        return [_paper_from_row(row) for row in rows], total

    def trending_candidates(self, first: dt.date, last: dt.date) -> list[TrendingCandidate]:
        """Papers dated within [first, last], with upvotes and local votes.

        A paper's date is its publication date, or for papers without one (daily listings carry none)
        the day it was added to this database.
        """
        start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        vote_counts = (sa.select(votes.c.paper_id, sa.func.count().label("n"))
                       .group_by(votes.c.paper_id).subquery())
        query = (sa.select(papers.c.id, papers.c.upvotes, papers.c.published, papers.c.added_at, vote_counts.c.n)
                 .select_from(papers.outerjoin(vote_counts, vote_counts.c.paper_id == papers.c.id))
                 .where(sa.or_(papers.c.published.between(first, last),
                               sa.and_(papers.c.published.is_(None), papers.c.added_at >= start,
                                       papers.c.added_at < end))))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [TrendingCandidate(id=pid, upvotes=int(up or 0), votes=int(n or 0),
                                  date=published or _aware(added).date())
                for pid, up, published, added, n in rows]

    def topic_labels(self, paper_ids: list[str]) -> dict[str, tuple[int, str]]:
        """(topic id, label) of each of these papers that has a topic in the current map."""
        if not paper_ids:
            return {}
        query = (sa.select(topic_assignments.c.paper_id, topics.c.id, topics.c.label)
                 .select_from(topic_assignments.join(topics, topics.c.id == topic_assignments.c.topic_id))
                 .where(topic_assignments.c.paper_id.in_(paper_ids)))
        with self.engine.connect() as conn:
            return {pid: (int(tid), label) for pid, tid, label in conn.execute(query).all()}

    def latest_paper_date(self) -> dt.date | None:
        """The newest paper date (publication, else day added), or None for an empty database."""
        with self.engine.connect() as conn:
            published, added, undated = conn.execute(sa.select(
                sa.func.max(papers.c.published),
                sa.func.max(papers.c.added_at),
                sa.func.count().filter(papers.c.published.is_(None)))).one()
        dates = [published] if published else []
        if added is not None and undated:
            dates.append(_aware(added).date())
        return max(dates) if dates else None


def listing_query(filters: PaperFilter | None, *, limit: int, offset: int = 0,
                  per_paper: bool = False) -> sa.Select[Any]:
    """One page of the listing: newest first, undated papers last, in the order of `ix_papers_listing`.
    `per_paper`: check the category and author filters on each paper while reading that index (`walk_pays`)."""
    order = [papers.c.published.desc().nulls_last(), papers.c.added_at.desc(), papers.c.id]
    condition = paper_filter_condition(filters or PaperFilter(), per_paper=per_paper)
    return sa.select(papers).where(condition).order_by(*order).limit(limit).offset(offset)


def checks_each_paper(conn: sa.Connection, filters: PaperFilter, matches: int, rows: int) -> bool:
    """Whether a listing page of `rows` (offset + limit) checks the category and author filters on each paper
    along the listing index (else their `matches` are collected first, then sorted). PostgreSQL is given the
    per-paper form and chooses between the two plans from its statistics; SQLite cannot, so `walk_pays`
    decides, from an upper bound of the number of papers (the largest rowid: no count of the table)."""
    if not (filters.category or filters.author):
        return False
    if conn.dialect.name != "sqlite":
        return True
    largest = conn.execute(sa.text("SELECT max(rowid) FROM papers")).scalar_one()
    return walk_pays(matches, int(largest or 0), rows)


def walk_pays(matches: int, papers_total: int, rows: int) -> bool:
    """Whether a page of `rows` (offset + limit) costs less read along the listing index, checking each paper
    (about rows * papers_total / matches checks), than collecting and sorting all `matches` papers. A check
    costs about a fifth of a sorted row on SQLite (bench/bench_listing.py); PostgreSQL plans from its statistics."""
    return rows * papers_total <= 4 * matches * matches


def _token_from_row(row: Any) -> ApiToken:
    return ApiToken(id=row["id"], user_id=row["user_id"], name=row["name"], prefix=row["prefix"],
                    created_at=_aware(row["created_at"]),
                    last_used_at=_aware(row["last_used_at"]) if row["last_used_at"] else None)


def _submission_from_row(row: Any) -> Submission:
    return Submission(id=row["id"], user_id=row["user_id"], arxiv_id=row["arxiv_id"], paper_id=row["paper_id"],
                      status=row["status"], message=row["message"], created_at=_aware(row["created_at"]))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
