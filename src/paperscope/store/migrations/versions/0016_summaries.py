"""LLM summaries of papers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

`paper_summaries` holds, per paper, the one-sentence summary and three key phrases an OpenAI-compatible model
wrote (PAPERSCOPE_LLM_URL), with the model's name; a row without a summary is a paper whose summary failed,
with its failed attempts and when it may be tried again. Apart from `papers`: nothing in a paper's row
depends on a model.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_summaries",
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("summary", sa.Text),
        sa.Column("key_phrases", sa.JSON),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_paper_summaries_retry", "paper_summaries", ["retry_at"])


def downgrade() -> None:
    op.drop_index("ix_paper_summaries_retry", "paper_summaries")
    op.drop_table("paper_summaries")
