"""The SQL store: SQLite by default, any SQLAlchemy URL (PostgreSQL) with the same code.

`SQLStore` opens the engine (store/db.py) and brings the schema up to date (store/migrate.py). Its paper and
embedding methods are those of `PaperStore` (store/papers.py) and `EmbeddingStore` (store/embeddings.py),
its comment counts those of `DiscussedStore` (store/discussed.py);
storing papers is the merge (store/merge.py); the other tables are reached through accessors that share the
engine: `accounts`, `authors`, `comments`, `notes`, `notifications`, `summaries`, `moderation`, `sessions`,
`submissions`, `topics`, `digests`, `webhooks`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import sqlalchemy as sa

from paperscope.errors import Fix, StoreError
from paperscope.models import Paper
from paperscope.store.accounts import AccountStore
from paperscope.store.authors import AuthorStore
from paperscope.store.base import Outcome, Store
from paperscope.store.comments import CommentStore
from paperscope.store.db import PoolOptions, create_engine, display_url, engine_url, first_line
from paperscope.store.digests import DigestStore
from paperscope.store.discussed import DiscussedStore
from paperscope.store.embeddings import EmbeddingStore
from paperscope.store.merge import merge_papers
from paperscope.store.migrate import current_revision, upgrade
from paperscope.store.moderation import ModerationStore
from paperscope.store.notes import NoteStore
from paperscope.store.notifications import NotificationStore
from paperscope.store.papers import PaperStore
from paperscope.store.sessions import SessionStore
from paperscope.store.submissions import SubmissionStore
from paperscope.store.summaries import SummaryStore
from paperscope.store.topics import TopicStore
from paperscope.store.webhooks import WebhookStore


class SQLStore(PaperStore, EmbeddingStore, DiscussedStore, Store):
    """All database I/O of paperscope."""

    def __init__(self, database: str, pool: PoolOptions | None = None) -> None:
        self.url = engine_url(database)
        self.engine = create_engine(self.url, pool or PoolOptions())
        try:
            upgrade(self.engine)  # the schema of this version, migrated in place
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise StoreError(f"Cannot open the database {self.display_url()}: {first_line(exc.orig)}. "
                             "Check the path or URL, that the file is writable or the server is running.",
                             fix=Fix.CHOOSE_DATABASE) from exc
        except StoreError:
            self.engine.dispose()
            raise

    def display_url(self) -> str:
        """The database URL with the password hidden, for messages."""
        return display_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def schema_version(self) -> str | None:
        return current_revision(self.engine)

    def upsert_papers(self, batch: Sequence[Paper]) -> list[Outcome]:
        return merge_papers(self.engine, batch)

    @functools.cached_property
    def accounts(self) -> AccountStore:
        """Users, libraries, votes and collections, on the same database."""
        return AccountStore(self.engine)

    @functools.cached_property
    def authors(self) -> AuthorStore:
        """Author records (authors that sources name by an id) and their papers, on the same database."""
        return AuthorStore(self.engine)

    @functools.cached_property
    def comments(self) -> CommentStore:
        """The discussion of papers: comments and replies, on the same database."""
        return CommentStore(self.engine)

    @functools.cached_property
    def notes(self) -> NoteStore:
        """Private notes on papers and the reading state of saved papers, on the same database."""
        return NoteStore(self.engine)

    @functools.cached_property
    def summaries(self) -> SummaryStore:
        """LLM summaries of papers and the failed attempts at them, on the same database."""
        return SummaryStore(self.engine)

    @functools.cached_property
    def notifications(self) -> NotificationStore:
        """Notifications, followed discussions and the e-mail choice, on the same database."""
        return NotificationStore(self.engine)

    @functools.cached_property
    def moderation(self) -> ModerationStore:
        """Hidden comments and papers, reports, blocked users, admin rights and the log, on the same database."""
        return ModerationStore(self.engine)

    @functools.cached_property
    def sessions(self) -> SessionStore:
        """Web sessions, API tokens and sign-in throttling, on the same database."""
        return SessionStore(self.engine)

    @functools.cached_property
    def submissions(self) -> SubmissionStore:
        """Papers users submitted by id, on the same database."""
        return SubmissionStore(self.engine)

    @functools.cached_property
    def topics(self) -> TopicStore:
        """The topic map: topics, assignments, layout; on the same database."""
        return TopicStore(self.engine)

    @functools.cached_property
    def digests(self) -> DigestStore:
        """Subscriptions, follows, the outbox and the papers sent to each user, on the same database."""
        return DigestStore(self.engine)

    @functools.cached_property
    def webhooks(self) -> WebhookStore:
        """Webhook subscriptions (chat channels, JSON endpoints) and their outbox messages, on the same database."""
        return WebhookStore(self.engine)
