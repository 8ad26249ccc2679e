"""The database schema as SQLAlchemy Core tables: the shape the latest migration produces."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, MetaData, String, Table, Text

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
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("modified_at", DateTime(timezone=True), nullable=False),
    Index("ix_papers_title_key", "title_key"),
    Index("ix_papers_published", "published"),
)

# Where each incremental source (an arXiv query, say) got to, so the next run starts from there.
sync_state = Table(
    "sync_state",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
