"""JSON API of notifications and followed discussions: your notifications (unread first), marking them read, the
e-mail choice, and following a paper's discussion. Every operation reads or changes the caller's own rows only:
ids of another user's notifications mark nothing."""

from __future__ import annotations

from fastapi import APIRouter

from paperscope.discussion.wording import comment_excerpt
from paperscope.store.notifications import Notification
from paperscope.web.deps import RequiredApiUser, ServicesDep
from paperscope.web.lookups import get_paper
from paperscope.web.params import Limit, Offset, PaperIdPath
from paperscope.web.schemas import (
    ERROR_RESPONSES,
    CommentAuthorOut,
    DiscussionFollowOut,
    NotificationOut,
    NotificationPage,
    NotificationsReadIn,
    NotificationsReadOut,
    NotifyEmailIn,
    NotifyEmailOut,
)

router = APIRouter(tags=["notifications"], responses=ERROR_RESPONSES)


def notification_out(n: Notification) -> NotificationOut:
    author = CommentAuthorOut(handle=n.author_handle, display_name=n.author_name) if n.author_handle else None
    return NotificationOut(id=n.id, kind=n.kind, comment_id=n.comment_id, paper_id=n.paper_id,
                           paper_title=n.paper_title, author=author, excerpt=comment_excerpt(n.body),
                           url=f"/papers/{n.paper_id}#comment-{n.comment_id}", created_at=n.created_at,
                           read=not n.unread)


@router.get("/notifications", response_model=NotificationPage,
            summary="Your notifications: unread first, newest first within each")
def list_notifications(services: ServicesDep, user: RequiredApiUser, limit: Limit = 50, offset: Offset = 0
                       ) -> NotificationPage:
    store = services.store.notifications
    total = store.count_for(user.id)
    items = [notification_out(n) for n in store.list_for(user.id, limit=limit, offset=offset)]
    return NotificationPage(items=items, total=total, limit=limit, offset=offset,
                            next_offset=offset + limit if offset + limit < total else None,
                            unread=store.unread_count(user.id))


@router.post("/notifications/read", response_model=NotificationsReadOut,
             summary="Mark your notifications read: those with these ids, or all of them")
def mark_read(services: ServicesDep, user: RequiredApiUser, body: NotificationsReadIn | None = None
              ) -> NotificationsReadOut:
    store = services.store.notifications
    marked = store.mark_read(user.id, body.ids if body is not None else None)
    return NotificationsReadOut(marked=marked, unread=store.unread_count(user.id))


@router.put("/notifications/email", response_model=NotifyEmailOut,
            summary="Choose when you are e-mailed about notifications: off, digest or immediate")
def set_email_choice(services: ServicesDep, user: RequiredApiUser, body: NotifyEmailIn) -> NotifyEmailOut:
    return NotifyEmailOut(notify_email=services.store.notifications.set_email_choice(user.id, body.notify_email))


@router.put("/papers/{paper_id:path}/discussion/follow", response_model=DiscussionFollowOut,
            summary="Follow a paper's discussion: be notified of every comment")
def follow(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath) -> DiscussionFollowOut:
    paper = get_paper(services, paper_id)
    services.store.notifications.follow(user.id, paper.id)
    return DiscussionFollowOut(paper_id=paper.id, following=True)


@router.delete("/papers/{paper_id:path}/discussion/follow", response_model=DiscussionFollowOut,
               summary="Stop following a paper's discussion")
def unfollow(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath) -> DiscussionFollowOut:
    paper = get_paper(services, paper_id)
    services.store.notifications.unfollow(user.id, paper.id)
    return DiscussionFollowOut(paper_id=paper.id, following=False)
