"""digests: subscriptions, follows, outbox, papers sent, unsubscribes, feed tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _user_key() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


def _user_ref() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        _user_key(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("weekday", sa.Integer, nullable=False),
        sa.Column("max_papers", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _time("last_slot", nullable=True),
        _time("last_digest_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_ref(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        _time("created_at"),
        sa.UniqueConstraint("user_id", "kind", "value", name="uq_follows_user_kind_value"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        _user_ref(),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("paper_ids", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        _time("next_attempt_at"),
        sa.Column("claimed_by", sa.String(200)),
        _time("lease_until", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        _time("sent_at", nullable=True),
    )
    op.create_index("ix_outbox_state_next", "outbox", ["state", "next_attempt_at"])
    op.create_table(
        "sent_papers",
        _user_key(),
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id", ondelete="SET NULL")),
        _time("sent_at"),
    )
    op.create_table(
        "unsubscribes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_ref(),
        sa.Column("source", sa.String(32), nullable=False),
        _time("created_at"),
    )
    op.create_table(
        "feed_tokens",
        _user_key(),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        _time("created_at"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_state_next", table_name="outbox")
    for table in ("feed_tokens", "unsubscribes", "sent_papers", "outbox", "follows", "subscriptions"):
        op.drop_table(table)
