"""webhooks: digests delivered to chat channels and JSON endpoints through the outbox

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

`webhooks` holds each user's webhook subscriptions: the endpoint (a Slack, Mattermost, Discord or Microsoft Teams
incoming webhook, or any URL that takes the JSON payload), its secret (the HMAC key of the JSON payload), what it
carries (trending papers, a followed search, a topic or the user's recommendations), its schedule, and its
health (consecutive failed deliveries; disabled when too many). Outbox rows get a `channel` ("email" or
"webhook") and, for webhook messages, the `webhook_id` they go to.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),  # slack, mattermost, discord, teams, json
        sa.Column("secret", sa.String(64), nullable=False),  # HMAC-SHA256 key of the json format's signature
        sa.Column("content", sa.String(16), nullable=False),  # trending, query, topic, personal
        sa.Column("value", sa.Text),  # the followed search, or the topic id; None for trending and personal
        sa.Column("frequency", sa.String(16), nullable=False),  # daily, weekly
        sa.Column("hour", sa.Integer, nullable=False),  # 0-23, in the user's time zone
        sa.Column("weekday", sa.Integer, nullable=False),  # 0 = Monday; the day of weekly messages
        sa.Column("max_papers", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("last_slot", sa.DateTime(timezone=True)),
        sa.Column("last_digest_at", sa.DateTime(timezone=True)),
        sa.Column("last_test_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhooks_user", "webhooks", ["user_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default="email"))
        batch.add_column(sa.Column("webhook_id", sa.Integer))
        batch.create_foreign_key("fk_outbox_webhook_id", "webhooks", ["webhook_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_outbox_webhook", ["webhook_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_webhook")
        batch.drop_constraint("fk_outbox_webhook_id", type_="foreignkey")
        batch.drop_column("webhook_id")
        batch.drop_column("channel")
    op.drop_index("ix_webhooks_user", "webhooks")
    op.drop_table("webhooks")
