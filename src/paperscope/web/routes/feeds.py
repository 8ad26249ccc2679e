"""Atom (default) and RSS feeds: `/feeds/trending.xml`, `/feeds/search.xml?q=`, `/feeds/topics/{id}.xml`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from paperscope.errors import InputError
from paperscope.feed.syndication import FeedFormat, paper_feed
from paperscope.feed.trending import parse_period
from paperscope.models import Paper
from paperscope.web.deps import ServicesDep
from paperscope.web.routes.search import search_form
from paperscope.web.services import Services

router = APIRouter(tags=["feeds"])
FEED_SIZE = 30
MEDIA = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}


def feed_response(services: Services, papers: list[Paper], *, title: str, description: str, page: str,
                  path: str, params: dict[str, str], fmt: FeedFormat) -> Response:
    base = services.settings.base_url.rstrip("/")
    query = urlencode({k: v for k, v in params.items() if v})
    body = paper_feed(papers, title=title, description=description, page_url=base + page,
                      feed_url=f"{base}{path}" + (f"?{query}" if query else ""), base_url=base, fmt=fmt)
    return Response(body, media_type=MEDIA[fmt])


FormatQuery = Annotated[FeedFormat, Query(alias="format", description="atom (default) or rss")]


@router.get("/feeds/trending.xml", summary="Trending papers as Atom or RSS", response_class=Response,
            responses={200: {"content": {"application/atom+xml": {}, "application/rss+xml": {}}}})
def trending_feed(services: ServicesDep, period: str = "day", fmt: FormatQuery = "atom") -> Response:
    try:
        chosen = parse_period(period)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    trend = services.trending.page(chosen, limit=FEED_SIZE)
    return feed_response(services, [e.paper for e in trend.entries], title=f"paperscope: trending this {chosen}",
                         description="Papers ranked by upvotes with a recency decay", page=f"/?period={chosen}",
                         path="/feeds/trending.xml", params={"period": chosen, "format": fmt}, fmt=fmt)


@router.get("/feeds/search.xml", summary="A search as Atom or RSS", response_class=Response,
            responses={200: {"content": {"application/atom+xml": {}, "application/rss+xml": {}}}})
def search_feed(services: ServicesDep, q: str, mode: str = "hybrid",
                date_from: Annotated[str | None, Query(alias="from")] = None,
                date_to: Annotated[str | None, Query(alias="to")] = None,
                category: str | None = None, author: str | None = None, fmt: FormatQuery = "atom") -> Response:
    form = search_form(q, mode, date_from, date_to, category, author)
    try:
        results = services.search.search(form.q, mode=form.checked_mode(), limit=FEED_SIZE, filters=form.filters())
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return feed_response(services, [p for _, p in results], title=f"paperscope: {form.q}",
                         description=f"Papers matching {form.q!r}", page=f"/search?{form.query_string()}",
                         path="/feeds/search.xml", params={"q": form.q, "format": fmt}, fmt=fmt)
