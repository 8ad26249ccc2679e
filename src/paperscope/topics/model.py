"""The topic model: reduction, clustering, labels, ambiguity and layout as constructor-injected parts.

    model = TopicModel(clusterer=PPP(), labeler=TopicLabeler(), layout=Layout()).fit(vectors, texts)
    model.labels_, model.keywords_, model.labels_text_, model.coords_, model.predict(new_vectors)

Vectors are the stored embeddings (unit rows). Clustering happens in the reduced space (reduce.py); centres,
scores (cosine of a paper to its topic's centre), cohesion and the further topics of a paper are measured in the
embedding space itself, so they mean the same across rebuilds. Every step over all papers is chunked.
`state()` is everything `predict`/`assign` need, as arrays; `TopicModel.from_state` restores it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy import sparse

from paperscope.topics.ambiguity import cohesion, member_quantiles, neighbours, other_topics, separability
from paperscope.topics.balance import balanced_assignment
from paperscope.topics.chunks import CHUNK_ROWS, centroids, nearest, normalise_rows, top_similar
from paperscope.topics.label import TopicLabeler
from paperscope.topics.layout import Layout
from paperscope.topics.ppp import PPP
from paperscope.topics.reduce import Reducer


class Clusterer(Protocol):
    """What TopicModel needs of a clusterer: scikit-learn's fit / labels_ (e.g. PPP, or KMeans for a fixed k)."""

    labels_: np.ndarray

    def fit(self, X: np.ndarray) -> Any: ...


@dataclass
class Placement:
    """Where new papers go in an existing map (`TopicModel.assign`)."""

    labels: np.ndarray  # main topic per paper
    scores: np.ndarray  # cosine to that topic's centre
    other_ids: np.ndarray  # (n, max_other), -1 padded
    other_scores: np.ndarray
    coords: np.ndarray  # (n, 2)


