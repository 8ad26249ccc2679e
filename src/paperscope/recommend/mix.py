"""Each user's own mix of ranking signals, chosen from their library.

A recommendation fuses several signals by weighted reciprocal rank fusion: a candidate scores the sum over
signals of weight / (k + its rank by that signal). The signals:

* ``model``: the linear SVM on the text model's embeddings beside TF-IDF features (`LinearRanker`);
* ``words``: a linear SVM on TF-IDF alone, the way arxiv-sanity-lite ranks (word statistics);
* ``graph``: the contrastive personalised PageRank over the kNN graph of papers (`GraphRanker`);
* ``citations``: the papers tied to the library by co-citation or bibliographic coupling (decision 0077).

`MixChooser` weighs each mix of `MIXES` by the user's own library: it holds out a part of the saved papers
(each paper once over `FOLDS` folds, in each of `REPEATS` seeded splits) and ranks them among a sample of the
candidates with every signal trained on the rest. That evidence (each fold's average precision under each mix:
the words SVM's weight beside the text model and the graph, and whether the citation ties count) depends only on
the library, so the recommender keeps it in the store, keyed by `library_key`, until the library changes
(decisions 0117, 0118).

A few held-out papers are noisy evidence, so the user's folds are pooled with the instance's: the mean quality
of each mix over the other users of the same store (`InstancePrior`), counted as `PRIOR_FOLDS` folds beside the
user's own. An instance whose papers the text model reads poorly (a field it never learnt) thus shifts every
user towards the words; a user whose library clearly says otherwise still gets their own mix (decision 0140).
A library smaller than `MIN_LIBRARY` gets the instance's mix, the best over the other users' evidence, or before
there is enough of it `DEFAULT_MIX`, the fusion the development users prefer (decision 0047).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from paperscope.recommend.rankers import Corpus, GraphRanker, LinearRanker, Ranker, Signals

SIGNALS = ("model", "words", "graph", "citations")
#: How a reason names each signal.
SIGNAL_NAMES = {"model": "the text model", "words": "shared words (TF-IDF)",
                "graph": "papers near yours in the paper graph",
                "citations": "citation ties to your papers"}
DEFAULT_MIX: dict[str, float] = {"model": 1.0, "words": 0.0, "graph": 1.0, "citations": 1.0}
LEVELS = (0.0, 0.5, 1.0)
WORDS_LEVELS = (0.0, 0.5, 1.0, 2.0)  # the words SVM's weights on the menu; 2: led by the words (decision 0140)
MIN_LIBRARY = 8  # fewer saved papers: the default mix (too few to hold any out and learn from them)
FOLDS = 3
CHOICE_CANDIDATES = 1000  # the candidates the held-out papers are ranked among, a seeded sample
MARGIN = 0.0  # the best mix replaces the default only when its held-out quality is this much higher (relative)
STD_ERRORS = 0.0  # ... and higher by more than this many standard errors of its per-fold gains (0 measured best)
REPEATS = 2  # seeded splits of the library into FOLDS folds: each paper is held out once per repeat (decision 0118)
PRIOR_FOLDS = 24  # the instance's mean quality of a mix counts as this many of the user's folds (decision 0140)
MIX_VERSION = 3  # part of the library key: a changed menu, signal or rule weighs the library again
RRF_K = 60


def full_menu() -> list[dict[str, float]]:
    """Every weighting of the three ranked signals by LEVELS, one per distinct ratio, none all zero; the
    citation ties weigh 1 or 0 beside them."""
    seen: set[tuple[float, ...]] = set()
    menu = []
    for levels in itertools.product(LEVELS, repeat=3):
        top = max(levels)
        if top == 0:
            continue
        ratio = tuple(round(w / top, 3) for w in levels)
        if ratio in seen:
            continue
        seen.add(ratio)
        for citations in (1.0, 0.0):  # weighted first: a library without ties yet keeps them for later
            menu.append({"model": ratio[0], "words": ratio[1], "graph": ratio[2], "citations": citations})
    return menu


#: The mixes a user may get: the default's model and graph with the words SVM beside them at `WORDS_LEVELS`, or
#: the words SVM alone (arxiv-sanity's own ranking, for fields the text model reads poorly); the citation ties at
#: 1 or 0. Choosing freely from `full_menu()` fits the noise of a few held-out papers and loses on the
#: development collections (decisions 0117, 0140).
MIXES = [{"model": model, "words": words, "graph": graph, "citations": citations}
         for model, words, graph in [(1.0, level, 1.0) for level in WORDS_LEVELS] + [(0.0, 1.0, 0.0)]
         for citations in (1.0, 0.0)]


def signal_rankers() -> dict[str, Ranker]:
    """The ranker behind each ranked signal (``citations`` is read from the store, not ranked here)."""
    return {"model": LinearRanker(), "words": words_ranker(), "graph": GraphRanker()}


def words_ranker() -> LinearRanker:
    """The words signal: arxiv-sanity-lite's SVM (C 0.01) on its kind of vocabulary, the terms in 5 papers or
    more and in at most a tenth of them, the 20,000 in most papers (decision 0140)."""
    return LinearRanker(c=0.01, use_embeddings=False, max_df=0.1, min_df=5, max_terms=20_000)


def mix_key(weights: Mapping[str, float]) -> str:
    """A mix's weights as one string, the key of its evidence."""
    return ",".join(f"{name}={float(weights.get(name, 0.0)):g}" for name in SIGNALS)


