"""Network sources named on the command line: `arxiv:QUERY` and `hf:daily[:YYYY-MM-DD]`."""

from __future__ import annotations

from collections.abc import Iterator

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.ingest.base import SourceItem
from paperscope.store import Store


def network_items(source: str, store: Store, settings: Settings, *,
                  limit: int | None = None) -> Iterator[SourceItem]:
    """The items of a network source; incremental sources resume from the state kept in `store`."""
    scheme, _, rest = source.partition(":")
    scheme = scheme.lower()
    if scheme == "arxiv":
        from paperscope.ingest.arxiv_api import arxiv_items

        return arxiv_items(rest, store, settings, limit=limit)
    if scheme == "hf":
        from paperscope.ingest.hf import hf_daily_items

        return hf_daily_items(rest, settings)
    raise InputError(f"Unknown source {source!r}; network sources are arxiv:QUERY and hf:daily[:YYYY-MM-DD].")
