"""an index on embeddings (model, paper_id): reading every vector of a model in id order

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

Without it SQLite read each batch of a full read (`iter_embeddings`, keyset on paper_id) through the
(model, created_at) index and sorted what remained: 1.9 s per 10,000 vectors at 1M papers.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_embeddings_model_paper", "embeddings", ["model", "paper_id"])


def downgrade() -> None:
    op.drop_index("ix_embeddings_model_paper", "embeddings")
