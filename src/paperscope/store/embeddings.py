"""Paper embeddings: one vector per paper and model, with the content hash of the text it was computed from, so
a changed abstract is embedded again. Vectors are stored as float16 (`db.encoded_vector`; rows stored as
float32 are read as they are) and always read back as float32.

`EmbeddingStore` holds these methods of `Store` for `SQLStore`, on its engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.models import Paper
from paperscope.store.db import (
    STORED_DTYPE,
    as_utc,
    decoded_vector,
    decoded_vectors,
    encoded_vector,
    in_chunks,
    keyset_batches,
    upsert,
    utc_now,
    write_transaction,
)
from paperscope.store.papers import paper_from_row
from paperscope.store.schema import embeddings, papers


class EmbeddingStore:
    """The embedding methods of `Store` (see there for each method's contract). Every method runs in its own
    transaction."""

    engine: Engine

    def _to_embed_query(self, model: str) -> sa.Select[Any]:
        joined = papers.outerjoin(embeddings, sa.and_(embeddings.c.paper_id == papers.c.id,
                                                      embeddings.c.model == model))
        return (sa.select(papers).select_from(joined)
                .where(sa.or_(embeddings.c.paper_id.is_(None),
                              embeddings.c.content_hash != papers.c.content_hash)))

    def papers_to_embed(self, model: str, batch_size: int = 256) -> Iterator[list[Paper]]:
        for rows in keyset_batches(self.engine, self._to_embed_query(model), papers.c.id, batch_size):
            yield [paper_from_row(row) for row in rows]

    def count_papers_to_embed(self, model: str) -> int:
        with self.engine.connect() as conn:
            subquery = self._to_embed_query(model).subquery()
            return int(conn.execute(sa.select(sa.func.count()).select_from(subquery)).scalar_one())

    def save_embeddings(self, model: str, model_version: str, batch: Sequence[Paper],
                        vectors: np.ndarray) -> None:
        if len(batch) != len(vectors):
            raise ValueError(f"{len(batch)} papers but {len(vectors)} vectors")
        now = utc_now()
        rows = []
        for paper, vector in zip(batch, vectors, strict=True):
            blob, dtype = encoded_vector(vector)
            rows.append({"paper_id": paper.id, "model": model, "model_version": model_version,
                         "content_hash": paper.content_hash, "vector": blob, "vector_dtype": dtype,
                         "created_at": now})
        with write_transaction(self.engine) as conn:
            conn.execute(upsert(conn, embeddings), rows)

    def iter_embeddings(self, model: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                        batch_size: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
        query = sa.select(embeddings.c.paper_id, embeddings.c.vector, embeddings.c.vector_dtype
                          ).where(embeddings.c.model == model)
        if since is not None:
            query = query.where(embeddings.c.created_at > since)
        if until is not None:
            query = query.where(embeddings.c.created_at <= until)
        for rows in keyset_batches(self.engine, query, embeddings.c.paper_id, batch_size):
            yield decoded_vectors(rows)

    def latest_embedding_time(self, model: str) -> dt.datetime | None:
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(embeddings.c.created_at))
                                  .where(embeddings.c.model == model)).scalar_one_or_none()
        return as_utc(latest) if latest is not None else None

    def get_embedding(self, paper_id: str, model: str) -> np.ndarray | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(embeddings.c.vector, embeddings.c.vector_dtype).where(
                embeddings.c.paper_id == paper_id, embeddings.c.model == model)).one_or_none()
        return None if row is None else decoded_vector(row.vector, row.vector_dtype)

    def get_embeddings(self, paper_ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            for chunk in in_chunks(list(paper_ids)):
                rows = conn.execute(sa.select(embeddings.c.paper_id, embeddings.c.vector, embeddings.c.vector_dtype)
                                    .where(embeddings.c.model == model, embeddings.c.paper_id.in_(chunk))).all()
                found.update((paper_id, decoded_vector(blob, dtype)) for paper_id, blob, dtype in rows)
        return found

    def embedding_models(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(embeddings.c.model, embeddings.c.model_version, sa.func.count())
                                .group_by(embeddings.c.model, embeddings.c.model_version)).all()
        models: dict[str, dict[str, Any]] = {}
        for model, version, count in rows:
            entry = models.setdefault(model, {"versions": [], "count": 0})
            entry["versions"].append(version)
            entry["count"] += int(count)
        return models

    def delete_embeddings(self, model: str) -> int:
        with write_transaction(self.engine) as conn:
            return int(conn.execute(embeddings.delete().where(embeddings.c.model == model)).rowcount)

    def convert_embeddings(self, batch_size: int = 2000, progress: Callable[[int], None] | None = None) -> int:
        rewrite = (embeddings.update().where(embeddings.c.paper_id == sa.bindparam("key_paper"),
                                             embeddings.c.model == sa.bindparam("key_model"))
                   .values(vector=sa.bindparam("blob"), vector_dtype=STORED_DTYPE))
        converted = 0
        for model in self.embedding_models():
            query = sa.select(embeddings.c.paper_id, embeddings.c.vector, embeddings.c.vector_dtype).where(
                embeddings.c.model == model, embeddings.c.vector_dtype != STORED_DTYPE)
            for rows in keyset_batches(self.engine, query, embeddings.c.paper_id, batch_size):
                updates = []
                for row in rows:
                    blob, dtype = encoded_vector(decoded_vector(row["vector"], row["vector_dtype"]))
                    if dtype == STORED_DTYPE:  # else beyond float16's range: it stays as it is
                        updates.append({"key_paper": row["paper_id"], "key_model": model, "blob": blob})
                if updates:
                    with write_transaction(self.engine) as conn:
                        conn.execute(rewrite, updates)
                converted += len(updates)
                if progress is not None:
                    progress(len(rows))
        return converted
