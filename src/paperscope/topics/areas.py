"""Broad areas over the topics: the map's upper level, each area a group of neighbouring topics.

Topics are merged by the similarity of their centres (agglomerative clustering of the unit centres, cosine,
Ward's criterion on the unit vectors so that no area swallows the rest), into about the square root of the
number of topics: 45 topics give 7 areas, which a legend and a map at its widest zoom can show whole. Merging
keeps every topic inside one area (a topic page and its area never disagree) and costs nothing beyond the
topics themselves; docs/decisions/0115-topic-areas-by-merging-centres.md has the measurement against the other
ways.
"""

from __future__ import annotations

import numpy as np

MAX_AREAS = 12


def default_area_count(n_topics: int) -> int:
    """About sqrt(n_topics) areas (at least 2 and at most MAX_AREAS); none below 4 topics (1 per topic)."""
    if n_topics < 4:
        return n_topics
    return int(min(MAX_AREAS, max(2, round(n_topics ** 0.5))))


def group_topics(centres: np.ndarray, n_areas: int | None = None, *, method: str = "ward") -> np.ndarray:
    """The area (0..n_areas-1, the largest group of topics first) of each topic, from its centre."""
    from scipy.cluster.hierarchy import fcluster, linkage

    k = len(centres)
    n_areas = default_area_count(k) if n_areas is None else min(n_areas, k)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if n_areas >= k or k < 2:
        return np.arange(k, dtype=np.int64)
    units = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    tree = linkage(units, method=method, metric="euclidean" if method == "ward" else "cosine")
    groups = fcluster(tree, t=n_areas, criterion="maxclust") - 1
    # Renumber: the area with the most topics first (ties: the one holding the lowest topic first).
    order = sorted(set(groups.tolist()), key=lambda g: (-int((groups == g).sum()), int(np.argmax(groups == g))))
    renumber = {g: i for i, g in enumerate(order)}
    return np.array([renumber[g] for g in groups.tolist()], dtype=np.int64)
