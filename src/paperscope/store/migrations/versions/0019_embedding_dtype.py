"""embeddings.vector_dtype: stored vectors may be float16

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

Each row names the dtype of its little-endian `vector`: "float16" or "float32". Every row stored before this
revision is float32, which the column's default says, so the upgrade adds a column and rewrites no row (on
SQLite and on PostgreSQL a constant default is a change to the table's definition only). The downgrade turns
the float16 rows back into float32 before dropping the column, so an older paperscope reads every row.
"""

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_BATCH = 2000


def upgrade() -> None:
    op.add_column("embeddings", sa.Column("vector_dtype", sa.String(8), nullable=False, server_default="float32"))


def downgrade() -> None:
    conn = op.get_bind()
    table = sa.table("embeddings", sa.column("paper_id", sa.String), sa.column("model", sa.String),
                     sa.column("vector", sa.LargeBinary), sa.column("vector_dtype", sa.String))
    widen = (table.update().where(table.c.paper_id == sa.bindparam("key_paper"),
                                  table.c.model == sa.bindparam("key_model"))
             .values(vector=sa.bindparam("wide"), vector_dtype="float32"))
    while True:
        rows = conn.execute(sa.select(table.c.paper_id, table.c.model, table.c.vector)
                            .where(table.c.vector_dtype == "float16").limit(_BATCH)).all()
        if not rows:
            break
        conn.execute(widen, [{"key_paper": paper_id, "key_model": model,
                              "wide": np.frombuffer(blob, dtype="<f2").astype("<f4").tobytes()}
                             for paper_id, model, blob in rows])
    with op.batch_alter_table("embeddings") as batch:
        batch.drop_column("vector_dtype")
