"""Atom (default) and RSS feeds, mounted under /feeds: `/feeds/trending.xml`, `/feeds/search.xml?q=`,
`/feeds/topics/{id}.xml` and a user's private RSS feed of recommendations `/feeds/users/{token}.xml` (the
secret token from `store.digests.feed_token(user_id)`, shown on the account page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from paperscope.errors import InputError
from paperscope.feed.syndication import FeedFormat, paper_feed
from paperscope.limits import SECRET_TOKEN
from paperscope.models import Paper
from paperscope.web.bounded import Bounded
from paperscope.web.deps import ServicesDep
from paperscope.web.lookups import get_topic
from paperscope.web.params import (
    AuthorQuery,
    CategoryQuery,
    DateFrom,
    DateTo,
    FormatQuery,
    ModeQuery,
    RecordId,
    SearchText,
    checked_period,
    search_form,
)
from paperscope.web.services import Services

router = APIRouter(tags=["feeds"])
FEED_SIZE = 30
MEDIA = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
BOTH_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/atom+xml": {}, "application/rss+xml": {}}}}


def feed_response(services: Services, papers: list[Paper], *, title: str, description: str, page: str,
                  path: str, params: dict[str, str], fmt: FeedFormat, summaries: dict[str, str] | None = None
                  ) -> Response:
    """The feed of these papers; `page` and `path` (the feed's own address, with `params`) are site paths."""
    base = services.settings.base_url.rstrip("/")
    query = urlencode({k: v for k, v in params.items() if v})
    body = paper_feed(papers, title=title, description=description, page_url=base + page,
                      feed_url=f"{base}{path}" + (f"?{query}" if query else ""), base_url=base, fmt=fmt,
                      summaries=summaries)
    return Response(body, media_type=MEDIA[fmt])


@router.get("/trending.xml", summary="Trending papers as Atom or RSS", response_class=Response,
            responses=BOTH_FORMATS)
def trending_feed(services: ServicesDep, period: str = "day", fmt: FormatQuery = "atom") -> Response:
    chosen = checked_period(period)
    trend = services.trending.page(chosen, limit=FEED_SIZE)
    return feed_response(services, [e.paper for e in trend.entries], title=f"paperscope: trending this {chosen}",
                         description="Papers ranked by upvotes with a recency decay", page=f"/?period={chosen}",
                         path="/feeds/trending.xml", params={"period": chosen, "format": fmt}, fmt=fmt)


@router.get("/search.xml", summary="A search as Atom or RSS", response_class=Response, responses=BOTH_FORMATS)
def search_feed(services: ServicesDep, q: SearchText, mode: ModeQuery = "hybrid", date_from: DateFrom = None,
                date_to: DateTo = None, category: CategoryQuery = None, author: AuthorQuery = None,
                fmt: FormatQuery = "atom") -> Response:
    form = search_form(q, mode, date_from, date_to, category, author)
    try:
        results = services.search.search(form.q, mode=form.checked_mode(), limit=FEED_SIZE, filters=form.filters())
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return feed_response(services, [p for _, p in results], title=f"paperscope: {form.q}",
                         description=f"Papers matching {form.q!r}", page=f"/search?{form.query_string()}",
                         path="/feeds/search.xml", params={"q": form.q, "format": fmt}, fmt=fmt)


@router.get("/topics/{topic_id}.xml", tags=["topics"], summary="A topic's newest papers as Atom or RSS",
            response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
def topic_feed(services: ServicesDep, topic_id: RecordId, fmt: FormatQuery = "atom") -> Response:
    topic = get_topic(services, topic_id)
    ids = services.store.topics.paper_ids(topic_id)
    dates = services.store.paper_dates(ids)
    newest = sorted(ids, key=lambda pid: (dates.get(pid) is not None, dates.get(pid), pid), reverse=True)[:FEED_SIZE]
    found = services.store.get_papers(newest)
    return feed_response(services, [found[i] for i in newest if i in found], title=f"paperscope topic: {topic.label}",
                         description=", ".join(topic.keywords), page=f"/topics/{topic_id}",
                         path=f"/feeds/topics/{topic_id}.xml", params={"format": fmt if fmt == "rss" else ""},
                         fmt=fmt)


@router.get("/users/{token}.xml", tags=["digests"], summary="A user's private RSS feed of recommendations")
def user_feed(token: Annotated[str, Path(), Bounded(SECRET_TOKEN)], services: ServicesDep) -> Response:
    store, cache = services.store, services.recommendations
    user_id = store.digests.user_for_feed_token(token)
    user = store.accounts.get_user(user_id) if user_id is not None else None
    if user is None or cache is None:
        raise HTTPException(status_code=404, detail="No feed with this address: copy it again from your "
                                                    "account page.")
    from paperscope.digest.compose import digest_paper  # the digest extra, present when `cache` is

    picks = cache.recommend(store, services.settings, user.id, FEED_SIZE)
    base = services.settings.base_url
    summaries = {}
    for pick in picks:
        shown = digest_paper(pick.paper, pick.why.text(), base)
        summaries[pick.paper.id] = f"{shown.authors}. {shown.excerpt} Why: {shown.reason}"
    return feed_response(services, [pick.paper for pick in picks], title=f"paperscope: papers for {user.email}",
                         description="Personal paper recommendations from paperscope, each with the reason it was "
                                     "picked.", page="/", path=f"/feeds/users/{token}.xml", params={}, fmt="rss",
                         summaries=summaries)
