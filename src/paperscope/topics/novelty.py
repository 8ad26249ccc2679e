"""Emerging topics: groups of new papers that fit no known topic, found with the known topics held fixed.

Novel class discovery as in "A Practical Approach to Novel Class Discovery in Tabular Data": what is known
stays known (the earlier map's centres are fixed), the number of novel groups is estimated, and the novel
centres are learned.

1. A new paper *fits* a known topic when its similarity to the nearest known centre reaches the lower quartile of
   the similarities of that topic's own papers (`fit_thresholds`; the map keeps them). Papers that fit none are
   the candidates.
2. PPP clusters the candidates; each group's centre is a candidate novel topic (PPP estimates how many).
3. k-means over all new papers with the known centres fixed and the candidates free (a few Lloyd steps; only
   novel centres move; a group below `min_topic_size` is dropped).
4. The novel topics are kept only if they make the partition of the new papers better: the silhouette with them
   must beat the silhouette with the known topics alone (the estimate of the number of novel classes in the
   tabular NCD paper). Otherwise the weakest candidate is dropped and the rest tried again.

Each novel topic gets the date it emerged: the day by which `emerged_fraction` of its papers had appeared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import silhouette_score

from paperscope.topics.chunks import centroids, nearest
from paperscope.topics.ppp import PPP
from paperscope.topics.reduce import Reducer


class NovelTopicFinder:
    """`fit(X_new, dates)` -> `n_novel_`, `novel_centres_`, `labels_` (known index, or K + novel index),
    `novel_members_` (row indices per novel topic), `emerged_at_` (a date per novel topic, when dates given)."""

    def __init__(self, known_centres: np.ndarray, fit_thresholds: np.ndarray, *,
                 min_topic_size: int = 10, emerged_fraction: float = 0.1,
                 lloyd_steps: int = 10, random_state: int = 0) -> None:
        self.known_centres = np.asarray(known_centres, dtype=np.float32)
        self.fit_thresholds = np.asarray(fit_thresholds, dtype=np.float32)
        self.min_topic_size = min_topic_size
        self.emerged_fraction = emerged_fraction
        self.lloyd_steps = lloyd_steps
        self.random_state = random_state

    def fit(self, X: np.ndarray, dates: Sequence[dt.date | None] | None = None) -> NovelTopicFinder:
        X = np.asarray(X, dtype=np.float32)
        known = len(self.known_centres)
        nearest_known, score = nearest(X, self.known_centres)
        misfit = np.flatnonzero(score < self.fit_thresholds[nearest_known])
        self.candidates_ = misfit
        novel = self._candidate_centres(X[misfit]) if len(misfit) >= self.min_topic_size else X[:0]
        labels = nearest_known
        baseline = self._silhouette(X, nearest_known)
        while len(novel):
            labels, novel = self._lloyd(X, novel)
            if len(novel) and self._silhouette(X, labels) > baseline:
                break
            novel = novel[:-1]  # the weakest candidate goes; try again with the others
            labels = nearest_known
        self.labels_ = labels
        self.novel_centres_ = novel
        self.n_novel_ = len(novel)
        self.novel_members_ = [np.flatnonzero(labels == known + j) for j in range(len(novel))]
        self.emerged_at_ = [self._emerged(members, dates) for members in self.novel_members_]
        return self

    def _candidate_centres(self, candidates: np.ndarray) -> np.ndarray:
        """Centres of PPP's groups among the misfits, largest group first."""
        reduced = Reducer(random_state=self.random_state).fit_transform(candidates)
        groups = PPP(min_cluster_size=self.min_topic_size, random_state=self.random_state).fit(reduced).labels_
        return centroids(candidates, groups, int(groups.max()) + 1)

    def _lloyd(self, X: np.ndarray, novel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """k-means over all new papers with the known centres fixed and the novel ones free."""
        known = len(self.known_centres)
        labels = nearest(X, np.vstack([self.known_centres, novel]))[0]
        for _ in range(self.lloyd_steps):
            sizes = np.bincount(labels, minlength=known + len(novel))[known:]
            moved = centroids(X, labels, known + len(novel))[known:][sizes >= self.min_topic_size]
            if len(moved) == len(novel) and np.allclose(moved, novel, atol=1e-5):
                break
            novel = moved
            labels = nearest(X, np.vstack([self.known_centres, novel]))[0]
        return labels, novel

    def _silhouette(self, X: np.ndarray, labels: np.ndarray) -> float:
        if len(np.unique(labels)) < 2:
            return -1.0
        rng = np.random.default_rng(self.random_state)
        rows = np.arange(len(X)) if len(X) <= 3000 else rng.choice(len(X), 3000, replace=False)
        if len(np.unique(labels[rows])) < 2:
            return -1.0
        return float(silhouette_score(X[rows], labels[rows], metric="cosine"))

    def _emerged(self, members: np.ndarray, dates: Sequence[dt.date | None] | None) -> dt.date | None:
        if dates is None:
            return None
        known: list[dt.date] = sorted(d for d in (dates[int(i)] for i in members) if d is not None)
        if not known:
            return None
        return known[min(len(known) - 1, int(self.emerged_fraction * len(known)))]
