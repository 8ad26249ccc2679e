"""each user's recommendation signal mix

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

`signal_mixes` keeps, per user, the weights of the recommendation signals chosen from their library, with the
digest of the library they were chosen from; a changed library chooses again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signal_mixes",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("library_key", sa.String(64), nullable=False),
        sa.Column("mix", sa.JSON, nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signal_mixes")
