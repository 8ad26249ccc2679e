"""JSON API of recommendations: `GET /api/recommendations?limit=K` is the JSON of `paperscope recommend
--json`, for the signed-in caller (session or API token) or for `?token=` the user's private feed token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from paperscope.web.deps import ApiUser, ServicesDep

router = APIRouter(tags=["digests"])


@router.get("/recommendations", summary="Papers ranked for the user, each with the reason")
def api_recommendations(services: ServicesDep, signed_in: ApiUser,
                        limit: Annotated[int, Query(ge=1, le=100)] = 10,
                        token: Annotated[str | None, Query(max_length=200)] = None) -> list[dict[str, Any]]:
    user_id = signed_in.id if signed_in else None
    if user_id is None and token:
        user_id = services.store.digests.user_for_feed_token(token)
    if user_id is None:
        raise HTTPException(status_code=401, detail="Sign in, or pass ?token= with your private feed token.")
    cache = services.recommendations
    picks = cache.recommend(services.store, services.settings, user_id, limit) if cache else []
    return [r.as_dict() for r in picks]
