"""papers: an index on (added_at DESC, id), for "the papers added since" and "the newest N papers"

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

Digests, chat channels and the recommendation corpus past its bound ask for the papers added since a time, newest
first. Without an index that is a scan and sort of the whole table: 49 s at 10M papers on SQLite. The index matches
the query's order, so a bounded read walks it from the newest end.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_added", "papers", [sa.text("added_at DESC"), "id"])


def downgrade() -> None:
    op.drop_index("ix_papers_added", table_name="papers")
