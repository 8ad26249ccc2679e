"""Per-user rankers over a corpus of papers: a linear model, a graph diffusion, and their fusion.

They are plain numerical code (numpy, scipy, scikit-learn) over rows of a `Corpus`, with no database, so
the command line, the digests and the benchmark all run the very same ranking.

* `LinearRanker`: a linear classifier per user over the paper embeddings (optionally beside TF-IDF
  features), the library as positives, "not interested" papers as weighted negatives and the rest of the
  corpus as unlabelled background (arxiv-sanity's habit of training against everything else).
* `GraphRanker`: personalised PageRank on the k-nearest-neighbour graph of the library, hidden and candidate
  papers. Library papers (and followed searches) are noisy seed labels: the walk restarts at them; hidden
  papers are sinks where the walk's mass is dropped, so it does not flow on through "not interested"
  regions (the idea of "Local Graph Clustering with Noisy Labels": labels, even noisy ones, steer a
  local diffusion). Scores are degree-normalised, as in local graph clustering.
* `FusedRanker`: the mean of both rankers' standardised scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp


@dataclass
class Corpus:
    """Papers as rows: unit embedding vectors and, optionally, L2-normalised TF-IDF rows."""

    ids: list[str]
    vectors: np.ndarray  # float32, one unit row per paper
    tfidf: sp.csr_matrix | None = None
    terms: np.ndarray | None = None  # the TF-IDF vocabulary, column order
    row: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.row = {paper_id: i for i, paper_id in enumerate(self.ids)}

    def rows(self, paper_ids: list[str] | set[str]) -> np.ndarray:
        """Row numbers of the ids present in the corpus (ids without a vector are left out)."""
        return np.array(sorted(self.row[i] for i in paper_ids if i in self.row), dtype=np.int64)


@dataclass
class Signals:
    """What one user told us, as corpus rows, and what to rank."""

    positives: np.ndarray  # library: saved, tagged, upvoted
    negatives: np.ndarray  # hidden ("not interested")
    candidates: np.ndarray  # the papers of the period
    query_vectors: np.ndarray | None = None  # followed searches, embedded like a query: extra positives
    query_tfidf: sp.csr_matrix | None = None


def fit_tfidf(texts: list[str]) -> tuple[Any, sp.csr_matrix | None, np.ndarray | None]:
    """(vectorizer, L2-normalised TF-IDF rows, vocabulary) of titles and abstracts: unigrams and bigrams,
    sublinear term frequency, English stop words dropped; (None, None, None) when no term survives."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return None, None, None
    vectorizer = TfidfVectorizer(strip_accents="unicode", stop_words="english", ngram_range=(1, 2), sublinear_tf=True,
                                 min_df=2 if len(texts) >= 50 else 1, max_df=0.5, max_features=50_000,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9-]+\b")
    try:
        matrix = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # a tiny corpus of stop words
        return None, None, None
    return vectorizer, matrix, vectorizer.get_feature_names_out()


class Ranker(Protocol):
    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        """One score per candidate row (higher is better)."""
        ...


