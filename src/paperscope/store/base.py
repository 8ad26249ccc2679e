"""The store interface: the only door to the database. Nothing outside `paperscope.store` writes SQL."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import numpy as np

from paperscope.config import LISTING_COUNT_LIMIT
from paperscope.models import Paper

if TYPE_CHECKING:
    from paperscope.store.accounts import AccountStore
    from paperscope.store.authors import AuthorStore
    from paperscope.store.comments import CommentStore
    from paperscope.store.digests import DigestStore
    from paperscope.store.discussed import DiscussedCandidate
    from paperscope.store.moderation import ModerationStore
    from paperscope.store.notes import NoteStore
    from paperscope.store.notifications import NotificationStore
    from paperscope.store.sessions import SessionStore
    from paperscope.store.submissions import SubmissionStore
    from paperscope.store.summaries import SummaryStore
    from paperscope.store.topics import TopicStore
    from paperscope.store.webhooks import WebhookStore


class Outcome(StrEnum):
    """What storing one incoming record did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PaperFilter:
    """Restrictions a search can add; None means no restriction."""

    published_from: dt.date | None = None
    published_to: dt.date | None = None
    category: str | None = None  # any of the paper's categories, e.g. "cs.LG"
    author: str | None = None  # one author with a word starting with each word given: "caron", "Caron, M."

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.published_from, self.published_to, self.category, self.author))


class Listing(NamedTuple):
    """A page of the listing and the count of the papers that match: all of them, or with `total_is_lower_bound`
    more than `total` (the count stopped there; at least one paper follows the page)."""

    papers: list[Paper]
    total: int
    total_is_lower_bound: bool = False


@dataclass(frozen=True, slots=True)
class TrendingCandidate:
    """A paper in a trending window: its id, upvotes from its source (HF), local votes and its date."""

    id: str
    upvotes: int
    votes: int
    date: dt.date


