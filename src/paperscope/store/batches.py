"""Reading large tables in batches: keyset pagination, and stored vectors decoded in bulk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping


def keyset_batches(engine: Engine, query: sa.Select[Any], key: sa.ColumnElement[str], batch_size: int
                   ) -> Iterator[Sequence[RowMapping]]:
    """The rows of `query` in batches ordered by the unique text column `key`, each batch read on a short
    connection of its own (so a slow consumer holds no transaction open)."""
    last = ""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(key > last).order_by(key).limit(batch_size)).mappings().all()
        if not rows:
            return
        yield rows
        last = rows[-1][key.name]


def decoded_vectors(rows: Sequence[RowMapping]) -> tuple[list[str], np.ndarray]:
    """(paper ids, float32 matrix) of rows holding `paper_id` and a little-endian float32 `vector`."""
    return [row["paper_id"] for row in rows], np.vstack([np.frombuffer(row["vector"], dtype="<f4") for row in rows])
