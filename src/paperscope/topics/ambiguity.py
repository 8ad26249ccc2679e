"""How clear the map is: cohesion per topic, separability per pair of neighbouring topics, and the further
topics a paper is close to (several topics per paper).

* cohesion: the mean cosine similarity of a topic's papers to its centre (0..1; higher is tighter);
* separability (the CLAMS idea of cluster ambiguity, for pairs that neighbour in the map): the points of two
  topics are projected on the line through their centres and a Gaussian fitted to each side; separability is
  1 - their Bhattacharyya coefficient: 0 when the two overlap completely, 1 when a clean border separates them;
* other topics (after "Multi-label Cluster Discrimination": the nearest centres above a threshold): a paper also
  belongs to topic j when its similarity to j's centre reaches what j's own papers typically have (the
  `quantile` of their similarities), up to `max_other` topics, most similar first.
"""

from __future__ import annotations

import numpy as np

from paperscope.topics.chunks import CHUNK_ROWS


def cohesion(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean similarity of each topic's papers to its centre (0 for an empty topic)."""
    sums = np.bincount(labels[labels >= 0], weights=scores[labels >= 0], minlength=k)
    counts = np.bincount(labels[labels >= 0], minlength=k)
    return np.asarray(sums / np.maximum(counts, 1), dtype=np.float64)


def member_quantiles(scores: np.ndarray, labels: np.ndarray, k: int, q: float) -> np.ndarray:
    """The q-quantile of each topic's member similarities (1.0 for an empty topic: nobody else qualifies)."""
    out = np.ones(k, dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for topic in range(k):
        members = scores[order[bounds[topic]:bounds[topic + 1]]]
        if len(members):
            out[topic] = np.quantile(members, q)
    return out


def neighbours(centres: np.ndarray, n: int = 3) -> list[list[int]]:
    """The n most similar other centres of each centre, most similar first."""
    sims = centres @ centres.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, : min(n, len(centres) - 1)]
    return [[int(j) for j in row] for row in order]


def separability(X: np.ndarray, labels: np.ndarray, i: int, j: int, *, sample: int = 2_000,
                 random_state: int = 0) -> float:
    """1 - Bhattacharyya coefficient of topics i and j along the line through their centres (0..1)."""
    rng = np.random.default_rng(random_state)
    sides = []
    for topic in (i, j):
        members = np.flatnonzero(labels == topic)
        if len(members) > sample:
            members = rng.choice(members, sample, replace=False)
        sides.append(X[members])
    if min(len(s) for s in sides) < 2:
        return 1.0
    direction = sides[0].mean(axis=0) - sides[1].mean(axis=0)
    norm = float(np.linalg.norm(direction))
    if norm == 0:
        return 0.0
    a, b = (s @ (direction / norm) for s in sides)
    var_a, var_b = max(float(a.var()), 1e-9), max(float(b.var()), 1e-9)
    distance = (float(a.mean() - b.mean()) ** 2) / (4 * (var_a + var_b)) + 0.5 * np.log(
        (var_a + var_b) / (2 * np.sqrt(var_a * var_b)))
    return float(1 - np.exp(-distance))


def other_topics(X: np.ndarray, centres: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, *,
                 max_other: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Per paper up to `max_other` further topics whose threshold its similarity reaches: (ids, scores), with
    -1 / 0 padding, most similar first. Computed chunk by chunk."""
    n = len(X)
    ids = np.full((n, max_other), -1, dtype=np.int64)
    values = np.zeros((n, max_other), dtype=np.float32)
    if max_other == 0 or len(centres) < 2:
        return ids, values
    for start in range(0, n, CHUNK_ROWS):
        sims = X[start:start + CHUNK_ROWS] @ centres.T
        rows = np.arange(len(sims))
        eligible = sims >= thresholds[None, :]
        eligible[rows, labels[start:start + CHUNK_ROWS]] = False
        masked = np.where(eligible, sims, -np.inf)
        order = np.argsort(-masked, axis=1)[:, :max_other]
        picked = np.take_along_axis(masked, order, axis=1)
        ok = np.isfinite(picked)
        width = order.shape[1]  # fewer than max_other when there are few topics
        ids[start:start + CHUNK_ROWS, :width] = np.where(ok, order, -1)
        values[start:start + CHUNK_ROWS, :width] = np.where(ok, picked, 0)
    return ids, values
