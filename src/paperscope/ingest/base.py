"""What every ingest source yields: located paper records and problems, never exceptions per record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple, Protocol

from paperscope.models import Paper


class Entry(NamedTuple):
    """A parsed paper and where it came from: the file or source, and "line 12", "entry 3"..."""

    origin: str
    where: str
    paper: Paper


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that was rejected (or, if `rejected` is False, kept with a warning).

    `message` says what is wrong and how to fix it; `origin` is the file or remote source,
    `where` the line, entry or page inside it.
    """

    origin: str
    where: str
    message: str
    rejected: bool = True

    def __str__(self) -> str:
        location = f"{self.origin}:{self.where}" if self.where else self.origin
        kind = "rejected" if self.rejected else "warning"
        return f"{location}: {kind}: {self.message}"


Item = Entry | Problem


class FileReader(Protocol):
    """A parser of one file format: reads a binary stream, yields entries and problems."""

    def __call__(self, stream: BinaryIO, origin: str) -> Iterator[Item]: ...


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Emitted by an incremental source once everything before it may be committed.

    The pipeline stores the pending records first, then saves `state` under `source`, so an
    interrupted run resumes from the last checkpoint and never skips what was not stored.
    """

    source: str
    state: dict[str, object] | None


SourceItem = Entry | Problem | Checkpoint
