"""Comments on papers: threads of Markdown comments with replies, edited and deleted by their authors only.

A comment is stored as its author wrote it (Markdown); it is rendered on read (`discussion/render.py`). Edits set
`edited_at` (an unchanged text is no edit); deleting is soft: the text goes ("" and `deleted_at`) and the comment
stays as the parent of its replies. A deleted account leaves its comments with no author (`user_id` None: the
database's ON DELETE SET NULL), so other people's replies keep their place.

What a reader sees of a paper's thread (`thread`): a deleted comment, and (except for an admin, who sees it whole
and marked) one hidden by a moderator, is a placeholder with neither text nor author, shown only where it has
replies that are shown; a paper an admin has hidden has no discussion for anyone but admins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import InputError, NotPermitted
from paperscope.limits import COMMENT
from paperscope.store.db import as_utc, as_utc_or_none, in_chunks, inserted_id, utc_now, write_transaction
from paperscope.store.schema import comments, hidden_papers, papers, users

BLOCKED = ("Your account is blocked from posting by a moderator of this site; you can still read everything. "
           "Ask an admin if you think this is a mistake.")


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    paper_id: str
    user_id: int | None  # None: its author's account was deleted, or a placeholder hides who wrote it
    parent_id: int | None
    body: str  # Markdown as written; "" once deleted, and in a placeholder
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted_at: dt.datetime | None
    hidden_at: dt.datetime | None
    author_handle: str | None  # None when user_id is None
    author_name: str | None  # the author's display name, if they gave one

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def visible(self) -> bool:
        """Whether everyone sees its text (neither deleted nor hidden)."""
        return self.deleted_at is None and self.hidden_at is None


@dataclass(slots=True)
class ThreadNode:
    """A comment and the replies to it that the reader sees, oldest first."""

    comment: Comment
    replies: list[ThreadNode] = field(default_factory=list)


def reading_order(nodes: Iterable[ThreadNode]) -> list[tuple[int, Comment]]:
    """The comments of a thread in reading order, each with its depth (0: starts a thread): each comment, then
    its replies."""
    found: list[tuple[int, Comment]] = []
    stack = [(0, node) for node in reversed(list(nodes))]
    while stack:
        depth, node = stack.pop()
        found.append((depth, node.comment))
        stack.extend((depth + 1, reply) for reply in reversed(node.replies))
    return found


class CommentStore:
    """Database I/O for comments. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, user_id: int, paper_id: str, body: str, *, parent_id: int | None = None) -> Comment:
        """Post a comment on a stored paper, or a reply to one of its comments (`parent_id`). InputError naming
        the field for a text beyond `limits.COMMENT`, an unknown paper or parent, a parent on another paper or
        one that was deleted or hidden; NotPermitted for a blocked account."""
        COMMENT.check(body)
        with write_transaction(self.engine) as conn:
            author = conn.execute(sa.select(users.c.blocked_at, users.c.is_admin).where(users.c.id == user_id)).first()
            if author is None:
                raise InputError(f"There is no user {user_id}.")
            if author.blocked_at is not None:
                raise NotPermitted(BLOCKED)
            hidden_paper = sa.select(hidden_papers.c.paper_id).where(hidden_papers.c.paper_id == paper_id).exists()
            found = conn.execute(sa.select(papers.c.id, hidden_paper.label("hidden")).where(papers.c.id == paper_id)
                                 ).first()
            if found is None or (found.hidden and not author.is_admin):
                raise InputError(f"Unknown paper id: {paper_id[:100]}. Check the id (arXiv ids without a version, "
                                 "e.g. 2503.11731).")
            if parent_id is not None:
                _check_parent(conn, parent_id, paper_id)
            new_id = inserted_id(conn.execute(comments.insert().values(
                paper_id=paper_id, user_id=user_id, parent_id=parent_id, body=body, created_at=utc_now())))
            comment = _select(conn, comments.c.id == new_id)[0]
        return comment

    def get(self, comment_id: int, *, admin: bool = False) -> Comment | None:
        """The comment as a reader sees it on its own: None when there is none, or (unless `admin`) when it is
        hidden or on a hidden paper; a deleted one is returned deleted (no text, no author)."""
        with self.engine.connect() as conn:
            found = _select(conn, comments.c.id == comment_id)
            if not found:
                return None
            comment = found[0]
            if not admin and (comment.hidden or _paper_hidden(conn, comment.paper_id)):
                return None
        return _as_seen(comment, admin)

    def edit(self, comment_id: int, user_id: int, body: str) -> Comment | None:
        """Replace the text of the user's own comment, marking it edited (unless the text is the same); None when
        there is no such comment. NotPermitted for another user's comment, a hidden one or a blocked account;
        InputError for a deleted one or a text beyond `limits.COMMENT`."""
        COMMENT.check(body)
        with write_transaction(self.engine) as conn:
            found = _select(conn, comments.c.id == comment_id)
            if not found:
                return None
            comment = _own(conn, found[0], user_id, "edit")
            if comment.deleted:
                raise InputError(f"Comment {comment_id} was deleted; it cannot be edited. Post a new comment instead.")
            if comment.hidden:
                raise NotPermitted(f"Comment {comment_id} was hidden by a moderator; it cannot be edited.")
            if comment.body != body:
                conn.execute(comments.update().where(comments.c.id == comment_id).values(body=body,
                                                                                         edited_at=utc_now()))
            return _select(conn, comments.c.id == comment_id)[0]

    def delete(self, comment_id: int, user_id: int) -> Comment | None:
        """Delete the user's own comment: its text goes, and it stays as the parent of its replies. None when
        there is no such comment; NotPermitted for another user's. Deleting a deleted comment changes nothing."""
        with write_transaction(self.engine) as conn:
            found = _select(conn, comments.c.id == comment_id)
            if not found:
                return None
            comment = _own(conn, found[0], user_id, "delete", blocked_may=True)
            if not comment.deleted:
                conn.execute(comments.update().where(comments.c.id == comment_id).values(body="",
                                                                                         deleted_at=utc_now()))
            return _as_seen(_select(conn, comments.c.id == comment_id)[0], admin=False)

    def thread(self, paper_id: str, *, admin: bool = False) -> list[ThreadNode]:
        """The discussion of a paper as this reader sees it (see the module's docstring): its comments that start
        a thread, oldest first, each with its replies."""
        with self.engine.connect() as conn:
            if not admin and _paper_hidden(conn, paper_id):
                return []
            rows = _select(conn, comments.c.paper_id == paper_id)
        rows = _shown(rows, admin)
        nodes = {c.id: ThreadNode(c) for c in rows}
        roots: list[ThreadNode] = []
        for comment in rows:  # oldest first, so replies come in order too
            parent = nodes.get(comment.parent_id) if comment.parent_id is not None else None
            (parent.replies if parent is not None else roots).append(nodes[comment.id])
        return roots

    def count_by_author(self, user_id: int) -> int:
        """How many comments (deleted ones not counted) the user wrote."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(comments).where(
                comments.c.user_id == user_id, comments.c.deleted_at.is_(None))).scalar_one())

    def existing_handles(self, handles: Iterable[str]) -> set[str]:
        """Those of these handles (any case) that users have, in lower case."""
        wanted = sorted({h.lower() for h in handles})
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in in_chunks(wanted):
                found.update(h.lower() for h in conn.execute(sa.select(users.c.handle).where(
                    sa.func.lower(users.c.handle).in_(chunk))).scalars() if h)
        return found


def _select(conn: Connection, condition: sa.ColumnElement[bool]) -> list[Comment]:
    query = (sa.select(comments, users.c.handle, users.c.display_name)
             .select_from(comments.outerjoin(users, users.c.id == comments.c.user_id))
             .where(condition).order_by(comments.c.created_at, comments.c.id))
    return [Comment(id=row.id, paper_id=row.paper_id, user_id=row.user_id, parent_id=row.parent_id, body=row.body,
                    created_at=as_utc(row.created_at), edited_at=as_utc_or_none(row.edited_at),
                    deleted_at=as_utc_or_none(row.deleted_at), hidden_at=as_utc_or_none(row.hidden_at),
                    author_handle=row.handle, author_name=row.display_name) for row in conn.execute(query)]


def _check_parent(conn: Connection, parent_id: int, paper_id: str) -> None:
    parent = _select(conn, comments.c.id == parent_id)
    if not parent:
        raise InputError(f"The comment you reply to (parent_id) does not exist: there is no comment {parent_id}.")
    if parent[0].paper_id != paper_id:
        raise InputError(f"The comment you reply to (parent_id {parent_id}) is on another paper; reply on that "
                         "paper's page.")
    if not parent[0].visible:
        raise InputError(f"The comment you reply to (parent_id {parent_id}) was deleted or hidden; reply to the "
                         "discussion instead.")


def _own(conn: Connection, comment: Comment, user_id: int, action: str, *, blocked_may: bool = False) -> Comment:
    """The comment when it is the user's; NotPermitted otherwise (and for a blocked user, unless `blocked_may`)."""
    if comment.user_id != user_id:
        raise NotPermitted(f"Comment {comment.id} is not yours: you can {action} only your own comments.")
    if not blocked_may and conn.execute(sa.select(users.c.blocked_at).where(users.c.id == user_id)).scalar():
        raise NotPermitted(BLOCKED)
    return comment


