"""topic maps: builds, topics with stable ids, one assignment per paper

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_maps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_papers", sa.Integer, nullable=False),
        sa.Column("n_topics", sa.Integer, nullable=False),
        sa.Column("n_outliers", sa.Integer, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.LargeBinary),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("map_id", sa.Integer, sa.ForeignKey("topic_maps.id"), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("representative_ids", sa.JSON, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("cohesion", sa.Float, nullable=False),
        sa.Column("centroid", sa.LargeBinary, nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("neighbours", sa.JSON, nullable=False),
        sa.Column("parent_id", sa.Integer),
        sa.Column("emerging", sa.Boolean, nullable=False),
        sa.Column("emerged_at", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_topics_map", "topics", ["map_id"])
    op.create_table(
        "topic_assignments",
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("topic_id", sa.Integer, sa.ForeignKey("topics.id")),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("other_topics", sa.JSON, nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("map_id", sa.Integer, sa.ForeignKey("topic_maps.id"), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_topic_assignments_topic", "topic_assignments", ["topic_id", "score"])


def downgrade() -> None:
    op.drop_index("ix_topic_assignments_topic", "topic_assignments")
    op.drop_table("topic_assignments")
    op.drop_index("ix_topics_map", "topics")
    op.drop_table("topics")
    op.drop_table("topic_maps")
