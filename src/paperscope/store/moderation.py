"""Moderation: comments hidden by an admin and reported by readers, papers hidden by an admin, blocked users,
admin rights, and the log of every one of these actions.

Each action writes its row of `moderation_log` in the transaction that makes the change, so the log holds an
action exactly when the action happened. `actor_id` is the user who acted (None: the command line, whose
operator is the server's owner). What "hidden" and "blocked" mean for the rest of paperscope is
docs/decisions/0102-hidden-papers-and-blocked-users.md: a hidden paper is left out of every listing by the
store's paper-reading queries (`HIDDEN_PAPER_IDS`), a blocked user keeps reading but writes nothing others see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import InputError
from paperscope.limits import MODERATION_REASON, REPORT_REASON
from paperscope.store.accounts import User, user_from_row
from paperscope.store.db import as_utc, inserted_id, utc_now, write_transaction
from paperscope.store.schema import (
    MAX_RECORD_ID,
    comment_reports,
    comments,
    hidden_papers,
    moderation_log,
    papers,
    users,
)

TargetKind = Literal["comment", "paper", "user"]
LOG_ENTRIES = 50  # the latest entries the admin page shows
OPEN_REPORTS = 200  # the most open reports one listing answers

#: The ids of the papers an admin hid: what the paper-reading queries leave out (`papers.c.id.not_in(...)`).
HIDDEN_PAPER_IDS = sa.select(hidden_papers.c.paper_id)


@dataclass(frozen=True, slots=True)
class Report:
    """A reader's report of a comment, with the comment as it stands."""

    id: int
    comment_id: int
    paper_id: str
    reporter: str  # the reporter's handle
    reason: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    comment_body: str  # Markdown as written; "" once deleted
    comment_author: str | None  # the author's handle; None once their account is deleted
    comment_author_id: int | None
    comment_hidden: bool


@dataclass(frozen=True, slots=True)
class CommentState:
    """What moderation needs to know of a comment: where it is, whose it is, and whether it is shown."""

    id: int
    paper_id: str
    user_id: int | None
    deleted: bool
    hidden: bool
    paper_hidden: bool


@dataclass(frozen=True, slots=True)
class HiddenPaper:
    paper_id: str
    title: str
    hidden_by: str | None  # the admin's handle; None: the command line, or a deleted account
    reason: str
    hidden_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    actor: str | None  # the actor's handle; None: the command line (or a deleted account)
    action: str  # hide-comment, unhide-comment, report-comment, resolve-report, hide-paper, unhide-paper,
    # block-user, unblock-user, make-admin, revoke-admin
    target_kind: TargetKind
    target_id: str
    reason: str
    created_at: dt.datetime


def write_log(conn: Connection, actor_id: int | None, action: str, target_kind: TargetKind, target_id: int | str,
              reason: str = "") -> None:
    """Log one moderation action on the caller's connection: it commits (or rolls back) with the action."""
    conn.execute(moderation_log.insert().values(actor_id=actor_id, action=action, target_kind=target_kind,
                                                target_id=str(target_id), reason=reason, created_at=utc_now()))


