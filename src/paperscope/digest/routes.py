"""HTTP routes of the digest stage, as a FastAPI router the web app includes with one line:

    app.include_router(create_router())

* `GET /unsubscribe?token=` shows a confirmation page with one button (a GET never changes anything, so a
  mail scanner that follows links does not unsubscribe anybody);
* `POST /unsubscribe?token=` unsubscribes: the button, and the one-click `List-Unsubscribe-Post` request
  mail programs send (RFC 8058);
* `GET /feeds/users/{token}.xml` is the user's private RSS feed of recommendations (secret token from
  `store.digests.feed_token(user_id)`);
* `GET /api/recommendations?limit=K` is the JSON of `paperscope recommend --json`, for the signed-in user
  (the `current_user_id` dependency the web app passes) or for `?token=` the user's feed token.

By default the routes find the store and settings on `request.app.state.store` and `.settings`; pass other
dependencies to `create_router` to change that.
"""

# No `from __future__ import annotations`: FastAPI must see the local Annotated dependency aliases.
import datetime as dt
import threading
from collections.abc import Callable
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from paperscope.config import Settings
from paperscope.digest.compose import digest_paper, templates
from paperscope.digest.tokens import read_unsubscribe_token
from paperscope.errors import NothingToGoOn
from paperscope.recommend.engine import Recommendation, Recommender
from paperscope.store import Store

FEED_SIZE = 30


def _app_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _nobody() -> int | None:
    return None


class RecommendationCache:
    """One Recommender per store, built once and refreshed when the store changes; shared by the routes that
    recommend (the private feed, the JSON API, the web app's "For you" page) and safe across threads."""

    def __init__(self) -> None:
        self._recommenders: dict[int, Recommender] = {}
        self._lock = threading.Lock()

    def recommend(self, store: Store, settings: Settings, user_id: int, limit: int) -> list[Recommendation]:
        """The user's picks among the papers new since their last digest; [] when there is nothing to go on."""
        with self._lock:
            recommender = self._recommenders.get(id(store))
            if recommender is None or recommender.store is not store:
                recommender = self._recommenders[id(store)] = Recommender(store, settings)
            try:
                return recommender.recommend(user_id, candidates=recommender.period_candidates(user_id),
                                             limit=limit)
            except NothingToGoOn:
                return []


def create_router(*, get_store: Callable[..., Store] = _app_store,
                  get_settings: Callable[..., Settings] = _app_settings,
                  current_user_id: Callable[..., int | None] = _nobody,
                  cache: RecommendationCache | None = None) -> APIRouter:
    """The digest routes; the dependencies say where the store, the settings and the signed-in user come from."""
    router = APIRouter(tags=["digests"])
    StoreDep = Annotated[Store, Depends(get_store)]
    SettingsDep = Annotated[Settings, Depends(get_settings)]
    UserDep = Annotated[int | None, Depends(current_user_id)]
    recommend = (cache or RecommendationCache()).recommend

    def page(state: str, email: str = "", action: str = "", status: int = 200) -> HTMLResponse:
        titles = {"confirm": "Unsubscribe from paperscope digests", "done": "You are unsubscribed",
                  "invalid": "This link is not valid"}
        html = templates().get_template("unsubscribe.html.j2").render(title=titles[state], state=state, email=email,
                                                                      action=action)
        return HTMLResponse(html, status_code=status)

    def token_user(store: Store, settings: Settings, token: str) -> tuple[int, str] | None:
        found = read_unsubscribe_token(settings.secret_key, token)
        if found is None:
            return None
        user = store.accounts.get_user(found[0])
        return found if user is not None and user.email == found[1] else None

    @router.get("/unsubscribe", response_class=HTMLResponse, summary="Confirm unsubscribing from digests")
    def unsubscribe_page(request: Request, store: StoreDep, settings: SettingsDep,
                         token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
        found = token_user(store, settings, token)
        if found is None:
            return page("invalid", status=400)
        return page("confirm", email=found[1], action=str(request.url))

    @router.post("/unsubscribe", response_class=HTMLResponse, summary="Unsubscribe (button or RFC 8058 one-click)")
    async def unsubscribe(request: Request, store: StoreDep, settings: SettingsDep,
                          token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
        found = token_user(store, settings, token)
        if found is None:
            return page("invalid", status=400)
        body = (await request.body())[:200]
        source = "one-click" if b"List-Unsubscribe=One-Click" in body else "link"
        store.digests.unsubscribe(found[0], source=source)
        return page("done", email=found[1])

    @router.get("/feeds/users/{token}.xml", summary="A user's private RSS feed of recommendations")
    def user_feed(token: str, store: StoreDep, settings: SettingsDep) -> Response:
        user_id = store.digests.user_for_feed_token(token)
        user = store.accounts.get_user(user_id) if user_id is not None else None
        if user is None:
            raise HTTPException(status_code=404, detail="No feed with this address: copy it again from your "
                                                        "account page.")
        picks = recommend(store, settings, user.id, FEED_SIZE)
        papers = [digest_paper(r.paper, r.why.text(), settings.base_url) for r in picks]
        xml = templates().get_template("feed.xml.j2").render(
            email=user.email, papers=papers, base_url=settings.base_url.rstrip("/"),
            built=format_datetime(dt.datetime.now(dt.UTC)))
        return Response(xml, media_type="application/rss+xml; charset=utf-8")

    @router.get("/api/recommendations", summary="Papers ranked for the user, each with the reason")
    def api_recommendations(store: StoreDep, settings: SettingsDep, signed_in: UserDep,
                            limit: Annotated[int, Query(ge=1, le=100)] = 10,
                            token: Annotated[str | None, Query(max_length=200)] = None) -> list[dict[str, Any]]:
        user_id = signed_in
        if user_id is None and token:
            user_id = store.digests.user_for_feed_token(token)
        if user_id is None:
            raise HTTPException(status_code=401, detail="Sign in, or pass ?token= with your private feed token.")
        return [r.as_dict() for r in recommend(store, settings, user_id, limit)]

    return router
