"""Network sources named on the command line (`arxiv:QUERY`, `hf:daily[:YYYY-MM-DD]`, ...): one entry per
scheme in NETWORK_SOURCES, each the module and function that reads it, imported when used."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.ingest.base import SourceItem
from paperscope.store import Store


class NetworkSource(Protocol):
    """Reads one network source: `spec` is the source without its scheme ("cs.LG" of "arxiv:cs.LG")."""

    def __call__(self, spec: str, store: Store, settings: Settings, *,
                 limit: int | None) -> Iterator[SourceItem]: ...


# scheme -> (module, function, what to write after the scheme)
NETWORK_SOURCES: dict[str, tuple[str, str, str]] = {
    "arxiv": ("paperscope.ingest.arxiv_api", "arxiv_items", "QUERY"),
    "hf": ("paperscope.ingest.hf", "hf_items", "daily[:YYYY-MM-DD]"),
    "s2": ("paperscope.ingest.semantic_scholar_api", "s2_items",
           "QUERY | s2:id:ID[,ID...] | s2:references:ID | s2:citations:ID"),
    "pubmed": ("paperscope.ingest.pubmed_api", "pubmed_items", "QUERY"),
    "biorxiv": ("paperscope.ingest.biorxiv", "biorxiv_items", "FROM/TO"),
    "medrxiv": ("paperscope.ingest.biorxiv", "medrxiv_items", "FROM/TO"),
    "openreview": ("paperscope.ingest.openreview", "openreview_items", "VENUE_ID"),
    "openalex": ("paperscope.ingest.openalex", "openalex_items", "QUERY|filter:FILTER"),
    "crossref": ("paperscope.ingest.crossref", "crossref_items", "QUERY"),
    "doi": ("paperscope.ingest.crossref", "doi_items", "10.NNNN/SUFFIX"),
}


def is_network_source(source: str) -> bool:
    """Whether `source` names a network source (and is not a file that happens to be called so)."""
    scheme, sep, _ = source.partition(":")
    return bool(sep) and scheme.lower() in NETWORK_SOURCES and not Path(source).exists()


def network_items(source: str, store: Store, settings: Settings, *,
                  limit: int | None = None) -> Iterator[SourceItem]:
    """The items of a network source; incremental sources resume from the state kept in `store`."""
    scheme, _, spec = source.partition(":")
    entry = NETWORK_SOURCES.get(scheme.lower())
    if entry is None:
        raise InputError(f"Unknown source {source!r}; network sources are {network_source_forms()}.")
    module, function, _ = entry
    reader: NetworkSource = getattr(importlib.import_module(module), function)
    return reader(spec, store, settings, limit=limit)


def network_source_forms() -> str:
    """The network sources as a user writes them, for messages and help."""
    return ", ".join(f"{scheme}:{form}" for scheme, (_, _, form) in NETWORK_SOURCES.items())

