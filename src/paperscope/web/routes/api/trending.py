"""JSON API of trending papers: the ranking of a day, week or month (by upvotes, or most discussed), with the
neighbouring windows."""

from __future__ import annotations

from fastapi import APIRouter

from paperscope.web.deps import ServicesDep
from paperscope.web.lookups import trending_items
from paperscope.web.params import DayQuery, Limit, Offset, OrderQuery, checked_order, checked_period, parse_day
from paperscope.web.schemas import ERROR_RESPONSES, TrendingOut

router = APIRouter(tags=["trending"], responses=ERROR_RESPONSES)


@router.get("/trending", response_model=TrendingOut,
            summary="Trending papers of a day, week or month, by upvotes or most discussed")
def trending(services: ServicesDep, period: str = "day", date: DayQuery = None, limit: Limit = 30,
             offset: Offset = 0, order: OrderQuery = "upvotes") -> TrendingOut:
    chosen = checked_period(period)
    trend = services.trending.page(chosen, parse_day(date), limit=limit, offset=offset, order=checked_order(order))
    items = trending_items(services, trend)
    return TrendingOut(period=chosen, order=trend.order, date=trend.date, first=trend.first, last=trend.last,
                       previous=trend.previous, next=trend.next, items=items, total=trend.total, limit=limit,
                       offset=offset, next_offset=offset + limit if offset + limit < trend.total else None)
