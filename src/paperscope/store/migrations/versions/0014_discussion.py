"""discussion threads, notifications and moderation

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

`comments` holds the discussion of each paper: Markdown bodies, replies by `parent_id`, soft deletes and edits
marked by their times, and hiding by an admin. `notifications` tells a user of replies and mentions,
`discussion_follows` lists the papers whose discussion a user follows. `users.handle` is the name `@mentions`
use (existing users get one made from their e-mail address), `users.is_admin` and `users.blocked_at` carry
moderation; the first user is an admin. `comment_reports`, `hidden_papers` and `moderation_log` record reports,
papers hidden by an admin and every moderation action.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

HANDLE_LENGTH = 32


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("handle", sa.String(HANDLE_LENGTH)))
        batch.add_column(sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("blocked_at", sa.DateTime(timezone=True)))
        # When to e-mail about replies and mentions: "off", "digest" (with the next digest) or "immediate".
        batch.add_column(sa.Column("notify_email", sa.String(16), nullable=False, server_default="digest"))
        batch.create_unique_constraint("uq_users_handle", ["handle"])
    _give_handles_and_first_admin()

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        # None once its author's account is deleted: the thread and its replies stay.
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE")),
        sa.Column("body", sa.Text, nullable=False),  # Markdown as written; "" once deleted
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("hidden_at", sa.DateTime(timezone=True)),
        sa.Column("hidden_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.create_index("ix_comments_paper_created", "comments", ["paper_id", "created_at"])
    op.create_index("ix_comments_user_created", "comments", ["user_id", "created_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # reply, mention, discussion (a followed paper)
        sa.Column("comment_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.Column("emailed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("user_id", "comment_id", name="uq_notifications_user_comment"),
    )
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read_at"])
    op.create_table(
        "discussion_follows",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "comment_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("comment_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("comment_id", "user_id", name="uq_comment_reports_comment_user"),
    )
    op.create_table(
        "hidden_papers",
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("hidden_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "moderation_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),  # None: the command line
        sa.Column("action", sa.String(32), nullable=False),  # hide-comment, block-user, make-admin, ...
        sa.Column("target_kind", sa.String(16), nullable=False),  # comment, paper, user
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_moderation_log_created", "moderation_log", ["created_at"])


def _give_handles_and_first_admin() -> None:
    """Each existing user gets a handle from the local part of their e-mail address (made unique by a number);
    the first user becomes the admin."""
    conn = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String),
                     sa.column("handle", sa.String), sa.column("is_admin", sa.Boolean))
    taken: set[str] = set()
    rows = conn.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)).all()
    for user_id, email in rows:
        base = re.sub(r"[^a-z0-9_]", "", email.split("@", 1)[0].lower())[:HANDLE_LENGTH - 6] or "user"
        handle, number = base, 1
        while handle in taken:
            number += 1
            handle = f"{base}{number}"
        taken.add(handle)
        conn.execute(users.update().where(users.c.id == user_id).values(handle=handle))
    if rows:
        conn.execute(users.update().where(users.c.id == rows[0][0]).values(is_admin=True))


def downgrade() -> None:
    op.drop_index("ix_moderation_log_created", "moderation_log")
    op.drop_table("moderation_log")
    op.drop_table("hidden_papers")
    op.drop_table("comment_reports")
    op.drop_table("discussion_follows")
    op.drop_index("ix_notifications_user_read", "notifications")
    op.drop_table("notifications")
    op.drop_index("ix_comments_user_created", "comments")
    op.drop_index("ix_comments_paper_created", "comments")
    op.drop_table("comments")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_handle", type_="unique")
        batch.drop_column("notify_email")
        batch.drop_column("blocked_at")
        batch.drop_column("is_admin")
        batch.drop_column("handle")
