"""JSON API of trending papers: the ranking of a day, week or month, with the neighbouring windows."""

from __future__ import annotations

from fastapi import APIRouter

from paperscope.web.deps import ServicesDep
from paperscope.web.lookups import papers_out
from paperscope.web.params import DayQuery, Limit, Offset, checked_period, parse_day
from paperscope.web.schemas import ERROR_RESPONSES, ScoredPaper, TrendingOut

router = APIRouter(tags=["trending"], responses=ERROR_RESPONSES)


@router.get("/trending", response_model=TrendingOut, summary="Trending papers of a day, week or month")
def trending(services: ServicesDep, period: str = "day", date: DayQuery = None, limit: Limit = 30,
             offset: Offset = 0) -> TrendingOut:
    chosen = checked_period(period)
    trend = services.trending.page(chosen, parse_day(date), limit=limit, offset=offset)
    outs = papers_out(services, [e.paper for e in trend.entries], {e.paper.id: e.upvotes for e in trend.entries})
    items = [ScoredPaper(score=round(e.score, 6), paper=o) for e, o in zip(trend.entries, outs, strict=True)]
    return TrendingOut(period=chosen, date=trend.date, first=trend.first, last=trend.last, previous=trend.previous,
                       next=trend.next, items=items, total=trend.total, limit=limit, offset=offset,
                       next_offset=offset + limit if offset + limit < trend.total else None)
