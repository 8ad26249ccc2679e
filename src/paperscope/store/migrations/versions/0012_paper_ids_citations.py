"""every id a paper is known by, citation edges, and authors with ids

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Papers arrive from services that name them by different ids (arXiv, DOI, PubMed, OpenAlex, Semantic
Scholar, OpenReview). `papers.ids` lists them as references "kind:value"; `paper_ids` indexes each reference
to its paper, so a record from any source finds the paper it duplicates. `citations` holds citation edges
between references. `authors`, `author_ids` and `paper_authors` hold the authors that sources name by an id
(ORCID, OpenAlex, Semantic Scholar). Stored papers get the references of their id and their DOI here, a batch
at a time; no stored paper has author ids yet.
"""

import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("ids", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("citation_count", sa.Integer))
    paper_ids = op.create_table(
        "paper_ids",
        sa.Column("ref", sa.String(300), primary_key=True),
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_table(
        "citations",
        sa.Column("citing_ref", sa.String(300), primary_key=True),
        sa.Column("cited_ref", sa.String(300), primary_key=True),
    )
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("names", sa.JSON, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
    )
    op.create_index("ix_authors_name_key", "authors", ["name_key"])
    op.create_table(
        "author_ids",
        sa.Column("ref", sa.String(300), primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_author_ids_author", "author_ids", ["author_id"])
    op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_paper_authors_author", "paper_authors", ["author_id", "paper_id"])
    assert paper_ids is not None
    papers = sa.table("papers", sa.column("id", sa.String), sa.column("doi", sa.Text), sa.column("ids", sa.JSON))
    connection = op.get_bind()
    owned: set[str] = set()  # a reference belongs to the first paper (in id order) that claims it
    last = ""
    while True:
        rows = connection.execute(sa.select(papers.c.id, papers.c.doi)
                                  .where(papers.c.id > last).order_by(papers.c.id).limit(_BATCH)).all()
        if not rows:
            break
        updates: list[dict[str, Any]] = []
        index_rows: list[dict[str, Any]] = []
        for paper_id, doi in rows:
            refs = _refs(paper_id, doi)
            updates.append({"old_id": paper_id, "new_ids": refs})
            for ref in refs:
                if ref not in owned:
                    owned.add(ref)
                    index_rows.append({"ref": ref, "paper_id": paper_id})
        connection.execute(papers.update().where(papers.c.id == sa.bindparam("old_id"))
                           .values(ids=sa.bindparam("new_ids", type_=sa.JSON)), updates)
        connection.execute(paper_ids.insert(), index_rows)
        last = rows[-1][0]
    op.create_index("ix_paper_ids_paper", "paper_ids", ["paper_id"])
    op.create_index("ix_citations_cited", "citations", ["cited_ref", "citing_ref"])


def downgrade() -> None:
    op.drop_table("paper_authors")
    op.drop_table("author_ids")
    op.drop_table("authors")
    op.drop_table("citations")
    op.drop_table("paper_ids")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("citation_count")
        batch.drop_column("ids")


# The references of a stored paper (paperscope.ids), kept here so that replaying this migration writes the
# same rows whatever that module becomes. Papers stored so far have arXiv ids or derived "title-" ids.
_NEW_ARXIV = re.compile(r"^\d{4}\.\d{4,5}$")
_OLD_ARXIV = re.compile(r"^[a-z][a-z\-]*/\d{7}$")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE)


def _refs(paper_id: str, doi: str | None) -> list[str]:
    refs = {f"arxiv:{paper_id}" if _NEW_ARXIV.match(paper_id) or _OLD_ARXIV.match(paper_id)
            else f"paperscope:{paper_id}"}
    if doi:
        value = _DOI_PREFIX.sub("", doi.strip()).strip().rstrip(".")
        if _DOI.match(value):
            refs.add(f"doi:{value.lower()}")
    return sorted(refs)