def _paper_hidden(conn: Connection, paper_id: str) -> bool:
    return conn.execute(sa.select(hidden_papers.c.paper_id).where(hidden_papers.c.paper_id == paper_id)
                        ).first() is not None


def _readable(comment: Comment, admin: bool) -> bool:
    """Whether the reader sees the comment's text and author: anyone a visible one, an admin a hidden one too."""
    return comment.visible or (admin and not comment.deleted)


def _as_seen(comment: Comment, admin: bool) -> Comment:
    """The comment as this reader sees it: one they may not read without text or author (a placeholder)."""
    if _readable(comment, admin):
        return comment
    return replace(comment, body="", user_id=None, author_handle=None, author_name=None, edited_at=None)


def _shown(rows: list[Comment], admin: bool) -> list[Comment]:
    """What a reader sees of a paper's comments: those they may read, and placeholders of the others that have
    shown replies (a reply is newer than its parent: walking newest first, each comment is decided before its
    parent)."""
    has_shown_reply: set[int] = set()
    shown: list[Comment] = []
    for comment in sorted(rows, key=lambda c: c.id, reverse=True):
        if _readable(comment, admin) or comment.id in has_shown_reply:
            shown.append(_as_seen(comment, admin))
            if comment.parent_id is not None:
                has_shown_reply.add(comment.parent_id)
    return sorted(shown, key=lambda c: (c.created_at, c.id))
