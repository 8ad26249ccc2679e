"""Balanced assignment: topics of (nearly) equal size, for reading groups or shards.

The Sinkhorn-Knopp equipartition of SwAV: starting from exp(similarity / epsilon), rows (papers) and columns
(topics) are rescaled in turn until every paper carries weight 1 and every topic n/k. The resulting soft plan
is rounded to a hard one under capacities ceil(n/k): papers pick their most likely topic in rounds, a full topic
keeps the papers most likely to belong to it and turns the rest away, who try their next choice. Sizes differ by
at most one paper.
"""

from __future__ import annotations

import numpy as np

from paperscope.topics.chunks import CHUNK_ROWS


def sinkhorn(scores: np.ndarray, *, epsilon: float = 0.05, iterations: int = 50) -> np.ndarray:
    """The equipartition transport plan of a (papers x topics) similarity matrix; rows sum to 1."""
    logits = (scores - scores.max()) / epsilon
    Q = np.exp(logits.astype(np.float64))
    n, k = Q.shape
    for _ in range(iterations):
        Q *= (n / k) / np.maximum(Q.sum(axis=0, keepdims=True), 1e-300)  # each topic gets n/k
        Q /= np.maximum(Q.sum(axis=1, keepdims=True), 1e-300)  # each paper gives 1
    plan: np.ndarray = Q
    return plan


def balanced_assignment(X: np.ndarray, centres: np.ndarray, *, epsilon: float = 0.05) -> np.ndarray:
    """Labels with every topic holding floor(n/k) or ceil(n/k) papers, close to the nearest-centre labels."""
    n, k = len(X), len(centres)
    if k == 0 or n == 0:
        return np.zeros(n, dtype=np.int64)
    scores = np.vstack([X[s:s + CHUNK_ROWS] @ centres.T for s in range(0, n, CHUNK_ROWS)])
    plan = sinkhorn(scores, epsilon=epsilon)
    capacity = np.full(k, n // k, dtype=np.int64)
    capacity[: n % k] += 1  # the extra papers go to the topics Sinkhorn gives most weight to
    capacity = capacity[np.argsort(np.argsort(-plan.sum(axis=0)))]
    labels = np.full(n, -1, dtype=np.int64)
    allowed = np.ones((n, k), dtype=bool)
    while (labels < 0).any():
        waiting = np.flatnonzero(labels < 0)
        preference = np.where(allowed[waiting], plan[waiting], -1.0)
        choice = preference.argmax(axis=1)
        filled = np.bincount(labels[labels >= 0], minlength=k)
        for topic in np.unique(choice):
            candidates = waiting[choice == topic]
            room = max(int(capacity[topic] - filled[topic]), 0)
            ranked = candidates[np.argsort(-plan[candidates, topic], kind="stable")]
            labels[ranked[:room]] = topic
            allowed[ranked[room:], topic] = False
    return labels