def reciprocal_ranks(scores: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """1 / (k + rank) of each score, rank 1 the highest; -inf scores get 0."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return np.where(np.isfinite(scores), 1.0 / (k + ranks), 0.0)


def tie_terms(candidate_ids: list[str], ties: Mapping[str, int], k: int = RRF_K) -> np.ndarray:
    """1 / (k + rank among the tied papers, most ties first) for each candidate with ties, else 0."""
    tied = sorted((-count, paper_id) for paper_id, count in ties.items() if count > 0)
    tie_rank = {paper_id: rank for rank, (_, paper_id) in enumerate(tied, 1)}
    return np.array([1.0 / (k + tie_rank[i]) if i in tie_rank else 0.0 for i in candidate_ids])


def fuse(terms: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The weighted sum of the signals' reciprocal-rank terms."""
    total: np.ndarray | None = None
    for name, values in terms.items():
        part = weights.get(name, 0.0) * values
        total = part if total is None else total + part
    assert total is not None
    return total


def carried_by(terms: Mapping[str, np.ndarray], weights: Mapping[str, float], index: int,
               share: float = 0.5) -> list[str]:
    """The signals that carried candidate `index`: those whose weighted term is at least `share` of the
    largest one, largest first."""
    parts = {name: weights.get(name, 0.0) * float(values[index]) for name, values in terms.items()}
    top = max(parts.values(), default=0.0)
    if top <= 0:
        return []
    return [name for name, value in sorted(parts.items(), key=lambda item: -item[1]) if value >= share * top]


def library_key(saved: list[str], hidden: list[str]) -> str:
    """What a chosen mix depends on: the library, the hidden papers, and the menu it was chosen from."""
    text = json.dumps([MIX_VERSION, sorted(saved), sorted(hidden)])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Mix:
    """A user's signal weights; `chosen` False when the library was too small to choose from. `quality` and
    `default_quality`: the held-out papers' mean average precision under the mix and under the default.
    `evidence`: each mix's average precision of the held-out papers per fold (by `mix_key`), which the weights
    are picked from again as the instance's evidence changes (`MixChooser.repick`)."""

    weights: dict[str, float]
    chosen: bool
    quality: float | None = None
    default_quality: float | None = None
    evidence: dict[str, list[float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"weights": self.weights, "chosen": self.chosen, "quality": self.quality,
                "default_quality": self.default_quality, "evidence": self.evidence}

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> Mix:
        weights = values.get("weights")
        if not isinstance(weights, dict) or set(weights) != set(SIGNALS):
            return cls(dict(DEFAULT_MIX), False)
        quality, default_quality = values.get("quality"), values.get("default_quality")
        evidence = values.get("evidence")
        return cls({k: float(v) for k, v in weights.items()}, bool(values.get("chosen")),
                   float(quality) if isinstance(quality, int | float) else None,
                   float(default_quality) if isinstance(default_quality, int | float) else None,
                   {str(k): [float(a) for a in aps] for k, aps in evidence.items()
                    if isinstance(aps, list) and aps and all(isinstance(a, int | float) for a in aps)}
                   if isinstance(evidence, dict) else {})


@dataclass
class InstancePrior:
    """The evidence of an instance's users: per user, each mix's mean held-out quality and the folds behind it,
    kept as running sums so that `for_user` leaves one user's own evidence out cheaply. Safe to share between
    the threads of one recommender."""

    _users: dict[Hashable, dict[str, tuple[float, int]]] = field(default_factory=dict)
    _sums: dict[str, float] = field(default_factory=dict)
    _folds: dict[str, int] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def of(cls, stored: Iterable[tuple[Hashable, Mapping[str, object]]]) -> InstancePrior:
        """The evidence of the users' stored mixes, as (user, `Mix.as_dict()`) (`store.accounts.signal_mixes()`)."""
        instance = cls()
        for user, values in stored:
            instance.put(user, Mix.from_dict(values).evidence)
        return instance

    def put(self, user: Hashable, evidence: Mapping[str, Sequence[float]]) -> None:
        """Keep `user`'s evidence (`Mix.evidence`) in place of what they had; empty evidence removes them."""
        means = {key: (float(np.mean(aps)), len(aps)) for key, aps in evidence.items() if len(aps)}
        with self._lock:
            for key, (mean, folds) in self._users.pop(user, {}).items():
                self._sums[key] -= mean
                self._folds[key] -= folds
                self._counts[key] -= 1
            if means:
                self._users[user] = means
            for key, (mean, folds) in means.items():
                self._sums[key] = self._sums.get(key, 0.0) + mean
                self._folds[key] = self._folds.get(key, 0) + folds
                self._counts[key] = self._counts.get(key, 0) + 1

    def summary(self) -> dict[str, object]:
        """What `paperscope stats --json` shows: how many users' libraries were weighed, each mix of `MIXES` with
        the mean of their held-out qualities and the folds behind it, and the mix the instance leans to (the best
        mean; None before any evidence)."""
        means = self.for_user(None)
        rows = [(w, means[mix_key(w)]) for w in MIXES if mix_key(w) in means]
        best = max(rows, key=lambda row: row[1][0], default=None)
        with self._lock:
            users = len(self._users)
        return {"users": users,
                "mixes": [{"weights": dict(w), "quality": round(q, 4), "folds": f} for w, (q, f) in rows],
                "leaning": dict(best[0]) if best is not None else None}

    def for_user(self, user: Hashable | None) -> dict[str, tuple[float, int]]:
        """Each mix's mean quality over the users other than `user` (the mean of their means; None: over every
        user) and how many folds it rests on."""
        prior = {}
        with self._lock:
            own = self._users.get(user, {})
            for key, total in self._sums.items():
                mean, folds = own.get(key, (0.0, 0))
                count = self._counts[key] - (1 if key in own else 0)
                if count > 0:
                    prior[key] = ((total - mean) / count, self._folds[key] - folds)
        return prior


def _average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Average precision of the `relevant` (boolean) rows in the order of `scores` (ties: first listed first)."""
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order]
    if not hits.any():
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


@dataclass
class MixChooser:
    """Chooses a user's `Mix` by holding out library papers (see the module). `rankers` keep their per-corpus
    caches (the SVM background, the period's kNN graph) from one user's choice to the next."""

    rankers: dict[str, Ranker] = field(default_factory=signal_rankers)
    folds: int = FOLDS
    min_library: int = MIN_LIBRARY
    candidates: int = CHOICE_CANDIDATES
    margin: float = MARGIN
    std_errors: float = STD_ERRORS
    repeats: int = REPEATS
    menu: list[dict[str, float]] = field(default_factory=lambda: list(MIXES))
    prior_folds: int = PRIOR_FOLDS
    seed: int = 0

    def choose(self, corpus: Corpus, signals: Signals,
               ties_of: Callable[[np.ndarray], Mapping[str, int]] | None = None,
               prior: Mapping[str, tuple[float, int]] | None = None) -> Mix:
        """The mix under which `signals.positives`' held-out papers rank best among a sample of
        `signals.candidates`, their folds pooled with the instance's `prior` (`pick` of `held_out_quality`);
        the instance's mix for a small library (`instance_mix`).
        `ties_of(library rows)`: the citation ties of a library (paper id -> ties), None without citations."""
        if len(signals.positives) < self.min_library or len(signals.candidates) == 0:
            return self.instance_mix(prior)
        return self.pick(self.held_out_quality(corpus, signals, ties_of), prior=prior)

    def repick(self, mix: Mix, prior: Mapping[str, tuple[float, int]] | None) -> Mix:
        """`mix` picked again beside the instance's `prior` as it is now: from its stored evidence, or for a small
        library (not `chosen`) the instance's mix; a chosen mix without evidence as it is."""
        if not mix.chosen:
            return self.instance_mix(prior)
        qualities = [(w, np.asarray(mix.evidence[mix_key(w)])) for w in with_default(self.menu)
                     if mix_key(w) in mix.evidence]
        if not qualities or qualities[0][0] != DEFAULT_MIX:
            return mix
        return self.pick(qualities, prior=prior)

    def instance_mix(self, prior: Mapping[str, tuple[float, int]] | None) -> Mix:
        """The mix of a library too small to weigh: the menu's best by the other users' mean quality, once that
        rests on `prior_folds` folds or more (as the default's does), else `DEFAULT_MIX` (decision 0140)."""
        prior = prior or {}
        best, (best_quality, folds) = DEFAULT_MIX, prior.get(mix_key(DEFAULT_MIX), (0.0, 0))
        if folds >= self.prior_folds:
            for weights in self.menu:
                quality, folds = prior.get(mix_key(weights), (0.0, 0))
                if folds >= self.prior_folds and quality > best_quality + 1e-12:
                    best, best_quality = weights, quality
        return Mix(dict(best), False)

    def pick(self, qualities: list[tuple[dict[str, float], np.ndarray]], margin: float | None = None,
             menu: list[dict[str, float]] | None = None, std_errors: float | None = None,
             prior: Mapping[str, tuple[float, int]] | None = None) -> Mix:
        """The mix of `menu` (default: `self.menu`) with the best quality, among those that beat the default's
        by more than `margin` (relative) and by more than `std_errors` standard errors of the per-fold gains;
        else the default. The first listed wins a tie. A mix's quality is the mean of its held-out average
        precisions (`qualities`: per fold, paired across mixes), pooled with the instance's mean in `prior`
        (mix key -> (mean, folds)) counted as up to `prior_folds` folds."""
        margin = self.margin if margin is None else margin
        std_errors = self.std_errors if std_errors is None else std_errors
        menu = self.menu if menu is None else menu
        prior = prior or {}

        def pooled(weights: Mapping[str, float], aps: np.ndarray) -> float:
            mean, folds = prior.get(mix_key(weights), (0.0, 0))
            weight = min(self.prior_folds, folds)
            return float((np.sum(aps) + weight * mean) / (len(aps) + weight))

        default_aps = next(aps for w, aps in qualities if w == DEFAULT_MIX)
        default_quality = pooled(DEFAULT_MIX, default_aps)
        best, best_quality, best_aps = DEFAULT_MIX, default_quality, default_aps
        for weights, aps in qualities:
            if weights not in menu or weights == DEFAULT_MIX:
                continue
            gains = np.asarray(aps) - default_aps
            gain = pooled(weights, aps) - default_quality
            error = float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0
            if gain <= default_quality * margin + 1e-12 or gain <= std_errors * error + 1e-12:
                continue
            if default_quality + gain > best_quality + 1e-12:
                best, best_quality, best_aps = weights, default_quality + gain, aps
        evidence = {mix_key(w): [round(float(a), 6) for a in aps] for w, aps in qualities}
        return Mix(dict(best), True, round(float(np.mean(best_aps)), 6), round(float(np.mean(default_aps)), 6),
                   evidence)

    def held_out_quality(self, corpus: Corpus, signals: Signals,
                         ties_of: Callable[[np.ndarray], Mapping[str, int]] | None = None,
                         menu: list[dict[str, float]] | None = None) -> list[tuple[dict[str, float], np.ndarray]]:
        """Each mix of `menu` (default: `self.menu`), the default mix first, with its held-out library papers'
        average precision among a sample of the candidates in each fold of each repeat (signals trained on the
        rest of the library)."""
        folds = [({name: reciprocal_ranks(values) for name, values in scores.items()} | {"citations": ties}, labels)
                 for repeat in range(self.repeats)
                 for scores, ties, labels in self.fold_scores(corpus, signals, ties_of, self.seed + repeat)]
        return [(dict(w), held_out_aps(folds, w)) for w in with_default(menu or self.menu)]

    def fold_scores(self, corpus: Corpus, signals: Signals,
                    ties_of: Callable[[np.ndarray], Mapping[str, int]] | None = None, seed: int | None = None
                    ) -> list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
        """Per fold: each ranked signal's scores of the fold's candidates (a seeded sample of
        `signals.candidates`, then the held-out library papers), the citation ties' terms, and which candidates
        are held-out papers. Every signal is trained on the rest of the library. `seed` (default: `self.seed`)
        draws the sample and the folds."""
        positives = np.asarray(signals.positives)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        sample = signals.candidates
        if len(sample) > self.candidates:
            sample = np.sort(rng.choice(sample, size=self.candidates, replace=False))
        sample = sample[~np.isin(sample, positives)]
        folds = []
        for part in np.array_split(rng.permutation(positives), self.folds):
            rest = np.setdiff1d(positives, part)
            candidates = np.concatenate([sample, np.sort(part)])
            fold = Signals(rest, signals.negatives, candidates, signals.query_vectors, signals.query_tfidf,
                           pool=signals.pool, held_out=part)
            scores = {name: ranker.scores(corpus, fold) for name, ranker in self.rankers.items()}
            ties = ties_of(rest) if ties_of is not None else {}
            tie_values = tie_terms([corpus.ids[int(r)] for r in candidates], ties) if ties \
                else np.zeros(len(candidates))
            folds.append((scores, tie_values, np.r_[np.zeros(len(sample), dtype=bool), np.ones(len(part), dtype=bool)]))
        return folds


def with_default(menu: list[dict[str, float]]) -> list[dict[str, float]]:
    """`menu` with the default mix first (once)."""
    return [dict(DEFAULT_MIX)] + [w for w in menu if w != DEFAULT_MIX]


def held_out_aps(folds: list[tuple[dict[str, np.ndarray], np.ndarray]], weights: Mapping[str, float]) -> np.ndarray:
    """Each fold's held-out papers' average precision under `weights` (folds: (terms, labels))."""
    return np.array([_average_precision(fuse(terms, weights), labels) for terms, labels in folds])


@dataclass
class MixedRanker:
    """A `Ranker` that fuses the ranked signals by a user's weights (without citations, which need the store);
    with `chooser`, each call first chooses the weights from the library (what the benchmark measures)."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    chooser: MixChooser | None = None
    rankers: dict[str, Ranker] = field(default_factory=signal_rankers)
    last_mix: Mix | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.chooser is not None:
            self.chooser.rankers = self.rankers

    def terms(self, corpus: Corpus, signals: Signals, weights: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Each weighted signal's reciprocal-rank terms over the candidates (signals weighted 0 are not run)."""
        return {name: reciprocal_ranks(ranker.scores(corpus, signals)) for name, ranker in self.rankers.items()
                if weights.get(name, 0.0) > 0}

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        weights = self.weights
        if self.chooser is not None:
            self.last_mix = self.chooser.choose(corpus, signals)
            weights = self.last_mix.weights
        terms = self.terms(corpus, signals, weights)
        return fuse(terms, weights) if terms else np.zeros(len(signals.candidates))
