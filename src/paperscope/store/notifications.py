"""Notifications of replies, mentions and followed discussions, the discussions a user follows, and the e-mail
choice that says when a user hears of them.

`NotificationStore` shares the engine of a `SQLStore` (`store.notifications`). Every read and every change
takes the user's id and touches that user's rows alone, so nobody lists or marks another's notifications.
A notification is shown (and counted, and e-mailed) only while its comment is: not deleted, not hidden by a
moderator, on a paper that is not hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.errors import InputError
from paperscope.store.db import as_utc, as_utc_or_none, in_chunks, utc_now, write_transaction
from paperscope.store.schema import comments, discussion_follows, hidden_papers, notifications, papers, users

NotificationKind = Literal["mention", "reply", "discussion"]
#: The kinds in the order they win: one notification per (user, comment), of the strongest kind that applies.
NOTIFICATION_KINDS: tuple[NotificationKind, ...] = get_args(NotificationKind)
EmailChoice = Literal["off", "digest", "immediate"]
EMAIL_CHOICES: tuple[EmailChoice, ...] = get_args(EmailChoice)
PAGE_SIZE = 50
IMMEDIATE_WITHIN = dt.timedelta(days=1)  # older notifications are no news for an "immediate" e-mail
DIGEST_AT_MOST = 50  # notifications one digest carries


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification with what a reader needs to see it: the comment, its author and its paper."""

    id: int
    user_id: int
    kind: NotificationKind
    comment_id: int
    paper_id: str
    paper_title: str
    author_handle: str | None  # None once the author's account is deleted
    author_name: str | None
    body: str  # the comment's Markdown as written
    created_at: dt.datetime
    read_at: dt.datetime | None
    emailed_at: dt.datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @property
    def who(self) -> str:
        """The comment's author as the notification names them."""
        if self.author_handle is None:
            return "A deleted account"
        return f"@{self.author_handle}" + (f" ({self.author_name})" if self.author_name else "")


@dataclass(frozen=True, slots=True)
class CommentFacts:
    """What deciding who hears of a comment needs: its paper, author, parent's author and text."""

    id: int
    paper_id: str
    author_id: int | None
    author_blocked: bool
    parent_author_id: int | None
    body: str
    visible: bool  # neither deleted nor hidden, on a paper that is not hidden


@dataclass(frozen=True, slots=True)
class EmailRecipient:
    user_id: int
    email: str


def check_email_choice(value: str) -> EmailChoice:
    """`value` as an e-mail choice; InputError naming the field and the choices otherwise."""
    for choice in EMAIL_CHOICES:
        if value == choice:
            return choice
    raise InputError(f"The e-mail choice for notifications (notify_email) must be one of {', '.join(EMAIL_CHOICES)}"
                     f", not {value[:40]!r}.")


def _shown() -> sa.ColumnElement[bool]:
    """The notifications whose comment is shown: not deleted, not hidden, not on a hidden paper."""
    hidden = sa.select(hidden_papers.c.paper_id).where(hidden_papers.c.paper_id == comments.c.paper_id)
    return sa.and_(comments.c.deleted_at.is_(None), comments.c.hidden_at.is_(None), ~hidden.exists())


_AUTHOR = users.alias("author")
_LISTED = (sa.select(notifications.c.id, notifications.c.user_id, notifications.c.kind, notifications.c.comment_id,
                     notifications.c.created_at, notifications.c.read_at, notifications.c.emailed_at,
                     comments.c.paper_id, comments.c.body, papers.c.title, _AUTHOR.c.handle, _AUTHOR.c.display_name)
           .select_from(notifications.join(comments, comments.c.id == notifications.c.comment_id)
                        .join(papers, papers.c.id == comments.c.paper_id)
                        .outerjoin(_AUTHOR, _AUTHOR.c.id == comments.c.user_id))
           .where(_shown()))