class TopicModel:
    """Topics of a collection of embedded papers; scikit-learn style (`fit`, `predict`, `labels_`)."""

    def __init__(self, *, reducer: Reducer | None = None, clusterer: Clusterer | None = None,
                 labeler: TopicLabeler | None = None, layout: Layout | None = None, balanced: bool = False,
                 other_quantile: float = 0.25, fit_quantile: float = 0.05, max_other: int = 3,
                 n_neighbours: int = 3, random_state: int = 0) -> None:
        self.reducer = reducer if reducer is not None else Reducer(random_state=random_state)
        self.clusterer = clusterer if clusterer is not None else PPP(random_state=random_state)
        self.labeler = labeler
        self.layout = layout
        self.balanced = balanced
        self.other_quantile = other_quantile
        self.fit_quantile = fit_quantile
        self.max_other = max_other
        self.n_neighbours = n_neighbours
        self.random_state = random_state
        self.topic_ids_: np.ndarray | None = None  # the stored ids of the topics, set by whoever stores them

    def fit(self, X: np.ndarray, texts: Sequence[str] | None = None) -> TopicModel:
        X = np.asarray(X, dtype=np.float32)
        Z = self.reducer.fit_transform(X)
        labels, k = self._cluster(Z)
        self.centres_ = centroids(X, labels, k)
        self.scores_ = _own_scores(X, self.centres_, labels)
        self._thresholds()
        self.other_ids_, self.other_scores_ = other_topics(X, self.centres_, labels, self.other_thresholds_,
                                                           max_other=self.max_other)
        self._finish(Z)
        if self.labeler is not None and texts is not None:
            self.labeler.fit(texts, labels, self.scores_)
            self.keywords_ = self.labeler.keywords_
            self.labels_text_ = self.labeler.labels_text_
            self.representatives_ = self.labeler.representatives_
        return self

    def fit_chunks(self, read: Callable[[], Iterable[np.ndarray]], n: int) -> TopicModel:
        """`fit` on vectors too many to hold: `read()` yields the same `n` rows, in the same order and chunks,
        each time it is called. Only the reduced vectors (n x 50 float32) are held; the reduction is fitted on
        the very sample `fit` draws; centres, scores and further topics take one pass each over the chunks.
        `sums_` keeps each topic's sum of vectors (what areas are centred on). No labeler."""
        reducer = self.reducer
        rng = np.random.default_rng(reducer.random_state)
        sample = (np.arange(n) if n <= reducer.sample_size
                  else np.sort(rng.choice(n, reducer.sample_size, replace=False)))
        reducer.fit(_rows_at(read, sample))
        assert reducer.components_ is not None
        Z = np.empty((n, reducer.components_.shape[0]), dtype=np.float32)
        for start, block in _offsets(read):
            Z[start:start + len(block)] = reducer.transform(block)
        labels, k = self._cluster(Z)
        sums = np.zeros((k, reducer.components_.shape[1]), dtype=np.float64)
        for start, block in _offsets(read):
            indicator = sparse.csr_matrix((np.ones(len(block), dtype=np.float32),
                                           (labels[start:start + len(block)], np.arange(len(block)))),
                                          shape=(k, len(block)))
            sums += indicator @ block
        self.sums_ = sums
        self.centres_ = normalise_rows(sums.astype(np.float32))
        self.scores_ = np.empty(n, dtype=np.float32)
        for start, block in _offsets(read):
            self.scores_[start:start + len(block)] = _own_scores(block, self.centres_, labels[start:start + len(block)])
        self._thresholds()
        self.other_ids_ = np.full((n, self.max_other), -1, dtype=np.int64)
        self.other_scores_ = np.zeros((n, self.max_other), dtype=np.float32)
        for start, block in _offsets(read):
            end = start + len(block)
            self.other_ids_[start:end], self.other_scores_[start:end] = other_topics(
                block, self.centres_, labels[start:end], self.other_thresholds_, max_other=self.max_other)
        self._finish(Z)
        return self

    def _cluster(self, Z: np.ndarray) -> tuple[np.ndarray, int]:
        """Labels and reduced centres from the reduced vectors (balanced when asked); (labels, k)."""
        labels = np.asarray(self.clusterer.fit(Z).labels_, dtype=np.int64)
        k = int(labels.max()) + 1 if len(labels) else 0
        reduced_centres = centroids(Z, labels, k)
        if self.balanced and k > 1:
            labels = balanced_assignment(Z, reduced_centres)
            reduced_centres = centroids(Z, labels, k)
        self.labels_ = labels
        self.n_topics_ = k
        self.reduced_centres_ = reduced_centres
        return labels, k

    def _thresholds(self) -> None:
        labels, k = self.labels_, self.n_topics_
        self.cohesion_ = cohesion(self.scores_, labels, k)
        self.sizes_ = np.bincount(labels, minlength=k)
        self.fit_thresholds_ = member_quantiles(self.scores_, labels, k, self.fit_quantile)
        self.other_thresholds_ = member_quantiles(self.scores_, labels, k, self.other_quantile)

    def _finish(self, Z: np.ndarray) -> None:
        """Separability of neighbouring topics and the layout, both in the reduced space."""
        labels, k = self.labels_, self.n_topics_
        self.neighbours_ = [[(j, separability(Z, labels, i, j, random_state=self.random_state)) for j in row]
                            for i, row in enumerate(neighbours(self.reduced_centres_, self.n_neighbours))]
        if self.layout is not None:
            self.coords_ = self.layout.fit_transform(Z)
        else:
            self.coords_ = np.zeros((len(Z), 2), dtype=np.float32)
        self.topic_coords_ = _topic_coords(self.coords_, labels, k)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The main topic of each vector: the nearest centre in the reduced space, as in `fit`."""
        labels, _ = nearest(self.reducer.transform(np.asarray(X, dtype=np.float32)), self.reduced_centres_)
        return labels

    def assign(self, X: np.ndarray) -> Placement:
        """Main topic, score, further topics and a map position for new papers, without refitting. A new paper
        is placed between the centres (on the map) of its three nearest topics, weighted by similarity."""
        X = np.asarray(X, dtype=np.float32)
        labels = self.predict(X)
        scores = _own_scores(X, self.centres_, labels)
        other_ids, other_scores = other_topics(X, self.centres_, labels, self.other_thresholds_,
                                               max_other=self.max_other)
        index, sims = top_similar(X, self.centres_, 3)
        weights = np.exp((sims - sims[:, :1]) / 0.02)
        weights /= weights.sum(axis=1, keepdims=True)
        coords = np.einsum("nk,nkd->nd", weights, self.topic_coords_[index]).astype(np.float32)
        return Placement(labels, scores, other_ids, other_scores, coords)

    # Saving and restoring -----------------------------------------------------------------------

    def state(self) -> bytes:
        """What `assign` and novelty detection need, as npz bytes (with `topic_ids_`, the stored id of each
        topic, when the caller has set it)."""
        arrays = {**self.reducer.state(), "reduced_centres": self.reduced_centres_, "centres": self.centres_,
                  "other_thresholds": self.other_thresholds_, "fit_thresholds": self.fit_thresholds_,
                  "topic_coords": self.topic_coords_, "cohesion": self.cohesion_,
                  "max_other": np.asarray(self.max_other),
                  "topic_ids": np.asarray(self.topic_ids_ if self.topic_ids_ is not None
                                                else np.arange(self.n_topics_))}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_state(cls, blob: bytes) -> TopicModel:
        arrays = dict(np.load(io.BytesIO(blob)))
        model = cls(reducer=Reducer.from_state(arrays), max_other=int(arrays["max_other"]))
        model.reduced_centres_ = arrays["reduced_centres"]
        model.centres_ = arrays["centres"]
        model.other_thresholds_ = arrays["other_thresholds"]
        model.fit_thresholds_ = arrays["fit_thresholds"]
        model.topic_coords_ = arrays["topic_coords"]
        model.cohesion_ = arrays["cohesion"]
        model.n_topics_ = len(model.centres_)
        model.topic_ids_ = arrays["topic_ids"]
        return model


def _offsets(read: Callable[[], Iterable[np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, chunk as float32) of each chunk `read()` yields."""
    start = 0
    for block in read():
        yield start, np.asarray(block, dtype=np.float32)
        start += len(block)


def _rows_at(read: Callable[[], Iterable[np.ndarray]], rows: np.ndarray) -> np.ndarray:
    """The rows numbered `rows` (sorted) of what `read()` yields, gathered chunk by chunk."""
    picked = []
    for start, block in _offsets(read):
        lo, hi = np.searchsorted(rows, [start, start + len(block)])
        picked.append(block[rows[lo:hi] - start])
    return np.vstack(picked)


def _own_scores(X: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
    scores = np.empty(len(X), dtype=np.float32)
    for start in range(0, len(X), CHUNK_ROWS):
        rows = X[start:start + CHUNK_ROWS]
        scores[start:start + CHUNK_ROWS] = np.einsum("nd,nd->n", rows, centres[labels[start:start + CHUNK_ROWS]])
    return scores


def _topic_coords(coords: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, 2), dtype=np.float32)
    for topic in range(k):
        members = coords[labels == topic]
        if len(members):
            out[topic] = np.median(members, axis=0)
    return out