class ModerationStore:
    """Database I/O for moderation. Every method runs in its own transaction; each change is logged in it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def log(self, actor_id: int | None, action: str, target_kind: TargetKind, target_id: int | str,
            reason: str = "") -> None:
        """Log an action taken elsewhere (in its own transaction)."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            write_log(conn, actor_id, action, target_kind, target_id, reason)

    # Comments ---------------------------------------------------------------------------------

    def hide_comment(self, comment_id: int, *, actor_id: int | None, reason: str = "") -> bool:
        """Hide a comment from everyone but admins, resolving its open reports; whether it was visible.
        InputError for an unknown comment."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            hidden = _comment_hidden(conn, comment_id)
            if not hidden:
                now = utc_now()
                conn.execute(comments.update().where(comments.c.id == comment_id)
                             .values(hidden_at=now, hidden_by=actor_id))
                conn.execute(comment_reports.update().where(comment_reports.c.comment_id == comment_id,
                                                            comment_reports.c.resolved_at.is_(None))
                             .values(resolved_at=now))
                write_log(conn, actor_id, "hide-comment", "comment", comment_id, reason)
        return not hidden

    def unhide_comment(self, comment_id: int, *, actor_id: int | None, reason: str = "") -> bool:
        """Show a hidden comment again; whether it was hidden. InputError for an unknown comment."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            hidden = _comment_hidden(conn, comment_id)
            if hidden:
                conn.execute(comments.update().where(comments.c.id == comment_id)
                             .values(hidden_at=None, hidden_by=None))
                write_log(conn, actor_id, "unhide-comment", "comment", comment_id, reason)
        return hidden

    def comment_visibility(self, comment_id: int) -> CommentState | None:
        """The comment's paper, author and visibility; None when there is no such comment."""
        if not _is_record_id(comment_id):
            return None
        hidden_paper = sa.exists().where(hidden_papers.c.paper_id == comments.c.paper_id)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(comments.c.paper_id, comments.c.user_id, comments.c.deleted_at,
                                         comments.c.hidden_at, hidden_paper.label("paper_hidden"))
                               .where(comments.c.id == comment_id)).first()
        if row is None:
            return None
        return CommentState(id=comment_id, paper_id=row.paper_id, user_id=row.user_id,
                            deleted=row.deleted_at is not None, hidden=row.hidden_at is not None,
                            paper_hidden=bool(row.paper_hidden))

    def report_comment(self, comment_id: int, user_id: int, reason: str) -> bool:
        """A reader reports a comment to the admins (once per reader and comment); whether this report is new.
        InputError for an unknown or deleted comment, or the reader's own."""
        REPORT_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            row = conn.execute(sa.select(comments.c.user_id, comments.c.deleted_at)
                               .where(comments.c.id == comment_id)).first() if _is_record_id(comment_id) else None
            if row is None or row.deleted_at is not None:
                raise InputError(f"There is no comment {comment_id} to report.")
            if row.user_id == user_id:
                raise InputError("You cannot report your own comment; edit or delete it instead.")
            if conn.execute(sa.select(comment_reports.c.id).where(comment_reports.c.comment_id == comment_id,
                                                                  comment_reports.c.user_id == user_id)).first():
                return False
            report_id = inserted_id(conn.execute(comment_reports.insert().values(
                comment_id=comment_id, user_id=user_id, reason=reason.strip(), created_at=utc_now())))
            write_log(conn, user_id, "report-comment", "comment", comment_id, f"report {report_id}: {reason.strip()}")
        return True

    def open_reports(self, *, limit: int = OPEN_REPORTS) -> list[Report]:
        """The reports no admin has resolved yet, oldest first."""
        return self._reports(comment_reports.c.resolved_at.is_(None), limit)

    def get_report(self, report_id: int) -> Report | None:
        found = self._reports(comment_reports.c.id == report_id, 1) if _is_record_id(report_id) else []
        return found[0] if found else None

    def resolve_report(self, report_id: int, *, actor_id: int | None, reason: str = "") -> bool:
        """Close a report without hiding its comment; whether it was open. InputError for an unknown report."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            resolved = conn.execute(sa.select(comment_reports.c.resolved_at).where(
                comment_reports.c.id == report_id)).first() if _is_record_id(report_id) else None
            if resolved is None:
                raise InputError(f"There is no report {report_id}.")
            if resolved[0] is not None:
                return False
            conn.execute(comment_reports.update().where(comment_reports.c.id == report_id)
                         .values(resolved_at=utc_now()))
            write_log(conn, actor_id, "resolve-report", "comment", _report_comment(conn, report_id), reason)
        return True

    # Papers -----------------------------------------------------------------------------------

    def hide_paper(self, paper_id: str, *, actor_id: int | None, reason: str = "") -> bool:
        """Hide a stored paper from everyone but admins; whether it was visible. InputError for an unknown
        paper."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            _require_paper(conn, paper_id)
            if self._paper_hidden(conn, paper_id):
                return False
            conn.execute(hidden_papers.insert().values(paper_id=paper_id, hidden_by=actor_id, reason=reason,
                                                       hidden_at=utc_now()))
            write_log(conn, actor_id, "hide-paper", "paper", paper_id, reason)
        return True

    def unhide_paper(self, paper_id: str, *, actor_id: int | None, reason: str = "") -> bool:
        """Show a hidden paper again; whether it was hidden."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            if not conn.execute(hidden_papers.delete().where(hidden_papers.c.paper_id == paper_id)).rowcount:
                return False
            write_log(conn, actor_id, "unhide-paper", "paper", paper_id, reason)
        return True

    def is_paper_hidden(self, paper_id: str) -> bool:
        with self.engine.connect() as conn:
            return self._paper_hidden(conn, paper_id)

    def hidden_paper(self, paper_id: str) -> HiddenPaper | None:
        """Who hid the paper, when and why; None when it is not hidden."""
        found = self._hidden_papers(hidden_papers.c.paper_id == paper_id)
        return found[0] if found else None

    def hidden_paper_ids(self) -> set[str]:
        """Every hidden paper's id (a handful: moderation is rare)."""
        with self.engine.connect() as conn:
            return set(conn.execute(HIDDEN_PAPER_IDS).scalars())

    def hidden_papers(self) -> list[HiddenPaper]:
        """The hidden papers, most recently hidden first."""
        return self._hidden_papers(sa.true())

    def _hidden_papers(self, condition: sa.ColumnElement[bool]) -> list[HiddenPaper]:
        query = (sa.select(hidden_papers, papers.c.title, users.c.handle)
                 .join(papers, papers.c.id == hidden_papers.c.paper_id)
                 .outerjoin(users, users.c.id == hidden_papers.c.hidden_by)
                 .where(condition).order_by(hidden_papers.c.hidden_at.desc(), hidden_papers.c.paper_id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [HiddenPaper(paper_id=r["paper_id"], title=r["title"], hidden_by=r["handle"], reason=r["reason"],
                            hidden_at=as_utc(r["hidden_at"])) for r in rows]

    @staticmethod
    def _paper_hidden(conn: Connection, paper_id: str) -> bool:
        return conn.execute(sa.select(hidden_papers.c.paper_id)
                            .where(hidden_papers.c.paper_id == paper_id)).first() is not None

    # Users ------------------------------------------------------------------------------------

    def block_user(self, user_id: int, *, actor_id: int | None, reason: str = "") -> bool:
        """Block a user: they keep reading, but write nothing others see; whether they were not blocked.
        InputError for an unknown user or an admin (revoke the admin rights first)."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            user = _require_user(conn, user_id)
            if user.is_admin:
                raise InputError(f"{user.email} is an admin, and admins cannot be blocked; revoke their admin "
                                 "rights first.")
            if user.blocked:
                return False
            conn.execute(users.update().where(users.c.id == user_id).values(blocked_at=utc_now()))
            write_log(conn, actor_id, "block-user", "user", user_id, reason)
        return True

    def unblock_user(self, user_id: int, *, actor_id: int | None, reason: str = "") -> bool:
        """Lift a block; whether the user was blocked. InputError for an unknown user."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            if not _require_user(conn, user_id).blocked:
                return False
            conn.execute(users.update().where(users.c.id == user_id).values(blocked_at=None))
            write_log(conn, actor_id, "unblock-user", "user", user_id, reason)
        return True

    def set_admin(self, user_id: int, admin: bool, *, actor_id: int | None, reason: str = "") -> bool:
        """Make a user an admin (lifting a block), or revoke it; whether anything changed. InputError for an
        unknown user."""
        MODERATION_REASON.check(reason)
        with write_transaction(self.engine) as conn:
            user = _require_user(conn, user_id)
            if user.is_admin == admin:
                return False
            values: dict[str, Any] = {"is_admin": admin}
            if admin and user.blocked:
                values["blocked_at"] = None
                write_log(conn, actor_id, "unblock-user", "user", user_id, "made an admin")
            conn.execute(users.update().where(users.c.id == user_id).values(**values))
            write_log(conn, actor_id, "make-admin" if admin else "revoke-admin", "user", user_id, reason)
        return True

    def blocked_users(self) -> list[User]:
        """The blocked users, most recently blocked first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).where(users.c.blocked_at.is_not(None))
                                .order_by(users.c.blocked_at.desc(), users.c.id)).mappings().all()
        return [user_from_row(row) for row in rows]

    # The log ----------------------------------------------------------------------------------

    def log_entries(self, *, limit: int = LOG_ENTRIES) -> list[LogEntry]:
        """The latest moderation actions, newest first."""
        query = (sa.select(moderation_log, users.c.handle)
                 .outerjoin(users, users.c.id == moderation_log.c.actor_id)
                 .order_by(moderation_log.c.created_at.desc(), moderation_log.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [LogEntry(id=r["id"], actor=r["handle"], action=r["action"], target_kind=r["target_kind"],
                         target_id=r["target_id"], reason=r["reason"], created_at=as_utc(r["created_at"]))
                for r in rows]

    # Helpers ----------------------------------------------------------------------------------

    def _reports(self, condition: sa.ColumnElement[bool], limit: int) -> list[Report]:
        reporter, author = users.alias("reporter"), users.alias("author")
        query = (sa.select(comment_reports, comments.c.paper_id, comments.c.body, comments.c.hidden_at,
                           reporter.c.handle.label("reporter"), author.c.handle.label("author"),
                           author.c.id.label("author_id"))
                 .join(comments, comments.c.id == comment_reports.c.comment_id)
                 .join(reporter, reporter.c.id == comment_reports.c.user_id)
                 .outerjoin(author, author.c.id == comments.c.user_id)
                 .where(condition).order_by(comment_reports.c.created_at, comment_reports.c.id).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Report(id=r["id"], comment_id=r["comment_id"], paper_id=r["paper_id"], reporter=r["reporter"] or "",
                       reason=r["reason"], created_at=as_utc(r["created_at"]),
                       resolved_at=as_utc(r["resolved_at"]) if r["resolved_at"] else None,
                       comment_body=r["body"], comment_author=r["author"], comment_author_id=r["author_id"],
                       comment_hidden=r["hidden_at"] is not None)
                for r in rows]


def _is_record_id(value: int) -> bool:
    return 0 <= value <= MAX_RECORD_ID


def _comment_hidden(conn: Connection, comment_id: int) -> bool:
    """Whether the comment is hidden; InputError when there is no such comment."""
    row = conn.execute(sa.select(comments.c.hidden_at).where(comments.c.id == comment_id)).first() \
        if _is_record_id(comment_id) else None
    if row is None:
        raise InputError(f"There is no comment {comment_id}.")
    return row[0] is not None


def _report_comment(conn: Connection, report_id: int) -> int:
    return int(conn.execute(sa.select(comment_reports.c.comment_id)
                            .where(comment_reports.c.id == report_id)).scalar_one())


def _require_paper(conn: Connection, paper_id: str) -> None:
    if conn.execute(sa.select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
        raise InputError(f"Unknown paper id: {paper_id[:100]}. Check the id (arXiv ids without a version, "
                         "e.g. 2503.11731).")


def _require_user(conn: Connection, user_id: int) -> User:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first() \
        if _is_record_id(user_id) else None
    if row is None:
        raise InputError(f"There is no user {user_id}.")
    return user_from_row(row)
