"""Variants of the per-user signal mix, measured on the development collections only (the choice of words model,
fusion and choice rule; decision 0118). Every variant is scored on the same users, folds and signals, beside
arxiv-sanity-lite's TF-IDF SVM and the fixed fusion, in the same run.

    nice -n 10 python bench/bench_recommend_mix_variants.py [--collection development|dev|...] [--users 3]
        [--repeats 2]

Per user, each signal is run once on the period (to score) and once per fold of the held-out choice, with
`--repeats` seeded splits of the library into folds; the raw scores are kept in
bench/.cache/rec-variants-*.pkl, so a variant rule costs no refit. The collections are bench_recommend_mix.py's
development ones; SciFact (unseen) is refused here.
"""

from __future__ import annotations

import pickle
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from bench_recommend import (
    BASELINE,
    K,
    arxiv_sanity_scores,
    average_precision,
    difference_interval,
    load_papers,
    load_vectors,
    ratio_interval,
)
from bench_recommend_mix import DEVELOPMENT, arxiv_collection
from benchlib import CACHE, arguments
from ir_metrics import mean
from paperscope.recommend.mix import (
    MixChooser,
    _average_precision,
    fuse,
    reciprocal_ranks,
)
from paperscope.recommend.rankers import GraphRanker, LinearRanker, Ranker, standardise

Weights = Mapping[str, float]


def signal_rankers() -> dict[str, Ranker]:
    return {"model": LinearRanker(), "words": LinearRanker(c=0.01, use_embeddings=False),
            "distinct": LinearRanker(c=0.01, use_embeddings=False, max_df=0.1),
            "model-distinct": LinearRanker(max_df=0.1), "graph": GraphRanker()}


@dataclass
class Measured:
    """One user's raw scores: on the period, and per repeat and fold of the held-out choice."""

    relevant: set[int]
    baseline: np.ndarray
    scores: dict[str, np.ndarray]
    folds: list[list[tuple[dict[str, np.ndarray], np.ndarray]]]  # repeats x folds x (scores, held-out labels)


