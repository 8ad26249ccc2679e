"""JSON API of recommendations: `GET /api/recommendations?limit=K[&tag=TAG]` is the JSON of `paperscope recommend
--json [--tag TAG]`, for the signed-in caller (an API token, or the session). The private feed token is no credential
here: it is only accepted in the path of the feed itself (`/feeds/users/{token}.xml`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from paperscope.errors import InputError
from paperscope.limits import TAG
from paperscope.web.bounded import Bounded
from paperscope.web.deps import RequiredApiUser, ServicesDep

router = APIRouter(tags=["digests"])


@router.get("/recommendations", summary="Papers ranked for the user, each with the reason")
def api_recommendations(services: ServicesDep, user: RequiredApiUser,
                        limit: Annotated[int, Query(ge=1, le=100)] = 10,
                        tag: Annotated[str | None, Query(description="Learn from this tag's papers alone"),
                                       Bounded(TAG)] = None) -> list[dict[str, Any]]:
    cache = services.recommendations
    try:
        picks = cache.recommend(services.store, services.settings, user.id, limit, tag) if cache else []
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    return [r.as_dict() for r in picks]