def standardise(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


@dataclass
class LinearRanker:
    """A linear SVM per user: library against hidden papers and the unlabelled rest of the corpus."""

    c: float = 0.03
    hidden_weight: float = 3.0  # a "not interested" mark counts more than an unlabelled paper
    background: int = 5000  # at most this many unlabelled papers, drawn at random, as negatives
    use_tfidf: bool = True
    tfidf_weight: float = 1.0
    seed: int = 0

    def features(self, corpus: Corpus, rows: np.ndarray) -> np.ndarray | sp.csr_matrix:
        dense = corpus.vectors[rows]
        if not self.use_tfidf or corpus.tfidf is None:
            return dense
        return sp.hstack([sp.csr_matrix(dense), corpus.tfidf[rows] * self.tfidf_weight], format="csr")

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        from sklearn.svm import LinearSVC

        positives = signals.positives
        extra = _query_rows(signals, self.use_tfidf and corpus.tfidf is not None, self.tfidf_weight)
        if len(positives) == 0 and extra is None:
            return np.zeros(len(signals.candidates))
        labelled = set(positives.tolist()) | set(signals.negatives.tolist())
        rng = np.random.default_rng(self.seed)
        pool = np.array([r for r in range(len(corpus.ids)) if r not in labelled], dtype=np.int64)
        background = rng.choice(pool, size=min(self.background, len(pool)), replace=False) if len(pool) else pool
        rows = np.concatenate([positives, signals.negatives, background])
        x = self.features(corpus, rows)
        y = np.concatenate([np.ones(len(positives)), np.zeros(len(signals.negatives) + len(background))])
        weight = np.concatenate([np.ones(len(positives)), np.full(len(signals.negatives), self.hidden_weight),
                                 np.ones(len(background))])
        if extra is not None:
            x = sp.vstack([sp.csr_matrix(x), extra], format="csr") if sp.issparse(extra) else np.vstack([x, extra])
            y = np.concatenate([y, np.ones(extra.shape[0])])
            weight = np.concatenate([weight, np.ones(extra.shape[0])])
        # Balance the classes by weight, as arxiv-sanity does with class_weight="balanced".
        n_pos, n_neg = float(weight[y == 1].sum()), float(weight[y == 0].sum())
        if n_neg == 0:
            return _centroid_scores(corpus, signals)
        weight = np.where(y == 1, weight * (n_pos + n_neg) / (2 * n_pos), weight * (n_pos + n_neg) / (2 * n_neg))
        model = LinearSVC(C=self.c, max_iter=10_000, tol=1e-5)
        model.fit(x, y, sample_weight=weight)
        return np.asarray(model.decision_function(self.features(corpus, signals.candidates)), dtype=np.float64)


@dataclass
class GraphRanker:
    """Personalised PageRank over a kNN graph of papers, with the user's marks as noisy seed labels.

    Nodes: the library (and followed searches), the hidden papers, a random sample of other papers (the
    unlabelled background) and the candidates. Edges join each node to its nearest neighbours by the mean
    of embedding and TF-IDF cosine (embedding only when the corpus has no TF-IDF), weighted
    exp(sharpness * (cosine - 1)).

    `contrast=True` (the default): two diffusions, one restarting at the library, one at the hidden papers
    and the background, which stand for "not this user's interest" (noisy negative labels: most background
    papers are not, a few are). A candidate scores the share of the library's walk in the mass that reaches
    it, so a region many library papers point into wins, and a busy region everyone reaches does not.
    `contrast=False`: one diffusion from the library in which hidden papers are sinks (the walk's mass that
    reaches them stops), scored by mass over degree as in local graph clustering.
    """

    neighbours: int = 30
    restart: float = 0.3  # probability of jumping back to a seed at each step
    iterations: int = 40
    sharpness: float = 5.0  # near neighbours carry more of the walk
    contrast: bool = True
    background: int = 2000  # unlabelled papers, drawn at random, as noisy negatives (contrast only)
    hidden_weight: float = 20.0  # restart weight of a hidden paper against one background paper
    use_tfidf: bool = True
    max_candidates: int = 3000  # beyond this, only the candidates nearest the seeds enter the graph
    seed: int = 0

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        if len(signals.candidates) > self.max_candidates:
            return self._shortlisted(corpus, signals)
        seed_vectors = corpus.vectors[signals.positives]
        seed_tfidf = corpus.tfidf[signals.positives] if corpus.tfidf is not None else None
        if signals.query_vectors is not None and len(signals.query_vectors):
            seed_vectors = np.vstack([seed_vectors, signals.query_vectors.astype(np.float32)])
            if seed_tfidf is not None:
                extra = signals.query_tfidf if signals.query_tfidf is not None else sp.csr_matrix(
                    (len(signals.query_vectors), corpus.tfidf.shape[1]))  # type: ignore[union-attr]
                seed_tfidf = sp.vstack([seed_tfidf, extra], format="csr")
        if len(seed_vectors) == 0:
            return np.zeros(len(signals.candidates))
        background = self._background(corpus, signals) if self.contrast else np.zeros(0, dtype=np.int64)
        others = np.concatenate([signals.negatives, background, signals.candidates])
        vectors = np.vstack([seed_vectors, corpus.vectors[others]])
        tfidf = None
        if self.use_tfidf and seed_tfidf is not None and corpus.tfidf is not None:
            tfidf = sp.vstack([seed_tfidf, corpus.tfidf[others]], format="csr")
        graph = knn_graph(vectors, self.neighbours, self.sharpness, tfidf=tfidf)
        degree = np.asarray(graph.sum(axis=1)).ravel()
        inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        walk = sp.diags(inverse) @ graph  # row-stochastic transitions
        n_seeds, n_negative = len(seed_vectors), len(signals.negatives) + len(background)
        first_candidate = n_seeds + n_negative
        if not self.contrast:
            if len(signals.negatives):
                keep = np.ones(len(vectors))
                keep[n_seeds:first_candidate] = 0.0
                walk = sp.diags(keep) @ walk  # mass that reaches a hidden paper stops there
            positive = self._diffuse(walk, _uniform(len(vectors), 0, n_seeds))
            return np.asarray((positive * inverse)[first_candidate:], dtype=np.float64)
        positive = self._diffuse(walk, _uniform(len(vectors), 0, n_seeds))
        if n_negative == 0:
            return np.asarray((positive * inverse)[first_candidate:], dtype=np.float64)
        restart_negative = np.zeros(len(vectors))
        restart_negative[n_seeds:n_seeds + len(signals.negatives)] = self.hidden_weight
        restart_negative[n_seeds + len(signals.negatives):first_candidate] = 1.0
        negative = self._diffuse(walk, restart_negative / restart_negative.sum())
        # Restart masses differ (few seeds, many negatives): compare per seed, as a posterior would.
        share = positive / (positive + negative * n_seeds / n_negative + 1e-12)
        return np.asarray(share[first_candidate:], dtype=np.float64)

    def _shortlisted(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        """Rank the `max_candidates` candidates nearest a seed by the graph, the rest below them by nearness."""
        seeds = [corpus.vectors[signals.positives]]
        if signals.query_vectors is not None and len(signals.query_vectors):
            seeds.append(signals.query_vectors.astype(np.float32))
        seed_vectors = np.vstack(seeds)
        if len(seed_vectors) == 0:
            return np.zeros(len(signals.candidates))
        nearness = np.max(corpus.vectors[signals.candidates] @ seed_vectors.T, axis=1).astype(np.float64)
        keep = np.argsort(-nearness)[:self.max_candidates]
        short = Signals(signals.positives, signals.negatives, signals.candidates[keep], signals.query_vectors,
                        signals.query_tfidf)
        graph_scores = self.scores(corpus, short)
        scores = nearness - nearness.max() - 2.0 + min(float(graph_scores.min()), 0.0)  # below every graph score
        scores[keep] = graph_scores
        return np.asarray(scores, dtype=np.float64)

    def _diffuse(self, walk: sp.csr_matrix, teleport: np.ndarray) -> np.ndarray:
        walk_t = walk.T.tocsr()
        rank = teleport.copy()
        for _ in range(self.iterations):
            rank = self.restart * teleport + (1 - self.restart) * (walk_t @ rank)
        return rank

    def _background(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        taken = np.zeros(len(corpus.ids), dtype=bool)
        for rows in (signals.positives, signals.negatives, signals.candidates):
            taken[rows] = True
        pool = np.flatnonzero(~taken)
        rng = np.random.default_rng(self.seed)
        return rng.choice(pool, size=min(self.background, len(pool)), replace=False) if len(pool) else pool


@dataclass
class FusedRanker:
    """The weighted mean of several rankers' standardised scores."""

    rankers: list[Ranker]
    weights: list[float] | None = None

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        weights = self.weights or [1.0] * len(self.rankers)
        total = np.zeros(len(signals.candidates))
        for ranker, weight in zip(self.rankers, weights, strict=True):
            total += weight * standardise(ranker.scores(corpus, signals))
        return total


def knn_graph(vectors: np.ndarray, k: int, sharpness: float, *, tfidf: sp.csr_matrix | None = None,
              block: int = 2048) -> sp.csr_matrix:
    """Symmetric k-nearest-neighbour graph of unit vectors (cosine: their dot product, averaged with the
    TF-IDF cosine when `tfidf` rows are given), edge weight exp(sharpness * (cosine - 1))."""
    n = len(vectors)
    k = min(k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n))
    rows, cols, weights = [], [], []
    for start in range(0, n, block):
        sims = vectors[start:start + block] @ vectors.T
        if tfidf is not None:
            sims = 0.5 * sims + 0.5 * (tfidf[start:start + block] @ tfidf.T).toarray()
        for i in range(sims.shape[0]):
            sims[i, start + i] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        rows.append(np.repeat(np.arange(start, start + sims.shape[0]), k))
        cols.append(top.ravel())
        weights.append(np.exp(sharpness * (np.take_along_axis(sims, top, axis=1).ravel() - 1.0)))
    graph = sp.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def _uniform(size: int, start: int, stop: int) -> np.ndarray:
    vector = np.zeros(size)
    vector[start:stop] = 1.0 / max(stop - start, 1)
    return vector


def _centroid_scores(corpus: Corpus, signals: Signals) -> np.ndarray:
    centre = corpus.vectors[signals.positives].mean(axis=0)
    return np.asarray(corpus.vectors[signals.candidates] @ centre, dtype=np.float64)


def _query_rows(signals: Signals, with_tfidf: bool, tfidf_weight: float) -> np.ndarray | sp.csr_matrix | None:
    if signals.query_vectors is None or not len(signals.query_vectors):
        return None
    if with_tfidf and signals.query_tfidf is not None:
        return sp.hstack([sp.csr_matrix(signals.query_vectors), signals.query_tfidf * tfidf_weight], format="csr")
    return signals.query_vectors
