"""Probabilistic Partitive Partitioning (PPP): the number of topics found by splitting while a split holds.

Following Sultan's PPP (k-means partitions validated by a Gaussian mixture), a cluster is split in two by
k-means; the split is kept when a two-component Gaussian mixture fitted to the same points (started from the
k-means halves) both explains them better than one Gaussian (BIC) and finds the same two groups (the partitions
agree, adjusted Rand index >= `agreement`). Where the mixture drifts to a different partition, the k-means cut
went through a single mode of density rather than between two, and the cluster stays whole. Splitting goes
largest cluster first and stops where no split is supported (or at `max_clusters`); a final k-means pass over
all points, started from the leaves' centres, settles the borders. The silhouette of the result on a sample is
kept as a cross-check (`silhouette_`). A collection of fewer than `silhouette_below` papers (the topic map uses
`SMALL_COLLECTION`) is too small to hold out papers for the test; there the silhouette chooses k (`k_rule_` says
which rule chose). Off by default, since novelty detection runs PPP on small groups where one topic is the answer.

Repeatability: every split is fitted on up to `split_sample` points drawn with `random_state`, with k-means
restarted `n_init` times; decisions depend on the data, not on the seed (tests check ARI >= 0.9 across seeds).
Input: rows of unit length (see reduce.py); distances are then cosine distances.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from paperscope.topics.chunks import centroids, nearest

# Below this many papers a topic map cannot test a split on held-out papers (fewer than 50 would be held out):
# the number of topics is then the silhouette's choice (PPP's `silhouette_below`).
SMALL_COLLECTION = 100
# Above this many rows the final k-means pass centres the rows in place (and restores them) instead of on a copy:
# at ten million papers the copy would be 2 GB.
IN_PLACE_ABOVE = 2_000_000


@dataclass
class Split:
    """One split decision: which cluster (its row count), and why it was or was not split."""

    node: int
    size: int
    accepted: bool
    bic_gain: float  # BIC(one Gaussian) - BIC(two components), per point; > 0 favours two
    agreement: float  # adjusted Rand index between the k-means and the mixture partitions
    sizes: tuple[int, int]


class PPP(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Recursive k-means bisection validated by a Gaussian mixture; chooses the number of clusters itself.

    Parameters: `min_cluster_size` (None: 1 % of the rows, at least 5), `max_clusters`, `agreement` (the ARI the
    mixture's partition must reach with the k-means one), `covariance_type` of the mixture, `split_sample`
    (rows a split decision is fitted on), `n_init` (k-means restarts), `refine` (final k-means pass),
    `silhouette_sample`, `random_state`. `n_clusters` forces that many clusters (every split is taken, the test
    only recorded): for comparisons at a given k. `silhouette_below`: below this many rows, k is the silhouette's
    choice (see the module docstring).
    """

    def __init__(self, *, min_cluster_size: int | None = None, max_clusters: int = 100, agreement: float = 0.5,
                 test_sample: int = 1_000, split_sample: int = 20_000, refine: bool = True,
                 silhouette_sample: int = 5_000, n_clusters: int | None = None, silhouette_below: int = 0,
                 random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.silhouette_below = silhouette_below
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.agreement = agreement
        self.test_sample = test_sample
        self.split_sample = split_sample
        self.refine = refine
        self.silhouette_sample = silhouette_sample
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Any = None) -> PPP:
        X = np.asarray(X, dtype=np.float32)
        rng = np.random.default_rng(self.random_state)
        min_size = self.min_cluster_size or max(5, len(X) // 100)
        self.splits_: list[Split] = []
        forced = self.n_clusters
        self.k_rule_ = "given" if forced else "split test"
        if forced is None and len(X) < self.silhouette_below:
            forced = _silhouette_k(X, min_size, self.random_state)
            self.k_rule_ = "silhouette (too few papers to test splits on held-out ones)"
        leaves: list[np.ndarray] = []
        heap: list[tuple[int, int, np.ndarray]] = [(-len(X), 0, np.arange(len(X)))]
        counter = 1
        while heap:
            _, node, members = heapq.heappop(heap)
            limit = forced or self.max_clusters
            if len(leaves) + len(heap) + 1 >= limit or len(members) < 2 * min_size:
                leaves.append(members)
                continue
            halves = self._split(X, members, node, min_size, rng, forced is not None)
            if halves is None:
                leaves.append(members)
                continue
            for half in halves:
                heapq.heappush(heap, (-len(half), counter, half))
                counter += 1
        centres = np.vstack([centroids(X[m], np.zeros(len(m), dtype=np.int64), 1) for m in leaves])
        if self.refine and len(leaves) > 1:
            km = KMeans(n_clusters=len(leaves), init=centres, n_init=1, max_iter=50, random_state=self.random_state,
                        copy_x=len(X) <= IN_PLACE_ABOVE).fit(X)
            labels = km.labels_
            centres = centroids(X, labels, len(leaves))
        else:
            labels = np.empty(len(X), dtype=np.int64)
            for index, members in enumerate(leaves):
                labels[members] = index
        labels, centres = _ordered(labels, centres)
        self.labels_ = labels
        self.cluster_centers_ = centres
        self.n_clusters_ = len(centres)
        self.silhouette_ = self._silhouette(X, labels, rng)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        labels, _ = nearest(np.asarray(X, dtype=np.float32), self.cluster_centers_)
        return np.asarray(labels)

    def _split(self, X: np.ndarray, members: np.ndarray, node: int, min_size: int, rng: np.random.Generator,
               forced: bool) -> tuple[np.ndarray, np.ndarray] | None:
        fit_rows = _sample(members[0::2], self.split_sample, rng)
        test_rows = _sample(members[1::2], self.test_sample, rng)
        points = X[fit_rows]
        with threadpool_limits(1):  # small problems: threads only add overhead, and contention on a busy machine
            km = KMeans(n_clusters=2, init=_principal_halves(points), n_init=1).fit(points)
            axis = km.cluster_centers_[0] - km.cluster_centers_[1]
            axis /= max(float(np.linalg.norm(axis)), 1e-12)
            projected = (X[test_rows] @ axis)[:, None].astype(np.float64)
            cut = float(((km.cluster_centers_[0] + km.cluster_centers_[1]) / 2) @ axis)
            bic_gain, agreement = _mixture_test(projected, projected[:, 0] > cut)
        labels, _ = nearest(X if len(members) == len(X) else X[members], _unit(km.cluster_centers_))
        sizes = (int((labels == 0).sum()), int((labels == 1).sum()))
        supported = bic_gain > 0 and agreement >= self.agreement
        accepted = (supported or forced) and min(sizes) >= min_size
        self.splits_.append(Split(node, len(members), accepted, bic_gain, agreement, sizes))
        if not accepted:
            return None
        return members[labels == 0], members[labels == 1]

    def _silhouette(self, X: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> float | None:
        if len(np.unique(labels)) < 2 or len(X) < 3:
            return None
        sample = np.arange(len(X)) if len(X) <= self.silhouette_sample else rng.choice(
            len(X), self.silhouette_sample, replace=False)
        if len(np.unique(labels[sample])) < 2:
            return None
        return float(silhouette_score(X[sample], labels[sample], metric="cosine"))


def _silhouette_k(X: np.ndarray, min_size: int, random_state: int) -> int:
    """For a collection too small to hold out papers for the split test: the k in 2..sqrt(n/2) (topics of at
    least `min_size` papers) whose k-means partition has the highest cosine silhouette."""
    best_k, best = 1, -1.0
    for k in range(2, max(2, int(np.sqrt(len(X) / 2))) + 1):
        if k * min_size > len(X):
            break
        with threadpool_limits(1):
            labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(X)
        score = float(silhouette_score(X, labels, metric="cosine"))
        if score > best:
            best_k, best = k, score
    return best_k


def _sample(rows: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= size else np.sort(rng.choice(rows, size, replace=False))


def _principal_halves(points: np.ndarray) -> np.ndarray:
    """Two starting centres one standard deviation either side of the mean along the first principal direction
    (Boley's principal direction divisive partitioning): no random start, so no seed to depend on."""
    mean = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mean, full_matrices=False)
    spread = float(((points - mean) @ vt[0]).std())
    return np.vstack([mean + spread * vt[0], mean - spread * vt[0]])


def _mixture_test(projected: np.ndarray, side: np.ndarray) -> tuple[float, float]:
    """BIC gain per point of two Gaussians over one on held-out projections, the mixture started from the k-means
    halves; and the agreement (ARI) of the mixture's partition with the k-means cut."""
    if side.all() or not side.any():
        return -1.0, 0.0
    halves = [projected[side], projected[~side]]
    one = GaussianMixture(1).fit(projected)
    two = GaussianMixture(2, weights_init=[len(h) / len(projected) for h in halves],
                          means_init=[[float(h.mean())] for h in halves],
                          precisions_init=[[[1 / max(float(h.var()), 1e-6)]] for h in halves],
).fit(projected)
    gain = (one.bic(projected) - two.bic(projected)) / len(projected)
    return float(gain), float(adjusted_rand_score(side, two.predict(projected)))


def _unit(centres: np.ndarray) -> np.ndarray:
    centres = np.asarray(centres, dtype=np.float32)
    unit: np.ndarray = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return unit


def _ordered(labels: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clusters renumbered largest first (ties by centre), so the numbering does not depend on the seed."""
    sizes = np.bincount(labels, minlength=len(centres))
    keep = np.flatnonzero(sizes > 0)
    order = keep[np.lexsort((centres[keep, 0], -sizes[keep]))]
    remap = np.empty(len(centres), dtype=np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels], centres[order]
