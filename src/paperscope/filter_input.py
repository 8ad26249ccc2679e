"""A `PaperFilter` from what a user typed: the CLI's --from/--to/--category/--author, the search page's form
and the JSON API's query parameters all go through `parse_paper_filter`, so they accept the same text and
answer a bad date with the same message, which names the field ("from" or "to")."""

from __future__ import annotations

import datetime as dt

from paperscope.errors import InputError
from paperscope.ingest.fields import parse_date
from paperscope.store import PaperFilter


def parse_paper_filter(*, date_from: str | None = None, date_to: str | None = None, category: str | None = None,
                       author: str | None = None) -> PaperFilter:
    """The filter these texts describe; blank texts restrict nothing. InputError names the field of a bad date."""
    return PaperFilter(published_from=_date("from", date_from), published_to=_date("to", date_to),
                       category=_blank(category), author=_blank(author))


def _date(field: str, text: str | None) -> dt.date | None:
    try:
        return parse_date(_blank(text))
    except ValueError as exc:
        raise InputError(f"{field}: {exc}") from None


def _blank(text: str | None) -> str | None:
    return (text or "").strip() or None
