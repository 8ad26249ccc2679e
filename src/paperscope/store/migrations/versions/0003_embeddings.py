"""embeddings per paper and model; papers get a content hash and an index on modification time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embeddings",
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(40), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_embeddings_model_created", "embeddings", ["model", "created_at"])
    op.create_index("ix_papers_modified_at", "papers", ["modified_at"])
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(40), nullable=False, server_default=""))
    # Fill the new column for papers stored before this migration.
    papers = sa.table("papers", sa.column("id", sa.String), sa.column("title", sa.Text),
                      sa.column("abstract", sa.Text), sa.column("content_hash", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(papers.c.id, papers.c.title, papers.c.abstract)).all()
    for paper_id, title, abstract in rows:
        connection.execute(papers.update().where(papers.c.id == paper_id)
                           .values(content_hash=_content_hash(title, abstract)))


def _content_hash(title: str, abstract: str) -> str:
    """The hash this migration writes (paperscope.models.content_hash), kept here so that replaying it writes
    the same rows whatever paperscope.models becomes."""
    return hashlib.sha1(f"{title}\n{abstract}".encode()).hexdigest()


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("content_hash")
    op.drop_index("ix_papers_modified_at", "papers")
    op.drop_table("embeddings")
