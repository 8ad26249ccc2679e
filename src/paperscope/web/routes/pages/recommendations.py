"""Recommendations as pages: `/for-you`, the signed-in user's recommendations among the papers new since their
last digest, each with the reason it was picked (the same ranking as the digest, the private feed and
/api/recommendations; `/for-you?tag=TAG` learns from one tag's papers alone, as arxiv-sanity does), and the
follows that steer them: `POST /follows` follows or unfollows a topic (the button on a topic page), a search
(on the search page) or an author."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from paperscope.errors import InputError
from paperscope.limits import FOLLOW_VALUE, TAG
from paperscope.store.digests import Follow
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep, signed_in
from paperscope.web.pages import cards, page
from paperscope.web.security import safe_next
from paperscope.web.services import Services

router = APIRouter(tags=["recommendations"])

PAGE_SIZE = 30


@router.get("/for-you", response_class=HTMLResponse, summary="Papers recommended for the signed-in user")
def for_you(request: Request, services: ServicesDep, user: CurrentUser,
            tag: Annotated[str | None, Query(description="Rank from this tag's papers alone"), Bounded(TAG)] = None
            ) -> HTMLResponse:
    user = signed_in(request, user)
    cache = services.recommendations
    try:
        picks = cache.recommend(services.store, services.settings, user.id, PAGE_SIZE, tag) if cache else []
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    follows = services.store.digests.follows_of(user.id)
    return page(request, services, "for_you.html", {
        "items": list(zip(cards(services, user, [pick.paper for pick in picks]), [pick.why.text() for pick in picks],
                          strict=True)),
        "available": cache is not None,
        "library_size": len(services.store.accounts.library_ids(user.id)),
        "follows": [(f, _label(services, f)) for f in follows],
        "tags": list(services.store.accounts.tags_of(user.id)),
        "tag": tag,
    })


def _label(services: Services, follow: Follow) -> str:
    """What a follow is called on the page: a topic's label, an author's name, else its value."""
    if follow.kind == "topic" and follow.value.isdigit():
        topic = services.store.topics.get_topic(int(follow.value))
        return topic.label if topic else follow.value
    if follow.kind == "author_id" and follow.value.isdigit():
        author = services.store.authors.get_author(int(follow.value))
        return author.name if author else follow.value
    return follow.value


@router.post("/follows", dependencies=[CsrfChecked], summary="Follow or unfollow a topic, a search or an author")
def follow(services: ServicesDep, user: RequiredUser, kind: Annotated[str, Form()],
           value: Annotated[str, Form(), Bounded(FOLLOW_VALUE)],
           action: Annotated[str, Form()] = "follow", next: Annotated[str | None, Form()] = None) -> RedirectResponse:
    is_number = value.isascii() and value.isdigit()
    if kind == "topic" and (not is_number or services.store.topics.get_topic(int(value)) is None):
        raise HTTPException(404, f"There is no topic {value}; the list is at /topics.")
    digests = services.store.digests
    try:
        if action == "follow":
            digests.follow(user.id, kind, value)  # type: ignore[arg-type]
        elif action == "unfollow":
            digests.unfollow(user.id, kind, value)  # type: ignore[arg-type]
        else:
            raise HTTPException(400, "action must be follow or unfollow")
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(safe_next(next, "/for-you"), status_code=303)
