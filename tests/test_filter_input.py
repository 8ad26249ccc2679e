"""One reading of a PaperFilter from typed text, for the CLI, the search page and the JSON API."""

from __future__ import annotations

import datetime as dt

import pytest

from paperscope.errors import InputError
from paperscope.filter_input import parse_paper_filter
from paperscope.store import PaperFilter


def test_texts_become_a_filter_and_blanks_restrict_nothing() -> None:
    assert parse_paper_filter(date_from="2026-06-01", date_to=" ", category=" cs.LG ", author="") == PaperFilter(
        published_from=dt.date(2026, 6, 1), category="cs.LG")
    assert not parse_paper_filter()


@pytest.mark.parametrize("field", ["from", "to"])
def test_a_bad_date_names_its_field(field: str) -> None:
    with pytest.raises(InputError, match=rf"^{field}: 'June' is not a date; write it as YYYY-MM-DD"):
        parse_paper_filter(**{f"date_{field}": "June"})
