"""Topic areas: the map's upper level

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

`topic_maps.areas` holds, per build, the broad areas its topics were merged into: a JSON list of
{"id", "label", "keywords", "topic_ids", "size", "x", "y"}. Null for maps built before areas existed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("topic_maps") as batch:
        batch.add_column(sa.Column("areas", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("topic_maps") as batch:
        batch.drop_column("areas")
