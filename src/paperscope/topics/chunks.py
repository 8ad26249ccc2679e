"""Chunked similarity computations: memory stays bounded (rows x centres per chunk) for a million papers."""

from __future__ import annotations

import numpy as np
from scipy import sparse

CHUNK_ROWS = 20_000


def normalise_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), in place when X is float32."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X /= np.maximum(norms, 1e-12)
    return X


def nearest(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For unit rows and unit centres: the index of the most similar centre and that cosine, per row."""
    labels = np.empty(len(X), dtype=np.int64)
    scores = np.empty(len(X), dtype=np.float32)
    for start in range(0, len(X), CHUNK_ROWS):
        sims = X[start:start + CHUNK_ROWS] @ centres.T
        labels[start:start + CHUNK_ROWS] = sims.argmax(axis=1)
        scores[start:start + CHUNK_ROWS] = sims[np.arange(len(sims)), labels[start:start + CHUNK_ROWS]]
    return labels, scores


def top_similar(X: np.ndarray, centres: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar centres per row (most similar first) and their cosines, chunk by chunk."""
    k = min(k, len(centres))
    index = np.empty((len(X), k), dtype=np.int64)
    values = np.empty((len(X), k), dtype=np.float32)
    for start in range(0, len(X), CHUNK_ROWS):
        sims = X[start:start + CHUNK_ROWS] @ centres.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else np.tile(
            np.arange(sims.shape[1]), (len(sims), 1))
        part_values = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_values, axis=1)
        index[start:start + CHUNK_ROWS] = np.take_along_axis(part, order, axis=1)
        values[start:start + CHUNK_ROWS] = np.take_along_axis(part_values, order, axis=1)
    return index, values


def centroids(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit mean direction of each label's rows (a zero row for an empty label)."""
    indicator = sparse.csr_matrix((np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))),
                                  shape=(k, len(labels)))
    return normalise_rows(np.asarray(indicator @ X, dtype=np.float32))
