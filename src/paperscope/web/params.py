"""Query parameters several routes read alike: paging, a trending period and day, a feed's format, and the
search form (query, mode and filters). 400 answers name the parameter and the form it takes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import HTTPException, Query

from paperscope.errors import InputError
from paperscope.feed.syndication import FeedFormat
from paperscope.feed.trending import Period, parse_period
from paperscope.filter_input import parse_paper_filter
from paperscope.index.search import MODES, Mode
from paperscope.store import PaperFilter

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip")]
FormatQuery = Annotated[FeedFormat, Query(alias="format", description="atom (default) or rss")]


def parse_day(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD query parameter; 400 with the expected form otherwise."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"date must be a day as YYYY-MM-DD, not {value[:40]!r}") from None


def checked_period(value: str | None) -> Period:
    """The `period` query parameter; 400 naming the choices otherwise."""
    try:
        return parse_period(value)
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


def search_form(q: str = "", mode: str = "hybrid",
                date_from: Annotated[str | None, Query(alias="from")] = None,
                date_to: Annotated[str | None, Query(alias="to")] = None,
                category: str | None = None, author: str | None = None) -> SearchForm:
    """The search parameters, blanks as None."""
    return SearchForm(q=q.strip(), mode=mode, date_from=_blank(date_from), date_to=_blank(date_to),
                      category=_blank(category), author=_blank(author))
