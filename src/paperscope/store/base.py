"""The store interface: the only door to the database. Nothing outside `paperscope.store` writes SQL."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any

from paperscope.models import Paper


class Outcome(StrEnum):
    """What storing one incoming record did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class Store(abc.ABC):
    """Papers and ingest state, behind one interface for SQLite and PostgreSQL."""

    url: str

    @abc.abstractmethod
    def upsert_papers(self, papers: Sequence[Paper]) -> list[Outcome]:
        """Store a batch in one transaction, merging each record into the paper it duplicates.

        A record is the same paper as a stored one when its id matches, or, for a record without a
        source id (a derived `title-...` id), when its normalised title (and first author, where both
        name one) matches. Returns one outcome per input record, in order.
        """

    @abc.abstractmethod
    def get_paper(self, paper_id: str) -> Paper | None:
        """The stored paper with this id (arXiv ids are normalised first), or None."""

    @abc.abstractmethod
    def get_papers(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        """The stored papers among these ids, keyed by id."""

    @abc.abstractmethod
    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]:
        """Every stored paper, in id order, read in batches."""

    @abc.abstractmethod
    def count_papers(self) -> int: ...

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts for `paperscope stats`: papers, per source, per primary category, date range."""

    @abc.abstractmethod
    def get_sync_state(self, source: str) -> dict[str, Any] | None:
        """Where an incremental source got to on its last run."""

    @abc.abstractmethod
    def set_sync_state(self, source: str, state: dict[str, Any] | None) -> None:
        """Record (or with None, forget) where an incremental source got to."""

    @abc.abstractmethod
    def schema_version(self) -> str | None:
        """The migration the database is at."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
