"""`/notifications`: a signed-in user's replies, mentions and news of followed discussions, marking them read, the
e-mail choice (on /me), and following a paper's discussion. Every POST here checks the CSRF token, and each acts
on the signed-in user's own rows only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.discussion.wording import KIND_TEXT, comment_excerpt
from paperscope.errors import InputError
from paperscope.store.notifications import EMAIL_CHOICES, PAGE_SIZE
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep, signed_in
from paperscope.web.lookups import get_paper
from paperscope.web.pages import page
from paperscope.web.params import PaperIdPath
from paperscope.web.security import flash, safe_next

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_class=HTMLResponse, summary="Your notifications: unread first, newest first")
def notifications_page(request: Request, services: ServicesDep, user: CurrentUser,
                       page_number: Annotated[int, Query(alias="page", ge=1, le=1000)] = 1) -> HTMLResponse:
    user = signed_in(request, user)
    store = services.store.notifications
    offset = (page_number - 1) * PAGE_SIZE
    items = store.list_for(user.id, limit=PAGE_SIZE, offset=offset)
    total = store.count_for(user.id)
    return page(request, services, "notifications.html", {
        "items": [(n, KIND_TEXT[n.kind], comment_excerpt(n.body)) for n in items], "total": total,
        "page_number": page_number, "has_more": offset + len(items) < total,
        "unread": store.unread_count(user.id)})


@router.post("/notifications/read", dependencies=[CsrfChecked], summary="Mark all your notifications read")
def mark_all_read(request: Request, services: ServicesDep, user: RequiredUser) -> Response:
    changed = services.store.notifications.mark_read(user.id)
    flash(request, f"Marked {changed} notification{'' if changed == 1 else 's'} read.")
    return RedirectResponse("/notifications", status_code=303)


@router.post("/me/notifications", dependencies=[CsrfChecked],
             summary="Choose when you are e-mailed about replies and mentions (off, digest, immediate)")
def email_choice(request: Request, services: ServicesDep, user: RequiredUser,
                 notify_email: Annotated[str, Form(max_length=20)]) -> Response:
    try:
        chosen = services.store.notifications.set_email_choice(user.id, notify_email)
    except InputError as exc:
        raise HTTPException(400, f"{exc} Choose one of {', '.join(EMAIL_CHOICES)}.") from None
    flash(request, {"off": "You get no e-mail about replies and mentions.",
                    "digest": "Replies and mentions come with your e-mail digest.",
                    "immediate": "You get an e-mail for each reply and mention."}[chosen])
    return RedirectResponse("/me#notifications", status_code=303)


@router.post("/papers/{paper_id:path}/discussion/follow", dependencies=[CsrfChecked],
             summary="Follow a paper's discussion (be notified of every comment)")
def follow(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
           next: Annotated[str | None, Form()] = None) -> Response:
    paper = get_paper(services, paper_id)
    services.store.notifications.follow(user.id, paper.id)
    return RedirectResponse(safe_next(next, f"/papers/{paper.id}#discussion-follow"), status_code=303)


@router.post("/papers/{paper_id:path}/discussion/unfollow", dependencies=[CsrfChecked],
             summary="Stop following a paper's discussion")
def unfollow(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
             next: Annotated[str | None, Form()] = None) -> Response:
    paper = get_paper(services, paper_id)
    services.store.notifications.unfollow(user.id, paper.id)
    return RedirectResponse(safe_next(next, f"/papers/{paper.id}#discussion-follow"), status_code=303)