class NotificationStore:
    """Database I/O for notifications, followed discussions and the e-mail choice. Every method runs in its own
    transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Reading and marking one's own -----------------------------------------------------------

    def list_for(self, user_id: int, *, limit: int = PAGE_SIZE, offset: int = 0) -> list[Notification]:
        """The user's notifications: unread first, newest first within each."""
        unread_first = sa.case((notifications.c.read_at.is_(None), 0), else_=1)
        query = (_LISTED.where(notifications.c.user_id == user_id)
                 .order_by(unread_first, notifications.c.created_at.desc(), notifications.c.id.desc())
                 .limit(limit).offset(offset))
        with self.engine.connect() as conn:
            return [_notification(row) for row in conn.execute(query).mappings()]

    def count_for(self, user_id: int) -> int:
        """How many notifications `list_for` pages through."""
        query = sa.select(sa.func.count()).select_from(_LISTED.where(notifications.c.user_id == user_id).subquery())
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def unread_count(self, user_id: int) -> int:
        """How many of the user's notifications are unread (one query: the nav shows it on every page)."""
        query = sa.select(sa.func.count()).select_from(
            _LISTED.where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None)).subquery())
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def mark_read(self, user_id: int, ids: Iterable[int] | None = None) -> int:
        """Mark the user's unread notifications read: all of them, or those among `ids` (ids of other users'
        notifications change nothing); returns how many changed."""
        condition = sa.and_(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
        now = utc_now()
        with write_transaction(self.engine) as conn:
            if ids is None:
                return int(conn.execute(notifications.update().where(condition).values(read_at=now)).rowcount)
            changed = 0
            for chunk in in_chunks(list(dict.fromkeys(ids))):
                changed += conn.execute(notifications.update().where(condition, notifications.c.id.in_(chunk))
                                        .values(read_at=now)).rowcount
            return changed

    # Followed discussions --------------------------------------------------------------------

    def follow(self, user_id: int, paper_id: str) -> bool:
        """Follow a stored paper's discussion; whether it is new. InputError for an unknown paper."""
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
                raise InputError(f"Unknown paper id: {paper_id[:100]}. Check the id (arXiv ids without a version, "
                                 "e.g. 2503.11731).")
            if self._follows(conn, user_id, paper_id):
                return False
            conn.execute(discussion_follows.insert().values(user_id=user_id, paper_id=paper_id, created_at=utc_now()))
        return True

    def unfollow(self, user_id: int, paper_id: str) -> bool:
        """Stop following a paper's discussion; whether the user followed it."""
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(discussion_follows.delete().where(
                discussion_follows.c.user_id == user_id, discussion_follows.c.paper_id == paper_id)).rowcount)

    def is_following(self, user_id: int, paper_id: str) -> bool:
        with self.engine.connect() as conn:
            return self._follows(conn, user_id, paper_id)

    def followers(self, paper_id: str) -> list[int]:
        """Ids of the users who follow the paper's discussion, in the order they started."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(discussion_follows.c.user_id)
                                     .where(discussion_follows.c.paper_id == paper_id)
                                     .order_by(discussion_follows.c.created_at, discussion_follows.c.user_id))
                        .scalars())

    @staticmethod
    def _follows(conn: sa.Connection, user_id: int, paper_id: str) -> bool:
        return conn.execute(sa.select(discussion_follows.c.user_id).where(
            discussion_follows.c.user_id == user_id, discussion_follows.c.paper_id == paper_id)).first() is not None

    # Writing notifications (discussion/notify.py decides who) --------------------------------

    def comment_facts(self, comment_id: int) -> CommentFacts | None:
        """The comment with its author's state and its parent's author, or None when there is none."""
        parent = comments.alias("parent")
        query = (sa.select(comments.c.id, comments.c.paper_id, comments.c.user_id, comments.c.body,
                           comments.c.deleted_at, comments.c.hidden_at, _AUTHOR.c.blocked_at,
                           parent.c.user_id.label("parent_author_id"),
                           sa.select(hidden_papers.c.paper_id).where(hidden_papers.c.paper_id == comments.c.paper_id)
                           .exists().label("paper_hidden"))
                 .select_from(comments.outerjoin(_AUTHOR, _AUTHOR.c.id == comments.c.user_id)
                              .outerjoin(parent, parent.c.id == comments.c.parent_id))
                 .where(comments.c.id == comment_id))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return CommentFacts(id=row["id"], paper_id=row["paper_id"], author_id=row["user_id"],
                            author_blocked=row["blocked_at"] is not None, parent_author_id=row["parent_author_id"],
                            body=row["body"], visible=row["deleted_at"] is None and row["hidden_at"] is None
                            and not row["paper_hidden"])

    def users_with_handles(self, handles: Iterable[str]) -> dict[str, int]:
        """The ids of the users with these handles (lower case), by handle; unknown handles are left out."""
        wanted = sorted({h.lower() for h in handles})
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in in_chunks(wanted):
                found.update((handle, user_id) for handle, user_id in conn.execute(
                    sa.select(users.c.handle, users.c.id).where(users.c.handle.in_(chunk))))
        return found

    def record(self, comment_id: int, recipients: Mapping[int, NotificationKind]) -> list[int]:
        """Notify each user of the comment with their kind, once per (user, comment): users notified of it
        already are left as they are. Returns the ids of the users notified now."""
        wanted = list(recipients)
        if not wanted:
            return []
        with write_transaction(self.engine) as conn:
            existing: set[int] = set()
            for chunk in in_chunks(wanted):
                existing.update(conn.execute(sa.select(notifications.c.user_id).where(
                    notifications.c.comment_id == comment_id, notifications.c.user_id.in_(chunk))).scalars())
            new = [user_id for user_id in wanted if user_id not in existing]
            if new:
                now = utc_now()
                conn.execute(notifications.insert(), [dict(user_id=user_id, kind=recipients[user_id],
                                                           comment_id=comment_id, created_at=now) for user_id in new])
        return new

    # E-mail ----------------------------------------------------------------------------------

    def email_choice(self, user_id: int) -> EmailChoice:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(users.c.notify_email).where(users.c.id == user_id)).scalar()
        return check_email_choice(value or "digest")

    def set_email_choice(self, user_id: int, choice: str) -> EmailChoice:
        """When the user is e-mailed about notifications: "off", "digest" (in their next digest) or
        "immediate" (one e-mail each); InputError naming the field for anything else."""
        checked = check_email_choice(choice)
        with write_transaction(self.engine) as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(notify_email=checked))
        return checked

    def for_digest(self, user_id: int, *, limit: int = DIGEST_AT_MOST) -> list[Notification]:
        """The user's unread notifications that no e-mail told of yet, newest first, when the user chose to
        hear of them in the digest; [] otherwise."""
        if self.email_choice(user_id) != "digest":
            return []
        query = (_LISTED.where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None),
                               notifications.c.emailed_at.is_(None))
                 .order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [_notification(row) for row in conn.execute(query).mappings()]

    def for_immediate_email(self, now: dt.datetime) -> list[tuple[EmailRecipient, Notification]]:
        """Notifications of the users who chose "immediate" that no e-mail told of yet, unread and younger
        than IMMEDIATE_WITHIN, oldest first, each with its recipient."""
        query = (_LISTED.add_columns(users.c.email.label("recipient"))
                 .join(users, users.c.id == notifications.c.user_id)
                 .where(users.c.notify_email == "immediate", notifications.c.read_at.is_(None),
                        notifications.c.emailed_at.is_(None), notifications.c.created_at >= now - IMMEDIATE_WITHIN)
                 .order_by(notifications.c.created_at, notifications.c.id))
        with self.engine.connect() as conn:
            return [(EmailRecipient(row["user_id"], row["recipient"]), _notification(row))
                    for row in conn.execute(query).mappings()]


def _notification(row: sa.RowMapping) -> Notification:
    return Notification(id=row["id"], user_id=row["user_id"], kind=row["kind"], comment_id=row["comment_id"],
                        paper_id=row["paper_id"], paper_title=row["title"], author_handle=row["handle"],
                        author_name=row["display_name"], body=row["body"], created_at=as_utc(row["created_at"]),
                        read_at=as_utc_or_none(row["read_at"]), emailed_at=as_utc_or_none(row["emailed_at"]))
