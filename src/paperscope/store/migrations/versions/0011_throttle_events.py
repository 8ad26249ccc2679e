"""throttle events: one table for every rate limit (sign-in failures, sign-ups, submissions)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

`sign_in_failures` counted failed sign-ins only. The rate limits of sign-ups and submissions count their events
in the same way (a key such as "sign-up:address:ADDRESS" and a time), so the table gets a name that says so.
Its rows live for minutes and guard nothing once they are gone, so they are not copied.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_throttle_events_key_time", "throttle_events", ["key", "at"])
    op.drop_index("ix_sign_in_failures_key_time", "sign_in_failures")
    op.drop_table("sign_in_failures")


def downgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_failures_key_time", "sign_in_failures", ["key", "failed_at"])
    op.drop_index("ix_throttle_events_key_time", "throttle_events")
    op.drop_table("throttle_events")
