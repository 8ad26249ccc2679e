"""A 2-D map of the papers: UMAP (umap-learn) on the reduced vectors, cosine metric.

Above `fit_sample` papers UMAP is fitted on a seeded sample and every other paper is placed at the
similarity-weighted mean of its `place_neighbors` nearest sampled papers (chunked matrix products), so a large
collection costs a sample's fit plus a linear pass. UMAP's own `transform` runs an optimisation per batch and
took most of the 409 s that a 100k-paper map used to cost here. Without umap-learn installed the map falls back to the
first two principal components (and says so in `method_`); `pip install 'paperscope[topics]'` installs it.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np

# Softmax temperature of the placement weights, in cosine similarity: a neighbour 0.005 less similar than the
# nearest weighs e^-1 of it (chosen on 6,000 arXiv cs papers; docs/benchmarks.md, Topics, has the comparison).
PLACE_TEMPERATURE = 0.005
# Rows placed at a time: their similarities to a 10,000-paper sample (and its argpartition) stay near 250 MB.
PLACE_CHUNK = 2_000


class Layout:
    """`fit_transform(X)` -> (n, 2) coordinates scaled to [0, 1]; `method_` is "umap" or "pca"."""

    def __init__(self, *, n_neighbors: int = 15, min_dist: float = 0.1, fit_sample: int = 10_000,
                 place_neighbors: int = 5, random_state: int = 0) -> None:
        self.n_neighbors = n_neighbors
        self.place_neighbors = place_neighbors
        self.min_dist = min_dist
        self.fit_sample = fit_sample
        self.random_state = random_state
        self.method_ = ""

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if len(X) < max(8, self.n_neighbors + 2) or importlib.util.find_spec("umap") is None:
            self.method_ = "pca"
            return _scaled(_pca2(X))
        import umap

        self.method_ = "umap"
        rng = np.random.default_rng(self.random_state)
        fit_rows = (np.arange(len(X)) if len(X) <= self.fit_sample
                    else np.sort(rng.choice(len(X), self.fit_sample, replace=False)))
        reducer = umap.UMAP(n_neighbors=self.n_neighbors, min_dist=self.min_dist, metric="cosine",
                            random_state=self.random_state, n_jobs=1, init="spectral")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # umap warns that a random_state means one thread
            coords = np.empty((len(X), 2), dtype=np.float32)
            coords[fit_rows] = reducer.fit_transform(X[fit_rows])
        rest = np.setdiff1d(np.arange(len(X)), fit_rows)
        for start in range(0, len(rest), PLACE_CHUNK):
            chunk = rest[start:start + PLACE_CHUNK]
            coords[chunk] = _placed(X[chunk], X[fit_rows], coords[fit_rows], self.place_neighbors)
        return _scaled(coords)


def _placed(points: np.ndarray, anchors: np.ndarray, anchor_coords: np.ndarray, k: int) -> np.ndarray:
    """Each point at a softmax-weighted mean position of its k most similar anchors (unit rows): close to its
    nearest anchor, pulled a little toward the others, so no two papers sit exactly on one spot."""
    sims = points @ anchors.T
    k = min(k, anchors.shape[0])
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, nearest, axis=1)
    weights = np.exp((top - top.max(axis=1, keepdims=True)) / PLACE_TEMPERATURE)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.asarray(np.einsum("nk,nkd->nd", weights, anchor_coords[nearest]), dtype=np.float32)


def _pca2(X: np.ndarray) -> np.ndarray:
    if len(X) < 2:
        return np.zeros((len(X), 2), dtype=np.float32)
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[: 50_000], full_matrices=False)
    basis = vt[:2].T if vt.shape[0] >= 2 else np.pad(vt.T, ((0, 0), (0, 2 - vt.shape[0])))
    return np.asarray(centred @ basis, dtype=np.float32)


def _scaled(coords: np.ndarray) -> np.ndarray:
    low, high = coords.min(axis=0), coords.max(axis=0)
    return np.asarray((coords - low) / np.maximum(high - low, 1e-9), dtype=np.float32)
