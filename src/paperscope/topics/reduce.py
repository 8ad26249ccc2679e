"""Dimension reduction before clustering: PCA to ~50 dimensions, rows L2-normalised again.

Cosine geometry is what the embedding models are trained for; after PCA the rows are put back on the unit
sphere, so Euclidean k-means in the reduced space is spherical k-means (distance^2 = 2 - 2 cos). PCA is fitted
on at most `sample_size` rows (a seeded random sample) and applied in chunks, so memory stays bounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from paperscope.topics.chunks import CHUNK_ROWS, normalise_rows


class Reducer:
    """PCA to `n_components` (fewer when the data has fewer rows or columns), then unit rows."""

    def __init__(self, n_components: int = 50, *, sample_size: int = 50_000, random_state: int = 0) -> None:
        self.n_components = n_components
        self.sample_size = sample_size
        self.random_state = random_state
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Reducer:
        X = np.asarray(X, dtype=np.float32)
        rng = np.random.default_rng(self.random_state)
        sample = X if len(X) <= self.sample_size else X[np.sort(rng.choice(len(X), self.sample_size, replace=False))]
        n = min(self.n_components, sample.shape[1], max(1, sample.shape[0] - 1))
        if n >= sample.shape[1]:  # nothing to reduce: keep the space, centred
            self.mean_ = sample.mean(axis=0)
            self.components_ = np.eye(sample.shape[1], dtype=np.float32)
            return self
        pca = PCA(n_components=n, svd_solver="full").fit(sample)  # exact: no seed involved
        self.mean_ = pca.mean_.astype(np.float32)
        self.components_ = pca.components_.astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.components_ is None:
            raise RuntimeError("fit the reducer first")
        X = np.asarray(X, dtype=np.float32)
        out = np.empty((len(X), self.components_.shape[0]), dtype=np.float32)
        for start in range(0, len(X), CHUNK_ROWS):
            out[start:start + CHUNK_ROWS] = (X[start:start + CHUNK_ROWS] - self.mean_) @ self.components_.T
        return normalise_rows(out)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def state(self) -> dict[str, Any]:
        assert self.mean_ is not None and self.components_ is not None
        return {"reducer_mean": self.mean_, "reducer_components": self.components_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Reducer:
        reducer = cls(n_components=int(state["reducer_components"].shape[0]))
        reducer.mean_ = np.asarray(state["reducer_mean"], dtype=np.float32)
        reducer.components_ = np.asarray(state["reducer_components"], dtype=np.float32)
        return reducer
