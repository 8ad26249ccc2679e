"""The "For you" page: the signed-in user's recommendations among the papers new since their last digest,
each with the reason it was picked (the same ranking as the digest, the private feed and /api/recommendations)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperscope.web.deps import RequiredUser, ServicesDep
from paperscope.web.pages import cards, page

router = APIRouter(tags=["recommendations"])

PAGE_SIZE = 30


@router.get("/for-you", response_class=HTMLResponse, summary="Papers recommended for the signed-in user")
def for_you(request: Request, services: ServicesDep, user: RequiredUser) -> HTMLResponse:
    cache = services.recommendations
    picks = cache.recommend(services.store, services.settings, user.id, PAGE_SIZE) if cache else []
    return page(request, services, "for_you.html", {
        "items": list(zip(cards(services, user, [pick.paper for pick in picks]), [pick.why.text() for pick in picks],
                          strict=True)),
        "available": cache is not None,
        "library_size": len(services.store.accounts.library_ids(user.id)),
    })
