"""The database schema as SQLAlchemy Core tables: the shape the latest migration produces."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

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
    Column("title_key", Text, nullable=False),
    Column("first_author_key", Text, nullable=False),
    Column("content_hash", String(40), nullable=False),  # of title and abstract: what embeddings depend on
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("modified_at", DateTime(timezone=True), nullable=False),
    Index("ix_papers_title_key", "title_key"),
    Index("ix_papers_published", "published"),
    Index("ix_papers_modified_at", "modified_at"),
)

# One vector per paper and embedding model; `content_hash` tells when the paper's text changed since.
embeddings = Table(
    "embeddings",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("model_version", String(200), nullable=False),
    Column("content_hash", String(40), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_embeddings_model_created", "model", "created_at"),  # the newest vector of a model, fast
)

# Where each incremental source (an arXiv query, say) got to, so the next run starts from there.
sync_state = Table(
    "sync_state",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
