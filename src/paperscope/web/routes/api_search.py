"""JSON API: search, trending, topics and the server's status."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from paperscope.errors import InputError, SearchUnavailable
from paperscope.feed.trending import parse_period
from paperscope.web.deps import ApiUser, ServicesDep
from paperscope.web.hints import web_message
from paperscope.web.routes.api_papers import ERRORS, Limit, Offset, papers_out
from paperscope.web.routes.search import search_form
from paperscope.web.routes.trending import parse_day
from paperscope.web.schemas import ScoredPaper, SearchHitOut, SearchPage, StatusOut, TrendingOut

router = APIRouter(prefix="/api", tags=["search"], responses=ERRORS)  # type: ignore[arg-type]


@router.get("/search", response_model=SearchPage, summary="Hybrid, keyword or semantic search")
def search(services: ServicesDep, user: ApiUser, q: str, mode: str = "hybrid", limit: Limit = 20,
           offset: Offset = 0, date_from: Annotated[str | None, Query(alias="from")] = None,
           date_to: Annotated[str | None, Query(alias="to")] = None,
           category: str | None = None, author: str | None = None) -> SearchPage:
    form = search_form(q, mode, date_from, date_to, category, author)
    try:
        results = services.search.search(form.q, mode=form.checked_mode(), limit=limit + 1, offset=offset,
                                         filters=form.filters())
    except SearchUnavailable as exc:
        raise HTTPException(503, web_message(exc)) from None
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    shown = results[:limit]
    outs = papers_out(services, [p for _, p in shown])
    items = [SearchHitOut(score=round(h.score, 6), keyword_rank=h.keyword_rank, semantic_rank=h.semantic_rank,
                          paper=o) for (h, _), o in zip(shown, outs, strict=True)]
    return SearchPage(query=form.q, mode=form.mode, items=items, total=None, limit=limit, offset=offset,
                      next_offset=offset + limit if len(results) > limit else None)


@router.get("/trending", response_model=TrendingOut, summary="Trending papers of a day, week or month")
def trending(services: ServicesDep, period: str = "day", date: str | None = None, limit: Limit = 30,
             offset: Offset = 0) -> TrendingOut:
    try:
        chosen = parse_period(period)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    trend = services.trending.page(chosen, parse_day(date), limit=limit, offset=offset)
    base = services.settings.base_url
    from paperscope.web.schemas import PaperOut

    items = [ScoredPaper(score=round(e.score, 6), paper=PaperOut.of(e.paper, e.upvotes, base)) for e in trend.entries]
    return TrendingOut(period=chosen, date=trend.date, first=trend.first, last=trend.last, previous=trend.previous,
                       next=trend.next, items=items, total=trend.total, limit=limit, offset=offset,
                       next_offset=offset + limit if offset + limit < trend.total else None)


@router.get("/status", response_model=StatusOut, summary="Papers stored and what the background jobs are doing")
def status(services: ServicesDep) -> StatusOut:
    job = services.jobs.status if services.jobs is not None else None
    keyword_indexed, vectors_indexed = services.search.sizes()
    return StatusOut(papers=services.store.count_papers(), background_jobs=services.jobs is not None,
                     state=job.state if job else None, activity=job.activity if job else None,
                     problems=job.problems if job else [], process_id=os.getpid(),
                     keyword_indexed=keyword_indexed, vectors_indexed=vectors_indexed)
