"""JSON API of trending papers: the ranking of a day, week or month, with the neighbouring windows."""

from __future__ import annotations

from fastapi import APIRouter

from paperscope.web.deps import ServicesDep
from paperscope.web.params import DayQuery, Limit, Offset, checked_period, parse_day
from paperscope.web.schemas import ERROR_RESPONSES, PaperOut, ScoredPaper, TrendingOut

router = APIRouter(tags=["trending"], responses=ERROR_RESPONSES)


@router.get("/trending", response_model=TrendingOut, summary="Trending papers of a day, week or month")
def trending(services: ServicesDep, period: str = "day", date: DayQuery = None, limit: Limit = 30,
             offset: Offset = 0) -> TrendingOut:
    chosen = checked_period(period)
    trend = services.trending.page(chosen, parse_day(date), limit=limit, offset=offset)
    base = services.settings.base_url
    items = [ScoredPaper(score=round(e.score, 6), paper=PaperOut.of(e.paper, e.upvotes, base)) for e in trend.entries]
    return TrendingOut(period=chosen, date=trend.date, first=trend.first, last=trend.last, previous=trend.previous,
                       next=trend.next, items=items, total=trend.total, limit=limit, offset=offset,
                       next_offset=offset + limit if offset + limit < trend.total else None)
