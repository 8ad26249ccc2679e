"""`/` and `/trending`: trending papers of a day, week or month, by upvotes or most discussed, with previous/next
navigation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from paperscope.store.accounts import User
from paperscope.web.deps import CurrentUser, ServicesDep
from paperscope.web.pages import cards, page
from paperscope.web.params import DayQuery, OrderQuery, checked_order, checked_period, parse_day
from paperscope.web.services import Services

router = APIRouter(tags=["pages"])
PAGE_SIZE = 30


@router.get("/", response_class=HTMLResponse, summary="Trending papers")
def trending_page(request: Request, services: ServicesDep, user: CurrentUser,
                  period: str = "day", date: DayQuery = None, order: OrderQuery = "upvotes",
                  page_number: Annotated[int, Query(alias="page", ge=1, le=1000)] = 1) -> HTMLResponse:
    return _trending(request, services, user, period, date, order, page_number)


@router.get("/trending", response_class=HTMLResponse, summary="Trending papers (the same page as /)")
def trending_page_by_name(request: Request, services: ServicesDep, user: CurrentUser,
                          period: str = "day", date: DayQuery = None, order: OrderQuery = "upvotes",
                          page_number: Annotated[int, Query(alias="page", ge=1, le=1000)] = 1) -> HTMLResponse:
    return _trending(request, services, user, period, date, order, page_number)


def _trending(request: Request, services: Services, user: User | None, period: str, date: str | None, order: str,
              page_number: int) -> HTMLResponse:
    chosen = checked_period(period)
    hidden = set(services.store.accounts.library_ids(user.id, "hidden")) if user else set()
    trend = services.trending.page(chosen, parse_day(date), limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE,
                                   exclude=hidden, fresh_votes=user is not None, order=checked_order(order))
    upvotes = {e.paper.id: e.upvotes for e in trend.entries}
    items = cards(services, user, [e.paper for e in trend.entries], upvotes)
    today = dt.date.today()
    is_current = trend.first <= today <= trend.last
    empty = not items and services.store.count_papers() == 0
    return page(request, services, "trending.html", {
        "trend": trend, "items": items, "page_number": page_number, "is_current": is_current,
        "empty_database": empty, "refresh_while_running": empty})
