"""The database schema as SQLAlchemy Core tables: the shape the latest migration produces."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

#: The largest value of an Integer id column on every backend (32 bits on PostgreSQL): no record has a larger id.
MAX_RECORD_ID = 2**31 - 1

papers = Table(
    "papers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, default=""),
    Column("authors", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("primary_category", String(64)),
    Column("published", Date),
    Column("updated", Date),
    Column("version", Integer),
    Column("abs_url", Text),
    Column("pdf_url", Text),
    Column("doi", Text),
    Column("comment", Text),
    Column("journal_ref", Text),
    Column("sources", JSON, nullable=False),
    Column("upvotes", Integer),
    Column("github_repo", Text),
    Column("github_stars", Integer),
    Column("project_page", Text),
    Column("ai_keywords", JSON, nullable=False),
    Column("submitter", Text),
    Column("ids", JSON, nullable=False),  # every id the paper is known by, "kind:value", sorted (migration 0012)
    Column("citation_count", Integer),
    Column("title_key", Text, nullable=False),
    Column("first_author_key", Text, nullable=False),
    Column("content_hash", String(40), nullable=False),  # of title and abstract: what embeddings depend on
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("modified_at", DateTime(timezone=True), nullable=False),
    Index("ix_papers_title_key", "title_key"),
    Index("ix_papers_modified_at", "modified_at"),
)

# The listing's order, newest first, undated last (migration 0010 writes NULLS LAST on PostgreSQL; SQLite
# orders NULLs so without being told, and refuses the words in an index).
Index("ix_papers_listing", papers.c.published.desc(), papers.c.added_at.desc(), papers.c.id)
Index("ix_papers_added", papers.c.added_at.desc(), papers.c.id)  # newest first: digests, the recommendation corpus

# Filters (migration 0009) ------------------------------------------------------------------------
# Each paper's categories and the words of its authors' names, one row each, rewritten with the paper in the
# same transaction (store/filters.py), so that category and author filters read an index, not every paper's
# JSON. Values are cut at INDEXED_CHARS (a PostgreSQL index entry must fit in a third of a page).

paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("category", Text, primary_key=True),
    Index("ix_paper_categories_category", "category", "paper_id"),
)

# Byte order ("C" collation on PostgreSQL, SQLite's default BINARY) so that a word prefix is an index range.
WORD_TYPE = Text().with_variant(Text(collation="C"), "postgresql")

paper_author_words = Table(
    "paper_author_words",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the author's place in the list, 0 first
    Column("word", WORD_TYPE, primary_key=True),  # ids.author_words of the name
    Index("ix_paper_author_words_word", "word", "paper_id", "position"),
)

# Ids and citations (migration 0012) --------------------------------------------------------------
# Every reference ("kind:value", see paperscope.ids) a stored paper is known by, so that a record from any
# source finds the paper it duplicates, and `/papers/doi:...` finds its paper. Rewritten with the paper.
paper_ids = Table(
    "paper_ids",
    metadata,
    Column("ref", String(300), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Index("ix_paper_ids_paper", "paper_id"),
)

# Citation edges, citing paper -> cited paper, each side a reference: an edge whose paper is not stored yet
# is kept and resolves (through `paper_ids`) when that paper arrives; merges never have to move an edge.
citations = Table(
    "citations",
    metadata,
    Column("citing_ref", String(300), primary_key=True),
    Column("cited_ref", String(300), primary_key=True),
    Index("ix_citations_cited", "cited_ref", "citing_ref"),
)

# Authors a source names by an id (ORCID, OpenAlex, Semantic Scholar; paperscope.ids.author_ref): one record
# per person, found by any of their ids, with every spelling of the name seen; `paper_authors` places them
# in papers' author lists. Authors known only by name have no record.
authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),  # the name as first seen
    Column("names", JSON, nullable=False),  # every spelling seen
    Column("name_key", Text, nullable=False),  # ids.title_key of the name, for author search
    Index("ix_authors_name_key", "name_key"),
)

author_ids = Table(
    "author_ids",
    metadata,
    Column("ref", String(300), primary_key=True),
    Column("author_id", Integer, ForeignKey("authors.id", ondelete="CASCADE"), nullable=False),
    Index("ix_author_ids_author", "author_id"),
)

paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the place in the paper's author list, 0 first
    Column("author_id", Integer, ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_paper_authors_author", "author_id", "paper_id"),
)

# One vector per paper and embedding model; `content_hash` tells when the paper's text changed since.
embeddings = Table(
    "embeddings",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("model_version", String(200), nullable=False),
    Column("content_hash", String(40), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # little-endian, of the dtype named in vector_dtype
    # "float16" or "float32"; rows written without it (before it existed) are float32
    Column("vector_dtype", String(8), nullable=False, server_default="float32"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_embeddings_model_created", "model", "created_at"),  # the newest vector of a model, fast
    Index("ix_embeddings_model_paper", "model", "paper_id"),  # every vector of a model, in keyset order
)

# Where each incremental source (an arXiv query, say) got to, so the next run starts from there.
sync_state = Table(
    "sync_state",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Topics (migration 0004) ------------------------------------------------------------------------
# The current topic map: one row per build in `topic_maps`, topics whose ids stay stable across rebuilds
# (a topic that no longer matches is retired, never reused), and one assignment per paper.

topic_maps = Table(
    "topic_maps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False),  # the embedding model whose vectors were clustered
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("n_papers", Integer, nullable=False),
    Column("n_topics", Integer, nullable=False),
    Column("n_outliers", Integer, nullable=False),
    Column("params", JSON, nullable=False),  # method, chosen k, thresholds, seed, silhouette, ...
    Column("state", LargeBinary),  # the fitted model (npz): what incremental assignment predicts with
    # The broad areas the topics were merged into (migration 0018): [{"id", "label", "keywords", "topic_ids",
    # "size", "x", "y"}]; null for a map built before areas existed.
    Column("areas", JSON),
)

topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # stable across rebuilds
    Column("map_id", Integer, ForeignKey("topic_maps.id"), nullable=False),  # the last build it was part of
    Column("label", Text, nullable=False),
    Column("keywords", JSON, nullable=False),
    Column("representative_ids", JSON, nullable=False),
    Column("description", Text),  # an LLM explanation, when one was asked for
    Column("size", Integer, nullable=False),
    Column("cohesion", Float, nullable=False),
    Column("centroid", LargeBinary, nullable=False),  # float32, little-endian, unit length, embedding space
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("neighbours", JSON, nullable=False),  # [{"id": topic id, "separability": 0..1}], nearest first
    Column("parent_id", Integer),  # the earlier topic this one split from, if any
    Column("emerging", Boolean, nullable=False, default=False),  # new against the previous map
    Column("emerged_at", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),  # no longer in the current map
    Index("ix_topics_map", "map_id"),
)

topic_assignments = Table(
    "topic_assignments",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", Integer, ForeignKey("topics.id")),  # None: an outlier
    Column("score", Float, nullable=False),  # cosine similarity to the topic's centre
    Column("other_topics", JSON, nullable=False),  # [{"id", "score"}]: further topics the paper is close to
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("map_id", Integer, ForeignKey("topic_maps.id"), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Index("ix_topic_assignments_topic", "topic_id", "score"),
)

# Accounts (migration 0005) ----------------------------------------------------------------------
# Users, what they keep (library), what they mark "not interested", their votes and collections.
# Rows that point at papers follow a paper when it is absorbed into another record (see sql.py).

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", Text),  # None: the user cannot sign in (created by an operator)
    Column("display_name", Text),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Discussion and moderation (migration 0014): the name @mentions use, admin rights, a block by an admin,
    # and when to e-mail about replies and mentions ("off", "digest", "immediate").
    Column("handle", String(32), unique=True),
    Column("is_admin", Boolean, nullable=False, default=False, server_default=false()),
    Column("blocked_at", DateTime(timezone=True)),
    Column("notify_email", String(16), nullable=False, default="digest", server_default="digest"),
)

# One row per (user, paper): "saved" (in the library) or "hidden" (not interested); one excludes the other.
library = Table(
    "library",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # How far the user got with a saved paper: to-read, reading, read (migration 0013).
    Column("reading", String(16), nullable=False, server_default="to-read"),
    Index("ix_library_user_state", "user_id", "state"),
)

tags = Table(
    "tags",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One vote per user per paper, by the primary key.
votes = Table(
    "votes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_votes_paper", "paper_id"),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("public", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "name", name="uq_collections_user_name"),
)

collection_papers = Table(
    "collection_papers",
    metadata,
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

# One private Markdown note per user and paper (migration 0013), shown to its author only.
notes = Table(
    "notes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_notes_user_updated", "user_id", "updated_at"),
)

# Each user's recommendation signal mix, chosen from their library (recommend/mix.py, migration 0017), kept until
# the library changes: `library_key` is the digest of the library it was chosen from.
signal_mixes = Table(
    "signal_mixes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("library_key", String(64), nullable=False),
    Column("mix", JSON, nullable=False),  # {"weights": {signal: weight}, "chosen": bool, "quality": ...}
    Column("chosen_at", DateTime(timezone=True), nullable=False),
)

# Tables that reference papers.id: rows are re-pointed when a paper record is absorbed into another.
PAPER_REFERENCES = [(library, "paper_id"), (tags, "paper_id"), (votes, "paper_id"), (collection_papers, "paper_id"),
                    (paper_authors, "paper_id"), (notes, "paper_id")]

# Digests (migration 0006) -----------------------------------------------------------------------
# Subscriptions, follows (cold start), the outbox that makes sending idempotent, the papers each user was
# sent (each at most once, ever), unsubscribes and the secret tokens of private feeds.

# One subscription per user: what (personal, trending, both), how often, at which local hour (users.timezone).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), nullable=False),  # personal, trending, both
    Column("frequency", String(16), nullable=False),  # daily, weekly
    Column("hour", Integer, nullable=False),  # 0-23, in the user's time zone
    Column("weekday", Integer, nullable=False),  # 0 = Monday; the day of weekly digests
    Column("max_papers", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("last_slot", DateTime(timezone=True)),  # the schedule slot of the last digest composed
    Column("last_digest_at", DateTime(timezone=True)),  # when it was composed: later papers are "new"
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("by_tag", Boolean, nullable=False, default=False, server_default=false()),  # a section for each tag
)

# What a user follows: a saved search (query), an author, or a topic of the topic map (its id as text).
follows = Table(
    "follows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # query, author, topic
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "kind", "value", name="uq_follows_user_kind_value"),
)

# One row per message, composed in full before any delivery: a crash and a restart send it exactly once.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),  # digest:USER:SLOT
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", Text, nullable=False),  # the whole RFC 5322 message, as it goes on the wire
    Column("paper_ids", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # pending, sending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(200)),  # host:pid of the process sending it
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    # "email", or "webhook" for a message to `webhook_id` (migration 0015): the body to POST, as it goes out.
    Column("channel", String(16), nullable=False, default="email", server_default="email"),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE", name="fk_outbox_webhook_id")),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
    Index("ix_outbox_webhook", "webhook_id"),
)

# The primary key makes it "each paper to a user at most once, ever".
sent_papers = Table(
    "sent_papers",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="SET NULL")),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

unsubscribes = Table(
    "unsubscribes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(32), nullable=False),  # link, one-click, cli, web
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The secret of a user's private RSS feed (/feeds/users/{token}.xml); a new token revokes the old one.
feed_tokens = Table(
    "feed_tokens",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

PAPER_REFERENCES.append((sent_papers, "paper_id"))

# Web (migration 0007) ---------------------------------------------------------------------------
# Server-side sessions and API tokens (only SHA-256 hashes of the secrets are stored), failed sign-ins
# for rate limiting, and papers users submitted by id (arXiv, DOI, PubMed, OpenReview).

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_web_sessions_user", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the first characters, shown to tell tokens apart
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Index("ix_api_tokens_user", "user_id"),
)

# One row per event a rate limit counts (`paperscope.throttle`): a failed sign-in, a sign-up, a submission;
# keyed by what is limited, e.g. "sign-in:account:EMAIL" or "submission:address:ADDRESS".
throttle_events = Table(
    "throttle_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_throttle_events_key_time", "key", "at"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("arxiv_id", String(64), nullable=False),
    Column("paper_id", String(64)),  # the stored paper, when the fetch succeeded
    Column("status", String(16), nullable=False),  # added, updated, unchanged or failed
    Column("message", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_submissions_user", "user_id", "created_at"),
)


# Discussion (migration 0014) ----------------------------------------------------------------------
# Comments on papers with replies, the notifications they cause, followed discussions, and moderation:
# reports, papers hidden by an admin, and the log of every moderation action.

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    # None once its author's account is deleted: the thread and its replies stay.
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="CASCADE")),
    Column("body", Text, nullable=False),  # Markdown as written; "" once deleted
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("edited_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Column("hidden_at", DateTime(timezone=True)),
    Column("hidden_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Index("ix_comments_paper_created", "paper_id", "created_at"),
    Index("ix_comments_user_created", "user_id", "created_at"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # reply, mention, discussion (a followed paper)
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Column("emailed_at", DateTime(timezone=True)),
    UniqueConstraint("user_id", "comment_id", name="uq_notifications_user_comment"),
    Index("ix_notifications_user_read", "user_id", "read_at"),
)

discussion_follows = Table(
    "discussion_follows",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

comment_reports = Table(
    "comment_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    UniqueConstraint("comment_id", "user_id", name="uq_comment_reports_comment_user"),
)

hidden_papers = Table(
    "hidden_papers",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("hidden_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("reason", Text, nullable=False),
    Column("hidden_at", DateTime(timezone=True), nullable=False),
)

moderation_log = Table(
    "moderation_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),  # None: the command line
    Column("action", String(32), nullable=False),  # hide-comment, block-user, make-admin, ...
    Column("target_kind", String(16), nullable=False),  # comment, paper, user
    Column("target_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_moderation_log_created", "created_at"),
)

# Comments move to the surviving paper with an UPDATE in the merge (their ids are kept for replies); these
# keyed by (user, paper) move like the library's rows.
PAPER_REFERENCES.extend([(discussion_follows, "paper_id"), (hidden_papers, "paper_id")])

# Webhooks (migration 0015) --------------------------------------------------------------------------
# Digests delivered to a chat channel's incoming webhook (Slack, Mattermost, Discord, Microsoft Teams) or as a
# signed JSON payload to any URL, through the outbox; a webhook failing too often in a row is disabled.

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("format", String(16), nullable=False),  # slack, mattermost, discord, teams, json
    Column("secret", String(64), nullable=False),  # HMAC-SHA256 key of the json format's signature
    Column("content", String(16), nullable=False),  # trending, query, topic, personal
    Column("value", Text),  # the followed search, or the topic id; None for trending and personal
    Column("frequency", String(16), nullable=False),  # daily, weekly
    Column("hour", Integer, nullable=False),  # 0-23, in the user's time zone
    Column("weekday", Integer, nullable=False),  # 0 = Monday; the day of weekly messages
    Column("max_papers", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("consecutive_failures", Integer, nullable=False, default=0, server_default="0"),
    Column("disabled_at", DateTime(timezone=True)),
    Column("disabled_reason", Text),
    Column("last_slot", DateTime(timezone=True)),  # the schedule slot of the last message composed
    Column("last_digest_at", DateTime(timezone=True)),  # when it was composed: later papers are "new"
    Column("last_test_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhooks_user", "user_id"),
)


# Summaries (migration 0016) -----------------------------------------------------------------------
# An LLM's one-sentence summary and three key phrases per paper (optional: PAPERSCOPE_LLM_URL), kept apart from
# `papers` so that storing a paper never waits for a model. A row without a summary is a paper that failed:
# `attempts` so far, `retry_at` when it may be tried again (None: given up).

paper_summaries = Table(
    "paper_summaries",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("summary", Text),  # one sentence, sanitised; None while the paper has failed
    Column("key_phrases", JSON),  # three short phrases, sanitised
    Column("model", String(200), nullable=False),  # the model that wrote it (or was last asked)
    Column("created_at", DateTime(timezone=True), nullable=False),  # summarised, or last failed
    Column("attempts", Integer, nullable=False, default=0),  # failed attempts
    Column("retry_at", DateTime(timezone=True)),
    Column("error", Text),  # why the last attempt failed
    Index("ix_paper_summaries_retry", "retry_at"),
)

PAPER_REFERENCES.append((paper_summaries, "paper_id"))