class Store(abc.ABC):
    """Papers, their embeddings and ingest state, behind one interface for SQLite and PostgreSQL; the rest of
    the database (accounts, comments, notes, notifications, summaries, moderation, sessions, submissions, topics,
    digests, webhooks) through the accessors of the same name.

    The methods that read papers for people to see (`get_papers`, `list_papers`, `trending_candidates`, the
    citation pages) leave out the papers an admin hid (`moderation`); `get_paper`, the look-up by any id,
    finds them too, so the web can show a hidden paper to admins alone."""

    url: str

    # The rest of the database -------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def accounts(self) -> AccountStore:
        """Users, libraries, votes and collections, on the same database."""

    @property
    @abc.abstractmethod
    def authors(self) -> AuthorStore:
        """Author records (authors that sources name by an id) and their papers."""

    @property
    @abc.abstractmethod
    def comments(self) -> CommentStore:
        """The discussion of papers: comments and replies."""

    @property
    @abc.abstractmethod
    def notes(self) -> NoteStore:
        """Private notes on papers and the reading state of saved papers."""

    @property
    @abc.abstractmethod
    def summaries(self) -> SummaryStore:
        """LLM summaries of papers and the failed attempts at them."""

    @property
    @abc.abstractmethod
    def notifications(self) -> NotificationStore:
        """Notifications of replies, mentions and followed discussions; the discussions users follow."""

    @property
    @abc.abstractmethod
    def moderation(self) -> ModerationStore:
        """Hidden comments and papers, reports, blocked users, admin rights and the moderation log."""

    @property
    @abc.abstractmethod
    def topics(self) -> TopicStore:
        """The topic map (store/topics.py), on the same database."""

    @property
    @abc.abstractmethod
    def sessions(self) -> SessionStore:
        """Web sessions, API tokens and sign-in throttling, on the same database."""

    @property
    @abc.abstractmethod
    def submissions(self) -> SubmissionStore:
        """Papers users submitted by id, on the same database."""

    @property
    @abc.abstractmethod
    def digests(self) -> DigestStore:
        """Subscriptions, follows, the outbox and the papers sent to each user, on the same database."""

    @property
    @abc.abstractmethod
    def webhooks(self) -> WebhookStore:
        """Webhook subscriptions (chat channels, JSON endpoints) and their outbox messages."""

    # Papers -------------------------------------------------------------------------------------

    @abc.abstractmethod
    def upsert_papers(self, papers: Sequence[Paper]) -> list[Outcome]:
        """Store a batch in one transaction, merging each record into the paper it duplicates.

        A record is the same paper as a stored one when they share any id (`Paper.refs`: arXiv id, DOI,
        PMID, ...), or, for a record without one (a derived `title-...` id), when its normalised title (and
        first author, where both name one) matches. The citation edges a record carries are stored with it.
        Returns one outcome per input record, in order.
        """

    @abc.abstractmethod
    def get_paper(self, paper_id: str) -> Paper | None:
        """The stored paper with this id, or known by this reference (an arXiv id or URL, a DOI in any
        spelling, "pmid:N", ...; see ids.parse_paper_ref), or None. Its `id` may differ from the one asked."""

    @abc.abstractmethod
    def cited_papers(self, paper_id: str, *, limit: int = 100, offset: int = 0) -> tuple[list[Paper], int]:
        """A page of the stored papers this paper cites, newest first, and how many there are."""

    @abc.abstractmethod
    def citation_neighbours(self, paper_id: str, *, limit: int = 100) -> list[tuple[str, int]]:
        """Stored papers tied to this one by citations, with how many ties: cited beside it by the same paper
        (co-citation) or citing the same papers (bibliographic coupling); most ties first."""

    @abc.abstractmethod
    def citing_papers(self, paper_id: str, *, limit: int = 100, offset: int = 0) -> tuple[list[Paper], int]:
        """A page of the stored papers that cite this paper, newest first, and how many there are."""

    @abc.abstractmethod
    def get_papers(self, paper_ids: Iterable[str], *, include_hidden: bool = False) -> dict[str, Paper]:
        """The stored papers among these ids that no admin hid (all of them with `include_hidden`: for models
        built over every paper, such as the recommender's corpus), keyed by id."""

    @abc.abstractmethod
    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]:
        """Every stored paper, in id order, read in batches."""

    @abc.abstractmethod
    def count_papers(self) -> int: ...

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts for `paperscope stats`: papers, per source, per primary category, date range."""

    @abc.abstractmethod
    def papers_modified_since(self, since: dt.datetime | None, batch_size: int = 1000
                              ) -> Iterator[tuple[list[Paper], dt.datetime]]:
        """Batches of papers added or changed after `since` (all with None), oldest change first, each
        with the latest modification time in it: the watermark an index keeps to update incrementally."""

    @abc.abstractmethod
    def latest_modification_time(self) -> dt.datetime | None:
        """When a paper was last added or changed (None for an empty store): a cheap "anything new?" check."""

    @abc.abstractmethod
    def papers_added_since(self, since: dt.datetime | None, limit: int | None = None) -> list[str]:
        """Ids of the papers stored after `since` (every paper with None), newest first; the newest `limit`
        of them when given."""

    @abc.abstractmethod
    def paper_dates(self, paper_ids: Sequence[str] | None = None) -> dict[str, dt.date]:
        """Each paper's date: published, else the day it was added to the store (all papers when None)."""

    @abc.abstractmethod
    def latest_paper_date(self) -> dt.date | None:
        """The newest paper date (publication, else day added), or None for an empty database."""

    @abc.abstractmethod
    def trending_candidates(self, first: dt.date, last: dt.date) -> list[TrendingCandidate]:
        """Papers dated within [first, last], with upvotes and local votes; hidden papers left out.

        A paper's date is its publication date, or for papers without one (daily listings carry none)
        the day it was added to this database.
        """

    @abc.abstractmethod
    def comment_counts(self, paper_ids: Iterable[str]) -> dict[str, int]:
        """Visible comments (not deleted, not hidden) per paper among these; papers without any are left out."""

    @abc.abstractmethod
    def discussed_candidates(self, first: dt.date, last: dt.date) -> list[DiscussedCandidate]:
        """Papers with visible comments written within [first, last], with how many, their upvotes and date."""

    # Filters and listings -----------------------------------------------------------------------

    @abc.abstractmethod
    def filter_ids(self, filters: PaperFilter) -> set[str]:
        """Ids of the papers that pass the filters (date range, category, author)."""

    @abc.abstractmethod
    def count_filter_matches(self, filters: PaperFilter, at_most: int) -> int:
        """How many papers pass the filters, counting no further than `at_most`."""

    @abc.abstractmethod
    def passing_filters(self, filters: PaperFilter, paper_ids: Collection[str]) -> set[str]:
        """Those of `paper_ids` that pass the filters: a few lookups per paper, however many others pass."""

    @abc.abstractmethod
    def list_papers(self, filters: PaperFilter | None = None, *, limit: int = 20, offset: int = 0,
                    count_limit: int = LISTING_COUNT_LIMIT) -> Listing:
        """Papers newest first (by publication date, then by when they were added), and how many match; hidden
        papers left out. The count may stop once more than max(`count_limit`, offset + limit) papers match:
        `total` is then that number and `total_is_lower_bound` says that more match."""

    # Embeddings ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def papers_to_embed(self, model: str, batch_size: int = 256) -> Iterator[list[Paper]]:
        """Batches of papers with no embedding from `model`, or one computed from older text."""

    @abc.abstractmethod
    def count_papers_to_embed(self, model: str) -> int: ...

    @abc.abstractmethod
    def save_embeddings(self, model: str, model_version: str, papers: Sequence[Paper],
                        vectors: np.ndarray) -> None:
        """Store one vector per paper (float32 rows), replacing earlier ones of the same model. Stored as float16
        (half the bytes); a vector with a value beyond float16's range is stored as float32."""

    @abc.abstractmethod
    def iter_embeddings(self, model: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                        batch_size: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """Stored vectors of a model (only those stored after `since` and up to `until`, when given),
        in batches of (paper ids, float32 matrix)."""

    def load_embeddings(self, model: str) -> tuple[list[str], np.ndarray]:
        """Every stored vector of a model at once: (paper ids, float32 matrix with one row per id). The matrix
        is allocated once at the stored count and filled batch by batch, so loading a million vectors needs the
        matrix and one batch, not the batches and a stacked copy of them."""
        ids: list[str] = []
        expected = int(self.embedding_models().get(model, {}).get("count", 0))
        matrix: np.ndarray | None = None
        for batch_ids, block in self.iter_embeddings(model):
            if matrix is None:
                matrix = np.empty((max(expected, len(block)), block.shape[1]), dtype=np.float32)
            if len(ids) + len(block) > len(matrix):  # vectors stored since the count: grow
                matrix = np.concatenate([matrix, np.empty((len(ids) + len(block) - len(matrix) + len(matrix) // 8,
                                                           matrix.shape[1]), dtype=np.float32)])
            matrix[len(ids):len(ids) + len(block)] = block
            ids += batch_ids
        if matrix is None:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, matrix[: len(ids)]

    @abc.abstractmethod
    def latest_embedding_time(self, model: str) -> dt.datetime | None:
        """When the newest vector of a model was stored: the watermark of a vector index."""

    @abc.abstractmethod
    def get_embedding(self, paper_id: str, model: str) -> np.ndarray | None: ...

    def get_embeddings(self, paper_ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
        """The stored vectors of a model of these papers, by paper id (papers without one are left out)."""
        found = {paper_id: self.get_embedding(paper_id, model) for paper_id in paper_ids}
        return {paper_id: vector for paper_id, vector in found.items() if vector is not None}

    @abc.abstractmethod
    def embedding_models(self) -> dict[str, dict[str, Any]]:
        """Every model with stored vectors: {model: {"versions": [...], "count": N}}."""

    @abc.abstractmethod
    def delete_embeddings(self, model: str) -> int:
        """Forget every vector of a model; returns how many were deleted."""

    @abc.abstractmethod
    def convert_embeddings(self, batch_size: int = 2000, progress: Callable[[int], None] | None = None) -> int:
        """Rewrite the vectors stored as float32 (by an older paperscope) as float16, batch by batch, each batch
        in a transaction of its own; returns how many were rewritten. `progress` gets the rows read per batch.
        Readers see either dtype as float32 throughout, so it may run beside them."""

    # Sync state ---------------------------------------------------------------------------------

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
