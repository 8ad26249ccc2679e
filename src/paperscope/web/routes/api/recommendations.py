"""JSON API of recommendations: `GET /api/recommendations?limit=K` is the JSON of `paperscope recommend
--json`, for the signed-in caller (an API token, or the session). The private feed token is no credential
here: it is only accepted in the path of the feed itself (`/feeds/users/{token}.xml`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from paperscope.web.deps import RequiredApiUser, ServicesDep

router = APIRouter(tags=["digests"])


@router.get("/recommendations", summary="Papers ranked for the user, each with the reason")
def api_recommendations(services: ServicesDep, user: RequiredApiUser,
                        limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[dict[str, Any]]:
    cache = services.recommendations
    picks = cache.recommend(services.store, services.settings, user.id, limit) if cache else []
    return [r.as_dict() for r in picks]
