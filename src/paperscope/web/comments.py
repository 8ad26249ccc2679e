"""The discussion of a paper on the web: posting, editing and deleting comments for the pages and the JSON API
alike (a blocked account is refused, posting is rate-limited per account, harder for new accounts, and per
address), and comments as the paper page and the API show them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from markupsafe import Markup

from paperscope import throttle
from paperscope.discussion.mentions import mentioned_handles
from paperscope.discussion.notify import notify_about_comment
from paperscope.discussion.render import render_comment
from paperscope.errors import InputError, NotPermitted
from paperscope.models import Paper
from paperscope.store.accounts import User
from paperscope.store.comments import BLOCKED, Comment, reading_order
from paperscope.web.schemas import CommentAuthorOut, CommentOut
from paperscope.web.security import client_address, too_many
from paperscope.web.services import Services

MAX_SHOWN_DEPTH = 6  # deeper replies are indented no further
NO_COMMENT = "There is no comment {} that you can see."


def post_comment(request: Request, services: Services, user: User, paper: Paper, body: str,
                 parent_id: int | None = None) -> Comment:
    """Store the user's comment on the paper (a reply when `parent_id` is given), notify who it concerns, and
    return it: 403 for a blocked account, 429 with `Retry-After` past the rate limits, 400 for what the store
    refuses (an unknown parent)."""
    if user.blocked:
        raise HTTPException(403, BLOCKED)
    account, address = throttle.comment_limits(services.settings, user.created_at)
    limits = ((account, user.email), (address, client_address(request)))
    if wait := throttle.wait_seconds(services.store.sessions, *limits):
        young = " (accounts younger than a day may post fewer)" if throttle.is_new_account(user.created_at) else ""
        raise too_many(f"comments from your account or address this hour{young}", wait)
    try:
        comment = services.store.comments.add(user.id, paper.id, body, parent_id=parent_id)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    throttle.record(services.store.sessions, *limits)
    notify_about_comment(services.store, comment.id)
    return comment


def edit_comment(services: Services, user: User, comment_id: int, body: str) -> Comment:
    """Replace the text of the user's own comment; 404, 403 (not theirs, hidden, blocked) or 400 (deleted)."""
    try:
        comment = services.store.comments.edit(comment_id, user.id, body)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    if comment is None:
        raise HTTPException(404, NO_COMMENT.format(comment_id))
    return comment


def delete_comment(services: Services, user: User, comment_id: int) -> Comment:
    """Delete the user's own comment (its replies stay); 404, or 403 when it is not theirs."""
    try:
        comment = services.store.comments.delete(comment_id, user.id)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    if comment is None:
        raise HTTPException(404, NO_COMMENT.format(comment_id))
    return comment


def visible_comment(services: Services, viewer: User | None, comment_id: int) -> Comment:
    """The comment as this viewer may see it; 404 when there is none (or it is hidden from them)."""
    comment = services.store.comments.get(comment_id, admin=viewer is not None and viewer.is_admin)
    if comment is None:
        raise HTTPException(404, NO_COMMENT.format(comment_id))
    return comment


def rendered(services: Services, comments: Iterable[Comment]) -> dict[int, Markup]:
    """Each comment's HTML (empty for a deleted one or a placeholder), its mentions of existing users marked."""
    shown = [c for c in comments if c.body]
    handles = services.store.comments.existing_handles(
        {h for c in shown for h in mentioned_handles(c.body)}) if shown else set()
    return {c.id: render_comment(c.body, handles) if c.body else Markup("") for c in comments}


def comment_out(comment: Comment, html: Markup) -> CommentOut:
    author = (CommentAuthorOut(handle=comment.author_handle, display_name=comment.author_name)
              if comment.author_handle is not None else None)
    return CommentOut(id=comment.id, paper_id=comment.paper_id, parent_id=comment.parent_id, author=author,
                      body=comment.body, body_html=str(html), created_at=comment.created_at,
                      edited_at=comment.edited_at, deleted=comment.deleted, hidden=comment.hidden)


def comments_out(services: Services, comments: list[Comment]) -> list[CommentOut]:
    html = rendered(services, comments)
    return [comment_out(c, html[c.id]) for c in comments]


@dataclass(frozen=True, slots=True)
class ShownComment:
    """A comment of the paper page's thread: its depth (0 starts a thread; indented at most MAX_SHOWN_DEPTH) and
    HTML."""

    comment: Comment
    depth: int
    html: Markup


def thread_context(services: Services, viewer: User | None, paper: Paper) -> dict[str, Any]:
    """What templates/_comments.html shows: the paper's thread as the viewer sees it, and how many comments
    everyone sees."""
    admin = viewer is not None and viewer.is_admin
    entries = reading_order(services.store.comments.thread(paper.id, admin=admin))
    html = rendered(services, [c for _, c in entries])
    return {"discussion": [ShownComment(c, min(depth, MAX_SHOWN_DEPTH), html[c.id]) for depth, c in entries],
            "discussion_count": sum(1 for _, c in entries if c.visible)}
