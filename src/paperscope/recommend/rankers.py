"""Per-user rankers over a corpus of papers: a linear model, a graph diffusion, and their fusion.

They are plain numerical code (numpy, scipy, scikit-learn) over rows of a `Corpus`, with no database, so
the command line, the digests and the benchmark all run the very same ranking.

* `LinearRanker`: a linear classifier per user over the paper embeddings (optionally beside TF-IDF
  features), the library as positives, "not interested" papers as weighted negatives and the rest of the
  corpus as unlabelled background (arxiv-sanity's habit of training against everything else); with
  `use_embeddings=False`, on TF-IDF alone (tried in the benchmark's fusions, not shipped).
* `GraphRanker`: personalised PageRank on the k-nearest-neighbour graph of the library, hidden, candidate and
  background papers, with the user's marks as noisy seed labels (the idea of "Local Graph Clustering with
  Noisy Labels": labels, even noisy ones, steer a local diffusion). By default two diffusions, one from the
  library and one from the hidden and background papers, and a candidate scores the library walk's share of
  the mass reaching it; `contrast=False` is one diffusion from the library with hidden papers as sinks.
* `FusedRanker`: the mean of both rankers' standardised scores.
* `RankFusion`: reciprocal rank fusion of both rankers (shipped: the benchmark's dev users prefer it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    candidates: np.ndarray  # the papers to score
    query_vectors: np.ndarray | None = None  # followed searches, embedded like a query: extra positives
    query_tfidf: sp.csr_matrix | None = None
    # The papers of the period, shared by every user ranked in the same run; `candidates` is this user's part
    # of it (without their library, hidden or already sent papers). Lets GraphRanker build the graph once.
    pool: np.ndarray | None = None
    # Rows no ranker may train on, not even as unlabelled background: the library papers a signal-mix choice
    # holds out (recommend/mix.py) to see how each signal ranks them.
    held_out: np.ndarray | None = None

    def shared_pool(self) -> np.ndarray:
        return self.candidates if self.pool is None else self.pool


def fit_tfidf(texts: list[str]) -> tuple[Any, sp.csr_matrix | None, np.ndarray | None]:
    """(vectorizer, L2-normalised TF-IDF rows, vocabulary) of titles and abstracts: unigrams and bigrams,
    sublinear term frequency, English stop words dropped, words split at hyphens as arxiv-sanity splits them
    ("self-supervised": "self", "supervised" and the bigram; decision 0140); (None, None, None) when no term
    survives."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return None, None, None
    vectorizer = TfidfVectorizer(strip_accents="unicode", stop_words="english", ngram_range=(1, 2), sublinear_tf=True,
                                 min_df=2 if len(texts) >= 50 else 1, max_df=0.5, max_features=50_000,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9]+\b")
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
    """A linear SVM per user: library against hidden papers and the unlabelled rest of the corpus.

    The background sample and its features are drawn once per corpus and kept for the next users (a user's
    own library or hidden papers are left out of it for them)."""

    c: float = 0.03
    hidden_weight: float = 3.0  # a "not interested" mark counts more than an unlabelled paper
    background: int = 5000  # at most this many unlabelled papers, drawn at random, as negatives
    use_tfidf: bool = True
    tfidf_weight: float = 1.0
    use_embeddings: bool = True  # False (with use_tfidf): TF-IDF features only, as arxiv-sanity ranks
    # Keep only the terms in at most this share of the corpus's papers (rows normalised again): distinctive
    # words, as arxiv-sanity's vocabulary (max_df 0.1). None: every term of the corpus's TF-IDF.
    max_df: float | None = None
    # With max_df: of those, only the terms in at least `min_df` papers (in a corpus under 200 * min_df papers,
    # a 200th of them), at most `max_terms` of the most frequent (arxiv-sanity's min_df 5 and max_features
    # 20,000; frequency counted in papers).
    min_df: int = 1
    max_terms: int | None = None
    seed: int = 0
    # The last corpus's background (a corpus is compared by identity: an id() can be reused by a later one).
    _cache: dict[int, tuple[Corpus, np.ndarray, Any]] = field(default_factory=dict, init=False, repr=False,
                                                              compare=False)
    _distinctive: dict[int, tuple[Corpus, np.ndarray]] = field(default_factory=dict, init=False, repr=False,
                                                               compare=False)

    def features(self, corpus: Corpus, rows: np.ndarray) -> np.ndarray | sp.csr_matrix:
        dense = corpus.vectors[rows]
        if not self.use_tfidf or corpus.tfidf is None:
            return dense
        tfidf = corpus.tfidf[rows]
        if self.max_df is not None:
            tfidf = _normalised(tfidf[:, self._distinctive_terms(corpus)])
        if not self.use_embeddings:
            return tfidf * self.tfidf_weight
        return sp.hstack([sp.csr_matrix(dense), tfidf * self.tfidf_weight], format="csr")

    def _distinctive_terms(self, corpus: Corpus) -> np.ndarray:
        """The TF-IDF columns of terms in at most `max_df` of the corpus's papers and at least `min_df` (see
        there), the `max_terms` in most papers (counted once per corpus)."""
        assert corpus.tfidf is not None and self.max_df is not None
        cached = self._distinctive.get(id(corpus))
        if cached is None or cached[0] is not corpus:
            document_frequency = np.bincount(corpus.tfidf.indices, minlength=corpus.tfidf.shape[1])
            papers = corpus.tfidf.shape[0]
            keep = np.flatnonzero((document_frequency <= self.max_df * papers)
                                  & (document_frequency >= min(self.min_df, max(1, papers // 200))))
            if self.max_terms is not None and len(keep) > self.max_terms:
                keep = np.sort(keep[np.argsort(-document_frequency[keep], kind="stable")[:self.max_terms]])
            # A corpus too small for any term to be distinctive keeps them all.
            cached = (corpus, keep if len(keep) else np.arange(corpus.tfidf.shape[1]))
            self._distinctive = {id(corpus): cached}
        return cached[1]

    def _background(self, corpus: Corpus) -> tuple[np.ndarray, Any]:
        cached = self._cache.get(id(corpus))
        if cached is None or cached[0] is not corpus:
            rng = np.random.default_rng(self.seed)
            size = min(self.background, len(corpus.ids))
            rows = np.sort(rng.choice(len(corpus.ids), size=size, replace=False)) if size else np.zeros(0, np.int64)
            cached = (corpus, rows, self.features(corpus, rows))
            self._cache = {id(corpus): cached}
        return cached[1], cached[2]

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        from sklearn.svm import LinearSVC

        positives = signals.positives
        with_tfidf = self.use_tfidf and corpus.tfidf is not None
        if with_tfidf and self.max_df is not None and signals.query_tfidf is not None:
            signals = replace(signals, query_tfidf=_normalised(signals.query_tfidf[:, self._distinctive_terms(corpus)]))
        extra = _query_rows(signals, with_tfidf, self.tfidf_weight, self.use_embeddings)
        if len(positives) == 0 and extra is None:
            return np.zeros(len(signals.candidates))
        background_rows, background_features = self._background(corpus)
        kept_out = [positives, signals.negatives] + ([signals.held_out] if signals.held_out is not None else [])
        unlabelled = ~np.isin(background_rows, np.concatenate(kept_out))
        background = background_features[unlabelled]
        labelled = np.concatenate([positives, signals.negatives])
        parts = [self.features(corpus, labelled), background]
        y = np.concatenate([np.ones(len(positives)), np.zeros(len(signals.negatives) + background.shape[0])])
        weight = np.concatenate([np.ones(len(positives)), np.full(len(signals.negatives), self.hidden_weight),
                                 np.ones(background.shape[0])])
        if extra is not None:
            parts.append(extra)
            y = np.concatenate([y, np.ones(extra.shape[0])])
            weight = np.concatenate([weight, np.ones(extra.shape[0])])
        x = sp.vstack([sp.csr_matrix(p) for p in parts], format="csr") if any(sp.issparse(p) for p in parts) \
            else np.vstack(parts)
        # Balance the classes by weight, as arxiv-sanity does with class_weight="balanced".
        n_pos, n_neg = float(weight[y == 1].sum()), float(weight[y == 0].sum())
        if n_neg == 0:
            return _centroid_scores(corpus, signals)
        weight = np.where(y == 1, weight * (n_pos + n_neg) / (2 * n_pos), weight * (n_pos + n_neg) / (2 * n_neg))
        model = LinearSVC(C=self.c, max_iter=10_000, tol=1e-5)
        model.fit(x, y, sample_weight=weight)
        return self.decision(model.coef_.ravel(), float(model.intercept_[0]), corpus, signals.candidates)

    def decision(self, coef: np.ndarray, intercept: float, corpus: Corpus, rows: np.ndarray) -> np.ndarray:
        """The linear model's scores of `rows`, read from the embeddings and the TF-IDF rows as they are: the
        same as scoring `features(corpus, rows)`, without copying every candidate's vector into a sparse matrix."""
        if not self.use_tfidf or corpus.tfidf is None:
            return _dense_scores(corpus.vectors, rows, coef) + intercept
        tfidf = corpus.tfidf[rows]
        if self.max_df is not None:
            tfidf = _normalised(tfidf[:, self._distinctive_terms(corpus)])
        dim = corpus.vectors.shape[1] if self.use_embeddings else 0
        scores = np.asarray(tfidf @ coef[dim:], dtype=np.float64) * self.tfidf_weight + intercept
        if self.use_embeddings:
            scores += _dense_scores(corpus.vectors, rows, coef[:dim])
        return scores


@dataclass
class SharedGraph:
    """The kNN lists of the nodes every user of a run shares: the period's papers, then the background."""

    rows: np.ndarray  # corpus rows: the pool, then the background sample
    n_pool: int
    neighbours: np.ndarray  # (nodes, k) node numbers of each node's nearest other nodes
    similarity: np.ndarray  # (nodes, k) their cosines
    position: dict[int, int]  # corpus row -> node number


@dataclass
class GraphRanker:
    """Personalised PageRank over a kNN graph of papers, with the user's marks as noisy seed labels.

    Nodes: the library (and followed searches), the hidden papers, the papers of the period (the candidates)
    and a random sample of other papers (the unlabelled background). Edges join each node to its nearest
    neighbours by the mean of embedding and TF-IDF cosine (embedding only when the corpus has no TF-IDF),
    weighted exp(sharpness * (cosine - 1)).

    `contrast=True` (the default): two diffusions, one restarting at the library, one at the hidden papers
    and the background, which stand for "not this user's interest" (noisy negative labels: most background
    papers are not, a few are). A candidate scores the share of the library's walk in the mass that reaches
    it, so a region many library papers point into wins, and a busy region everyone reaches does not.
    `contrast=False`: one diffusion from the library in which hidden papers are sinks (the walk's mass that
    reaches them stops), scored by mass over degree as in local graph clustering.

    The period's papers and the background are the same for every user of a digest run, so their
    neighbour lists are computed once (`reuse_graph`) and kept for the next users; per user, only the
    library and hidden papers are compared with them and merged in, which gives the very same kNN graph.
    """

    neighbours: int = 30
    restart: float = 0.3  # probability of jumping back to a seed at each step
    iterations: int = 40
    sharpness: float = 5.0  # near neighbours carry more of the walk
    contrast: bool = True
    background: int = 2000  # unlabelled papers, drawn at random, as noisy negatives (contrast only)
    hidden_weight: float = 20.0  # restart weight of a hidden paper against one background paper
    use_tfidf: bool = True
    max_candidates: int = 10_000  # beyond this, only the candidates nearest the seeds enter the graph
    reuse_graph: bool = True  # keep the period's kNN lists for the next user (False: rebuild per user)
    seed: int = 0
    _shared: dict[tuple[int, int, bytes], tuple[Corpus, SharedGraph]] = field(default_factory=dict, init=False,
                                                                              repr=False, compare=False)

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        pool = signals.shared_pool()
        if len(pool) > self.max_candidates:
            return self._shortlisted(corpus, signals)
        queries = signals.query_vectors if signals.query_vectors is not None else np.zeros((0, corpus.vectors.shape[1]))
        if len(signals.positives) + len(queries) == 0:
            return np.zeros(len(signals.candidates))
        use_tfidf = self.use_tfidf and corpus.tfidf is not None
        shared = self._shared_graph(corpus, pool, use_tfidf)
        # The user's papers that are shared nodes already (say, a library paper of this period) are labelled
        # there; the others, and the followed searches, become nodes of their own in front of the shared ones.
        own_positives = np.array([r for r in signals.positives if int(r) not in shared.position], dtype=np.int64)
        own_negatives = np.array([r for r in signals.negatives if int(r) not in shared.position], dtype=np.int64)
        # Candidates outside the shared pool (a signal-mix choice's held-out library papers) join as plain nodes.
        own_candidates = np.array([r for r in signals.candidates if int(r) not in shared.position], dtype=np.int64)
        n_own_seeds = len(own_positives) + len(queries)
        n_labelled = n_own_seeds + len(own_negatives)
        n_user = n_labelled + len(own_candidates)
        user_vectors = np.vstack([corpus.vectors[own_positives], queries.astype(np.float32),
                                  corpus.vectors[own_negatives], corpus.vectors[own_candidates]])
        user_tfidf = None
        if use_tfidf:
            assert corpus.tfidf is not None
            query_tfidf = signals.query_tfidf if signals.query_tfidf is not None and len(queries) else \
                sp.csr_matrix((len(queries), corpus.tfidf.shape[1]))
            user_tfidf = sp.vstack([corpus.tfidf[own_positives], query_tfidf, corpus.tfidf[own_negatives],
                                    corpus.tfidf[own_candidates]], format="csr")
        graph = self._user_graph(corpus, shared, user_vectors, user_tfidf)
        degree = np.asarray(graph.sum(axis=1)).ravel()
        inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        walk = sp.diags(inverse) @ graph  # row-stochastic transitions
        size = graph.shape[0]

        def nodes(rows: np.ndarray, own: range) -> np.ndarray:
            return np.concatenate([np.arange(own.start, own.stop, dtype=np.int64),
                                   [n_user + shared.position[int(r)] for r in rows if int(r) in shared.position]]
                                  ).astype(np.int64)

        seeds = nodes(signals.positives, range(n_own_seeds))
        hidden = nodes(signals.negatives, range(n_own_seeds, n_labelled))
        own_node = {int(r): n_labelled + i for i, r in enumerate(own_candidates)}
        candidates = np.array([n_user + shared.position[int(r)] if int(r) in shared.position else own_node[int(r)]
                               for r in signals.candidates], dtype=np.int64)
        teleport = np.zeros(size)
        teleport[seeds] = 1.0 / len(seeds)
        if not self.contrast:
            positive = self._diffuse(_sinks(walk, hidden) if len(hidden) else walk, teleport)
            return np.asarray((positive * inverse)[candidates], dtype=np.float64)
        positive = self._diffuse(walk, teleport)
        restart_negative = np.zeros(size)
        background = n_user + np.arange(shared.n_pool, len(shared.rows))
        restart_negative[background] = 1.0
        restart_negative[seeds] = 0.0  # a background paper the user saved is no background for them
        if signals.held_out is not None:
            restart_negative[nodes(signals.held_out, range(0))] = 0.0
        restart_negative[hidden] = self.hidden_weight
        if not restart_negative.any():
            return np.asarray((positive * inverse)[candidates], dtype=np.float64)
        n_negative = float(np.count_nonzero(restart_negative))
        negative = self._diffuse(walk, restart_negative / restart_negative.sum())
        # Restart masses differ (few seeds, many negatives): compare per seed, as a posterior would.
        share = positive / (positive + negative * len(seeds) / n_negative + 1e-12)
        return np.asarray(share[candidates], dtype=np.float64)

    def _seeds(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        """The library's vectors, then the followed searches'."""
        if signals.query_vectors is not None and len(signals.query_vectors):
            return np.vstack([corpus.vectors[signals.positives], signals.query_vectors.astype(np.float32)])
        return np.asarray(corpus.vectors[signals.positives])

    def _shared_graph(self, corpus: Corpus, pool: np.ndarray, use_tfidf: bool) -> SharedGraph:
        key = (id(corpus), int(use_tfidf), np.ascontiguousarray(pool).tobytes())
        cached = self._shared.get(key)
        if self.reuse_graph and cached is not None and cached[0] is corpus:
            return cached[1]
        background = self._background(corpus, pool) if self.contrast else np.zeros(0, dtype=np.int64)
        rows = np.concatenate([pool, background]).astype(np.int64)
        tfidf = corpus.tfidf[rows] if use_tfidf else None  # type: ignore[index]
        neighbours, similarity = knn_lists(corpus.vectors[rows], self.neighbours, tfidf=tfidf)
        shared = SharedGraph(rows, len(pool), neighbours, similarity, {int(r): i for i, r in enumerate(rows)})
        if self.reuse_graph:  # one period at a time: a run ranks every user among the same papers
            self._shared = {key: (corpus, shared)}
        return shared

    def _user_graph(self, corpus: Corpus, shared: SharedGraph, user_vectors: np.ndarray,
                    user_tfidf: sp.csr_matrix | None) -> sp.csr_matrix:
        """The kNN graph of the user's nodes followed by the shared ones: the shared lists merged with the
        user's nodes, exactly the lists a build over all the nodes would give."""
        n_user, n_shared = len(user_vectors), len(shared.rows)
        n = n_user + n_shared
        k = min(self.neighbours, n - 1)
        to_shared = _cosines(user_vectors, corpus.vectors[shared.rows], user_tfidf,
                             corpus.tfidf[shared.rows] if user_tfidf is not None else None)  # type: ignore[index]
        among = _cosines(user_vectors, user_vectors, user_tfidf, user_tfidf)
        np.fill_diagonal(among, -np.inf)
        user_sims = np.hstack([among, to_shared])
        user_top = _top(user_sims, k)
        # A shared node's list: its cached neighbours (shifted past the user's nodes) or a closer user node.
        merged_sims = np.hstack([shared.similarity, to_shared.T])
        merged_ids = np.hstack([shared.neighbours + n_user, np.broadcast_to(np.arange(n_user), (n_shared, n_user))])
        shared_top = _top(merged_sims, k)
        rows = np.concatenate([np.repeat(np.arange(n_user), user_top.shape[1]),
                               np.repeat(np.arange(n_user, n), shared_top.shape[1])])
        cols = np.concatenate([user_top.ravel(), np.take_along_axis(merged_ids, shared_top, axis=1).ravel()])
        sims = np.concatenate([np.take_along_axis(user_sims, user_top, axis=1).ravel(),
                               np.take_along_axis(merged_sims, shared_top, axis=1).ravel()])
        return _symmetric(rows, cols, sims, n, self.sharpness)

    def _shortlisted(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        """Rank the `max_candidates` candidates nearest a seed by the graph, the rest below them by nearness."""
        seed_vectors = self._seeds(corpus, signals)
        if len(seed_vectors) == 0:
            return np.zeros(len(signals.candidates))
        nearness = np.max(corpus.vectors[signals.candidates] @ seed_vectors.T, axis=1).astype(np.float64)
        keep = np.argsort(-nearness)[:self.max_candidates]
        short = Signals(signals.positives, signals.negatives, np.sort(signals.candidates[keep]),
                        signals.query_vectors, signals.query_tfidf, held_out=signals.held_out)
        graph_scores = dict(zip(short.candidates.tolist(), self.scores(corpus, short).tolist(), strict=True))
        scores = nearness - nearness.max() - 2.0 + min(min(graph_scores.values()), 0.0)  # below every graph score
        scores[keep] = [graph_scores[int(r)] for r in signals.candidates[keep]]
        return np.asarray(scores, dtype=np.float64)

    def _diffuse(self, walk: sp.csr_matrix, teleport: np.ndarray) -> np.ndarray:
        walk_t = walk.T.tocsr()
        rank = teleport.copy()
        for _ in range(self.iterations):
            rank = self.restart * teleport + (1 - self.restart) * (walk_t @ rank)
        return rank

    def _background(self, corpus: Corpus, pool: np.ndarray) -> np.ndarray:
        """The same random sample of papers outside the period for every user (their marks are taken out of
        the negative restart, not out of the graph)."""
        taken = np.zeros(len(corpus.ids), dtype=bool)
        taken[pool] = True
        others = np.flatnonzero(~taken)
        rng = np.random.default_rng(self.seed)
        return rng.choice(others, size=min(self.background, len(others)), replace=False) if len(others) else others


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


@dataclass
class RankFusion:
    """Reciprocal rank fusion: a candidate scores the sum over rankers of 1 / (k + its rank in each)."""

    rankers: list[Ranker]
    k: int = 60

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        total = np.zeros(len(signals.candidates))
        for ranker in self.rankers:
            order = np.argsort(-ranker.scores(corpus, signals), kind="stable")
            ranks = np.empty(len(order))
            ranks[order] = np.arange(1, len(order) + 1)
            total += 1.0 / (self.k + ranks)
        return total


#: TF-IDF columns of the terms in most papers, which `knn_lists` multiplies as dense blocks: nearly every pair of
#: papers shares one of them, so as sparse products they would make every block's product dense anyway.
FREQUENT_TERMS = 512


def knn_lists(vectors: np.ndarray, k: int, *, tfidf: sp.csr_matrix | None = None,
              block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows and their cosines (the dot product of unit vectors, averaged with the
    TF-IDF cosine when `tfidf` rows are given): two (n, k) arrays.

    Computed in float32 as one dense product of the embeddings beside the frequent terms' columns plus a sparse
    product of the other terms' columns, which is the same sum as `_cosines`', split for speed."""
    n = len(vectors)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0))
    dense, rare = _similarity_parts(vectors, tfidf)
    rare_t = rare.T.tocsr() if rare is not None else None
    ids, sims_out = [], []
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = dense[start:stop] @ dense.T
        if rare is not None:
            sims += (rare[start:stop] @ rare_t).toarray()
        sims[np.arange(stop - start), start + np.arange(stop - start)] = -np.inf
        top = _top(sims, k)
        ids.append(top)
        sims_out.append(np.take_along_axis(sims, top, axis=1))
    return np.vstack(ids).astype(np.int64), np.vstack(sims_out).astype(np.float64)


def _similarity_parts(vectors: np.ndarray, tfidf: sp.csr_matrix | None) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """(dense rows, sparse rows or None), float32, whose row products summed are `_cosines`' similarities: the
    embeddings and the FREQUENT_TERMS most frequent terms' TF-IDF columns as dense rows, the other terms' columns
    as sparse rows; each half scaled by sqrt(1/2) when TF-IDF is averaged in."""
    if tfidf is None:
        return np.ascontiguousarray(vectors, dtype=np.float32), None
    frequency = np.bincount(tfidf.indices, minlength=tfidf.shape[1])
    by_frequency = np.argsort(-frequency, kind="stable")
    frequent, rare = np.sort(by_frequency[:FREQUENT_TERMS]), np.sort(by_frequency[FREQUENT_TERMS:])
    half = np.float32(np.sqrt(0.5))
    dense = np.hstack([np.asarray(vectors, dtype=np.float32), tfidf[:, frequent].toarray().astype(np.float32)])
    dense *= half
    return dense, sp.csr_matrix(tfidf[:, rare], dtype=np.float32) * half


def knn_graph(vectors: np.ndarray, k: int, sharpness: float, *, tfidf: sp.csr_matrix | None = None) -> sp.csr_matrix:
    """Symmetric k-nearest-neighbour graph of unit vectors (cosine as in `knn_lists`), edge weight
    exp(sharpness * (cosine - 1))."""
    n = len(vectors)
    neighbours, sims = knn_lists(vectors, k, tfidf=tfidf)
    return _symmetric(np.repeat(np.arange(n), neighbours.shape[1]), neighbours.ravel(), sims.ravel(), n, sharpness)


def _cosines(a: np.ndarray, b: np.ndarray, a_tfidf: sp.csr_matrix | None, b_tfidf: sp.csr_matrix | None
             ) -> np.ndarray:
    sims = np.asarray(a @ b.T, dtype=np.float64)
    if a_tfidf is not None and b_tfidf is not None:
        sims = 0.5 * sims + 0.5 * (a_tfidf @ b_tfidf.T).toarray()
    return sims


def _top(sims: np.ndarray, k: int) -> np.ndarray:
    """Column numbers of each row's k largest values (unordered)."""
    if k >= sims.shape[1]:
        return np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
    # Partitioning `sims` itself is faster than partitioning -sims; the copy lets the whole (rows, columns) index
    # array go, where a view of it would keep every block's alive in `knn_lists` (1.2 GB at 12,000 nodes).
    return np.argpartition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k:].copy()


def _symmetric(rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, n: int, sharpness: float) -> sp.csr_matrix:
    keep = np.isfinite(sims)
    weights = np.exp(sharpness * (sims[keep] - 1.0))
    graph = sp.csr_matrix((weights, (rows[keep], cols[keep])), shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def _sinks(walk: sp.csr_matrix, nodes: np.ndarray) -> sp.csr_matrix:
    """The walk with `nodes` as sinks: mass that reaches them stops there."""
    keep = np.ones(walk.shape[0])
    keep[nodes] = 0.0
    return sp.csr_matrix(sp.diags(keep) @ walk)


def _dense_scores(vectors: np.ndarray, rows: np.ndarray, coef: np.ndarray, block: int = 8192) -> np.ndarray:
    """`vectors[rows] @ coef` in float64, a block of rows at a time (each block is widened to float64 alone)."""
    return np.concatenate([vectors[rows[start:start + block]] @ coef for start in range(0, len(rows), block)]
                          or [np.zeros(0)]).astype(np.float64)


def _normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty)."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix)


def _centroid_scores(corpus: Corpus, signals: Signals) -> np.ndarray:
    centre = corpus.vectors[signals.positives].mean(axis=0)
    return np.asarray(corpus.vectors[signals.candidates] @ centre, dtype=np.float64)


def _query_rows(signals: Signals, with_tfidf: bool, tfidf_weight: float, with_embeddings: bool = True
                ) -> np.ndarray | sp.csr_matrix | None:
    if signals.query_vectors is None or not len(signals.query_vectors):
        return None
    if with_tfidf and not with_embeddings:
        return None if signals.query_tfidf is None else signals.query_tfidf * tfidf_weight
    if with_tfidf and signals.query_tfidf is not None:
        return sp.hstack([sp.csr_matrix(signals.query_vectors), signals.query_tfidf * tfidf_weight], format="csr")
    return signals.query_vectors
