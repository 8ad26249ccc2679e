"""subscriptions.by_tag: a digest may rank each of the user's tags apart

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

Every subscription stored before this revision ranks the whole library, which the column's default says.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("by_tag", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("by_tag")
