"""incremental sync state; first-author key on papers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(255), primary_key=True),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("first_author_key", sa.Text, nullable=False, server_default=""))
    # Fill the new column for papers stored before this migration.
    papers = sa.table("papers", sa.column("id", sa.String), sa.column("authors", sa.JSON),
                      sa.column("first_author_key", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(papers.c.id, papers.c.authors)).all()
    for paper_id, authors in rows:
        if authors:
            connection.execute(papers.update().where(papers.c.id == paper_id)
                               .values(first_author_key=_author_key(authors[0])))


# The key this migration writes, kept here so that replaying it writes the same rows whatever paperscope.ids
# becomes.
_WORD = re.compile(r"[^\W_]+")


def _title_key(title: str) -> str:
    """Lower-case ASCII words of a title (accents folded)."""
    if title.isascii():
        text = title.lower()
    else:
        text = unicodedata.normalize("NFKD", title)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_WORD.findall(text))


def _author_key(name: str) -> str:
    """The normalised family name of an author written "First Last" or "Last, First"."""
    name = name.strip()
    family = name.split(",")[0] if "," in name else (name.split() or [""])[-1]
    return _title_key(family)


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("first_author_key")
    op.drop_table("sync_state")