def measure(name: str, users_per_interest: int, seed: int, repeats: int) -> list[Measured]:
    path = CACHE / f"rec-variants-{name.replace(':', '-')}-u{users_per_interest}-s{seed}-r{repeats}.pkl"
    if path.exists():
        with path.open("rb") as f:
            cached: list[Measured] = pickle.load(f)
            return cached
    papers = load_papers()
    corpus, baseline_tfidf, users = arxiv_collection(papers, load_vectors(papers), name, users_per_interest, seed)
    rankers = signal_rankers()
    choosers = [MixChooser(rankers, seed=r) for r in range(repeats)]
    measured = []
    started = time.perf_counter()
    for user in users:
        user.signals.pool = user.signals.candidates
        folds = [[(scores, labels) for scores, _, labels in c.fold_scores(corpus, user.signals)] for c in choosers]
        measured.append(Measured(user.relevant, arxiv_sanity_scores(baseline_tfidf, user.signals),  # type: ignore[arg-type]
                                 {n: r.scores(corpus, user.signals) for n, r in rankers.items()}, folds))
    print(f"{name}: {len(users)} users measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with path.open("wb") as f:
        pickle.dump(measured, f)
    return measured


def rrf(scores: dict[str, np.ndarray], weights: Weights) -> np.ndarray:
    return fuse({n: reciprocal_ranks(v) for n, v in scores.items() if weights.get(n, 0) > 0}, weights)


def zfuse(scores: dict[str, np.ndarray], weights: Weights) -> np.ndarray:
    total = np.zeros(len(next(iter(scores.values()))))
    for n, w in weights.items():
        if w > 0:
            total = total + w * standardise(scores[n])
    return total


def fold_aps(m: Measured, weights: Weights, combine: Callable[..., np.ndarray], repeats: int) -> np.ndarray:
    return np.array([_average_precision(combine(s, weights), labels) for folds in m.folds[:repeats]
                     for s, labels in folds])


DEFAULT = {"model": 1.0, "graph": 1.0}


def menu(words: str, levels: tuple[float, ...] = (0.0, 0.5, 1.0)) -> list[dict[str, float]]:
    return [{"model": 1.0, "graph": 1.0, words: level} for level in levels]


@dataclass
class Rule:
    """Choose a user's weights from the held-out folds."""

    menu: list[dict[str, float]]
    combine: Callable[..., np.ndarray] = rrf
    repeats: int = 1
    consistent: float = 0.0  # > 0: a mix beats the default only when its mean fold gain > this many std errors

    def choose(self, m: Measured) -> Weights:
        base = fold_aps(m, self.menu[0], self.combine, self.repeats)
        best, best_gain = self.menu[0], 0.0
        for w in self.menu[1:]:
            diff = fold_aps(m, w, self.combine, self.repeats) - base
            gain = float(diff.mean())
            if self.consistent > 0:
                error = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
                if gain <= self.consistent * error:
                    continue
            if gain > best_gain + 1e-12:
                best, best_gain = w, gain
        return best


def ap_at_k(m: Measured, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")[:K]
    return average_precision([int(i) in m.relevant for i in order], len(m.relevant))


def variants(repeats: int) -> dict[str, Callable[[Measured], np.ndarray]]:
    def fixed(weights: Weights, combine: Callable[..., np.ndarray] = rrf) -> Callable[[Measured], np.ndarray]:
        return lambda m: combine(m.scores, weights)

    def chosen(rule: Rule) -> Callable[[Measured], np.ndarray]:
        return lambda m: rule.combine(m.scores, rule.choose(m))

    table: dict[str, Callable[[Measured], np.ndarray]] = {
        "fixed fusion (model + graph)": fixed(DEFAULT),
        "words SVM alone": fixed({"words": 1}),
        "distinctive-words SVM alone": fixed({"distinct": 1}),
        "fixed: model-distinct + graph": fixed({"model-distinct": 1, "graph": 1}),
        "fixed: + words 0.5": fixed({**DEFAULT, "words": 0.5}),
        "fixed: + distinct 0.5": fixed({**DEFAULT, "distinct": 0.5}),
        "fixed: + distinct 1": fixed({**DEFAULT, "distinct": 1}),
        "shipped rule (words 0/0.5/1)": chosen(Rule(menu("words"))),
        "rule: distinct 0/0.5/1": chosen(Rule(menu("distinct"))),
        "rule: distinct 0/0.5/1/2": chosen(Rule(menu("distinct", (0, 0.5, 1, 2)))),
        "rule: distinct 0/0.5/1, 1 std error": chosen(Rule(menu("distinct"), consistent=1.0)),
        "rule: words 0/0.5/1, 1 std error": chosen(Rule(menu("words"), consistent=1.0)),
        "score fusion: fixed model + graph": fixed(DEFAULT, zfuse),
        "score fusion: rule distinct 0/0.5/1": chosen(Rule(menu("distinct"), zfuse)),
    }
    if repeats > 1:
        table[f"rule: distinct 0/0.5/1, {repeats} repeats"] = chosen(Rule(menu("distinct"), repeats=repeats))
        table[f"rule: distinct 0/0.5/1, {repeats} repeats, 1 std error"] = chosen(
            Rule(menu("distinct"), repeats=repeats, consistent=1.0))
        table[f"shipped rule, {repeats} repeats"] = chosen(Rule(menu("words"), repeats=repeats))
        table[f"rule: words 0/0.5/1, {repeats} repeats, 1 std error"] = chosen(
            Rule(menu("words"), repeats=repeats, consistent=1.0))
        table[f"rule: words 0/0.5/1, {repeats} repeats, 0.5 std error"] = chosen(
            Rule(menu("words"), repeats=repeats, consistent=0.5))
    return table


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--collection", choices=[*DEVELOPMENT, "development"], default="development")
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    names = list(DEVELOPMENT) if args.collection == "development" else [args.collection]
    table = variants(args.repeats)
    gains: dict[str, list[float]] = {v: [] for v in table}
    for name in names:
        measured = measure(name, args.users, args.seed, args.repeats)
        base = [ap_at_k(m, m.baseline) for m in measured]
        fixed = [ap_at_k(m, table["fixed fusion (model + graph)"](m)) for m in measured]
        print(f"\n## {name}: {len(measured)} users; {BASELINE}: MAP@20 {mean(base):.3f}")
        print("| variant | MAP@20 | ratio to baseline (95 %) | minus fixed fusion (95 %) |")
        print("| --- | ---: | ---: | ---: |")
        for variant, score in table.items():
            aps = [ap_at_k(m, score(m)) for m in measured]
            low, high = ratio_interval(aps, base)
            dlow, dhigh = difference_interval(aps, fixed)
            gains[variant].append(mean(aps) - mean(fixed))
            print(f"| {variant} | {mean(aps):.3f} | {mean(aps) / mean(base):.2f} ({low:.2f}-{high:.2f}) | "
                  f"{mean(aps) - mean(fixed):+.3f} ({dlow:+.3f} to {dhigh:+.3f}) |", flush=True)
        shipped = Rule(menu("words"), repeats=args.repeats)
        weighing = sum(1 for m in measured if shipped.choose(m).get("words", 0) > 0)
        print(f"  the shipped rule ({args.repeats} splits): {weighing} of {len(measured)} users weigh the words SVM")
    print("\n## minus the fixed fusion, per collection (" + ", ".join(names) + "), and the worst")
    for variant, values in gains.items():
        print(f"| {variant} | " + " | ".join(f"{v:+.3f}" for v in values) + f" | worst {min(values):+.3f} |")


if __name__ == "__main__":
    main()
