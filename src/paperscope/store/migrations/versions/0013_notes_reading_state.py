"""private notes on papers, and the reading state of saved papers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

`notes` holds one private Markdown note per (user, paper). `library.reading` says how far a user got with a saved
paper: "to-read", "reading" or "read"; papers saved so far start as "to-read".
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notes_user_updated", "notes", ["user_id", "updated_at"])
    with op.batch_alter_table("library") as batch:
        batch.add_column(sa.Column("reading", sa.String(16), nullable=False, server_default="to-read"))


def downgrade() -> None:
    with op.batch_alter_table("library") as batch:
        batch.drop_column("reading")
    op.drop_index("ix_notes_user_updated", "notes")
    op.drop_table("notes")
