"""Parameters several routes read alike: record ids in paths, paging, a trending period and day, a feed's
format, and the search form (query, mode and filters). 400 answers name the parameter and the form it takes;
an id out of range answers 404 (web/app.py), as no record has it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import HTTPException, Path, Query

from paperscope.errors import InputError
from paperscope.feed.syndication import FeedFormat
from paperscope.feed.trending import Order, Period, parse_order, parse_period
from paperscope.filter_input import parse_paper_filter
from paperscope.index.search import MODES, Mode
from paperscope.limits import AUTHOR, CATEGORY, PAPER_ID, SEARCH_QUERY
from paperscope.store import MAX_RECORD_ID, PaperFilter
from paperscope.web.bounded import Bounded

#: A path's record id (collection, topic, token): bounded, so an id no record can have answers 404.
RecordId = Annotated[int, Path(ge=0, le=MAX_RECORD_ID, description=f"A record id, 0 to {MAX_RECORD_ID}")]
#: A paper id in a path: bounded like every text, so a control character (which PostgreSQL cannot even
#: compare) answers 404.
PaperIdPath = Annotated[str, Path(description="A paper id, e.g. 2503.11731"), Bounded(PAPER_ID)]
#: The days a trending page can show: wide enough for any paper, narrow enough that the neighbouring day,
#: week or month of either end is still a date.
FIRST_DAY, LAST_DAY = dt.date(1000, 1, 1), dt.date(2999, 12, 31)
OrderQuery = Annotated[str, Query(max_length=20, description="upvotes (default): upvotes with a recency decay; "
                                 "discussed: most comments written in the window, ties by upvotes")]
DayQuery = Annotated[str | None, Query(max_length=40, description=f"A day as YYYY-MM-DD, {FIRST_DAY} to {LAST_DAY}"
                                                                 " (default: the latest day with papers)")]
SearchText = Annotated[str, Query(description="The search query"), Bounded(SEARCH_QUERY)]
ModeQuery = Annotated[str, Query(max_length=20, description="hybrid (default), keyword or semantic")]
DateFrom = Annotated[str | None, Query(alias="from", max_length=40, description="Published on or after, YYYY-MM-DD")]
DateTo = Annotated[str | None, Query(alias="to", max_length=40, description="Published on or before, YYYY-MM-DD")]
CategoryQuery = Annotated[str | None, Query(description="A category, e.g. cs.LG"), Bounded(CATEGORY)]
AuthorQuery = Annotated[str | None, Query(description="An author's name or part of it"), Bounded(AUTHOR)]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip")]
FormatQuery = Annotated[FeedFormat, Query(alias="format", description="atom (default) or rss")]


def parse_day(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD query parameter from FIRST_DAY to LAST_DAY; 400 with the expected form otherwise."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"date must be a day as YYYY-MM-DD, not {value[:40]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(400, f"date must be a day from {FIRST_DAY} to {LAST_DAY}, not {value}")
    return day


def form_record_id(value: str, field: str) -> int:
    """A record id sent in a form field; 400 naming the field when it is not one."""
    cleaned = value.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or int(cleaned) > MAX_RECORD_ID:
        raise HTTPException(400, f"{field} must be a whole number from 0 to {MAX_RECORD_ID}, not {value[:40]!r}")
    return int(cleaned)


def checked_period(value: str | None) -> Period:
    """The `period` query parameter; 400 naming the choices otherwise."""
    try:
        return parse_period(value)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def checked_order(value: str | None) -> Order:
    """The trending `order` query parameter; 400 naming the choices otherwise."""
    try:
        return parse_order(value)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


@dataclass
class SearchForm:
    """The search parameters of the search page, its BibTeX and feed, and the JSON API (blanks as None)."""

    q: str
    mode: str
    date_from: str | None
    date_to: str | None
    category: str | None
    author: str | None

    def filters(self) -> PaperFilter:
        """The filter of the form; InputError names a bad date's field."""
        return parse_paper_filter(date_from=self.date_from, date_to=self.date_to, category=self.category,
                                  author=self.author)

    def checked_mode(self) -> Mode:
        for mode in MODES:
            if mode == self.mode:
                return mode
        raise InputError(f"mode must be one of {', '.join(MODES)}")

    def query_string(self) -> str:
        pairs = {"q": self.q, "mode": self.mode, "from": self.date_from, "to": self.date_to,
                 "category": self.category, "author": self.author}
        return urlencode({k: v for k, v in pairs.items() if v and not (k == "mode" and v == "hybrid")})


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


def search_form(q: SearchText = "", mode: ModeQuery = "hybrid", date_from: DateFrom = None, date_to: DateTo = None,
                category: CategoryQuery = None, author: AuthorQuery = None) -> SearchForm:
    """The search parameters, blanks as None."""
    return SearchForm(q=q.strip(), mode=mode, date_from=_blank(date_from), date_to=_blank(date_to),
                      category=_blank(category), author=_blank(author))
