"""Variants of the per-user signal mix, measured on the development collections only (the words model, the
menu, and how much a user's choice leans on the instance's other users; decisions 0118, 0140). Every variant is
scored on the same users, folds and signals, beside arxiv-sanity-lite's TF-IDF SVM and the fixed fusion, in the
same run.

    nice -n 10 python bench/bench_recommend_mix_variants.py [--collection development|dev|...] [--users 3]
        [--repeats 2] [--seed 0]

Per user, each signal is run once on the period (to score) and once per fold of the held-out choice, with
`--repeats` seeded splits of the library into folds; the raw scores are kept in
bench/.cache/rec-variants-*.pkl, so a variant rule costs no refit. A collection's users are one instance: a
pooled rule picks each user's mix from their folds and the other users' mean (recommend/mix.py's
`InstancePrior`). The collections are bench_recommend_mix.py's development ones; SciFact (unseen) is refused here.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from collections import Counter
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
from bench_recommend_mix import DEV_TOPICS, DEVELOPMENT, arxiv_collection
from benchlib import CACHE, arguments
from ir_metrics import mean
from paperscope.recommend.mix import (
    MIXES,
    PRIOR_FOLDS,
    InstancePrior,
    MixChooser,
    _average_precision,
    fuse,
    mix_key,
    reciprocal_ranks,
    words_ranker,
)
from paperscope.recommend.rankers import GraphRanker, LinearRanker, Ranker

Weights = Mapping[str, float]


def signal_rankers() -> dict[str, Ranker]:
    """The shipped signals (``words``: arxiv-sanity's vocabulary), and the words SVM of 0117-0118 on every term of
    the corpus's TF-IDF (``words-all``) and on its distinctive terms alone (``distinct``, 0118's variant)."""
    return {"model": LinearRanker(), "words": words_ranker(),
            "words-all": LinearRanker(c=0.01, use_embeddings=False),
            "distinct": LinearRanker(c=0.01, use_embeddings=False, max_df=0.1), "graph": GraphRanker()}


@dataclass
class Measured:
    """One user's raw scores: on the period, and per repeat and fold of the held-out choice."""

    relevant: set[int]
    baseline: np.ndarray
    scores: dict[str, np.ndarray]
    folds: list[list[tuple[dict[str, np.ndarray], np.ndarray]]]  # repeats x folds x (scores, held-out labels)


def measure(name: str, users_per_interest: int, seed: int, repeats: int) -> list[Measured]:
    # v2: the corpus's TF-IDF splits words at hyphens (decision 0140); scores of v1 are not comparable.
    path = CACHE / f"rec-variants-v2-{name.replace(':', '-')}-u{users_per_interest}-s{seed}-r{repeats}.pkl"
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


def fold_aps(m: Measured, weights: Weights, repeats: int) -> np.ndarray:
    """The user's held-out average precision per fold under `weights`, over the first `repeats` splits."""
    return np.array([_average_precision(rrf(s, weights), labels) for folds in m.folds[:repeats]
                     for s, labels in folds])


DEFAULT = {"model": 1.0, "graph": 1.0}


def pooled_picks(measured: list[Measured], menu_: list[dict[str, float]], prior_folds: float,
                 words: str = "words", repeats: int = 2) -> list[dict[str, float]]:
    """Each user's mix as recommend/mix.py picks it from `menu_` (mixes of model, words and graph; the default
    first), the user's folds pooled with the other users' mean quality of each mix counted as `prior_folds` folds
    (0: each user alone). `words`: the signal that plays the words SVM's part."""
    shipped = [{**w, "citations": 1.0} for w in menu_]  # no citation ties in these collections
    weights = [{(words if n == "words" else n): v for n, v in w.items() if v > 0 and n != "citations"}
               for w in menu_]
    evidence = [{mix_key(w): fold_aps(m, wb, repeats) for w, wb in zip(shipped, weights, strict=True)}
                for m in measured]
    instance = InstancePrior()
    for user, found in enumerate(evidence):
        instance.put(user, found)
    chooser = MixChooser(menu=shipped, prior_folds=int(prior_folds) if np.isfinite(prior_folds) else 10**9)
    picks = []
    for user, found in enumerate(evidence):
        qualities = [(w, found[mix_key(w)]) for w in shipped]
        chosen = chooser.pick(qualities, prior=instance.for_user(user) if prior_folds else None).weights
        picks.append(weights[shipped.index(chosen)])
    return picks


def levels_menu(levels: tuple[float, ...], alone: bool) -> list[dict[str, float]]:
    """The words SVM at `levels` beside the default's model and graph, and (`alone`) by itself."""
    return [{"model": 1.0, "words": float(level), "graph": 1.0} for level in levels] \
        + ([{"model": 0.0, "words": 1.0, "graph": 0.0}] if alone else [])


# recommend/mix.py's menu without its citation ties (which these collections have none of), the default first.
SHIPPED_MENU = [dict(w) for w in dict.fromkeys(tuple((n, m[n]) for n in ("model", "words", "graph")) for m in MIXES)]


def ap_at_k(m: Measured, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")[:K]
    return average_precision([int(i) in m.relevant for i in order], len(m.relevant))


Variant = Callable[[list[Measured]], list[np.ndarray]]


def variants(repeats: int) -> dict[str, Variant]:
    def fixed(weights: Weights) -> Variant:
        return lambda ms: [rrf(m.scores, weights) for m in ms]

    def pooled(menu_: list[dict[str, float]], prior_folds: float, words: str = "words") -> Variant:
        return lambda ms: [rrf(m.scores, w) for m, w in zip(ms, pooled_picks(ms, menu_, prior_folds, words,
                                                                               repeats), strict=True)]

    table: dict[str, Variant] = {
        "fixed fusion (model + graph)": fixed(DEFAULT),
        "words SVM alone (arxiv-sanity's vocabulary)": fixed({"words": 1}),
        "words SVM alone, every term (0117)": fixed({"words-all": 1}),
        "distinctive-words SVM alone (0118)": fixed({"distinct": 1}),
        "fixed: + words 0.5": fixed({**DEFAULT, "words": 0.5}),
        "fixed: + words 1": fixed({**DEFAULT, "words": 1}),
        "0118's rule: each user alone, words 0/0.5/1 (every term)": pooled(levels_menu((0, 0.5, 1), False), 0,
                                                                          "words-all"),
    }
    for levels in ((0, 0.5, 1), (0, 0.5, 1, 2)):
        for alone in (False, True):
            for prior_folds in (0, 6, 24, 96, float("inf")):
                name = "/".join(f"{v:g}" for v in levels) + (" or alone" if alone else "")
                table[f"words {name}, instance as {prior_folds:g} folds"] = pooled(levels_menu(levels, alone),
                                                                                   prior_folds)
    table["shipped menu, every term as the words SVM, instance as 24 folds"] = pooled(SHIPPED_MENU, 24, "words-all")
    table[f"**shipped rule: words 0/0.5/1/2 or alone, instance as {PRIOR_FOLDS} folds**"] = pooled(SHIPPED_MENU,
                                                                                                 PRIOR_FOLDS)
    return table


def report(name: str, measured: list[Measured], table: dict[str, Variant], gains: dict[str, list[float]],
           repeats: int) -> None:
    """One collection's table: every variant's MAP@20, its ratio to the baseline and its gain over the fixed fusion."""
    base = [ap_at_k(m, m.baseline) for m in measured]
    fixed = [ap_at_k(m, s) for m, s in zip(measured, table["fixed fusion (model + graph)"](measured), strict=True)]
    print(f"\n## {name}: {len(measured)} users; {BASELINE}: MAP@20 {mean(base):.3f}")
    print("| variant | MAP@20 | ratio to baseline (95 %) | minus fixed fusion (95 %) |")
    print("| --- | ---: | ---: | ---: |")
    for variant, score in table.items():
        aps = [ap_at_k(m, s) for m, s in zip(measured, score(measured), strict=True)]
        low, high = ratio_interval(aps, base)
        dlow, dhigh = difference_interval(aps, fixed)
        gains[variant].append(mean(aps) - mean(fixed))
        print(f"| {variant} | {mean(aps):.3f} | {mean(aps) / mean(base):.2f} ({low:.2f}-{high:.2f}) | "
              f"{mean(aps) - mean(fixed):+.3f} ({dlow:+.3f} to {dhigh:+.3f}) |", flush=True)
    picks = Counter(json.dumps(w) for w in pooled_picks(measured, SHIPPED_MENU, PRIOR_FOLDS, repeats=repeats))
    print(f"  the shipped rule's mixes: {dict(picks)}")


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
    measured = {name: measure(name, args.users, args.seed, args.repeats) for name in names}
    for name in names:
        report(name, measured[name], table, gains, args.repeats)
    if set(DEV_TOPICS) <= set(names):
        # One instance whose users differ: half of them follow topics by words, half topics by the model's
        # neighbours (the same corpus and period), so the instance's evidence leans every user the wrong way for half.
        mixed = " + ".join(DEV_TOPICS) + ", one instance"
        names.append(mixed)
        report(mixed, [m for name in DEV_TOPICS for m in measured[name]], table, gains, args.repeats)
    print("\n## minus the fixed fusion, per collection (" + ", ".join(names) + "), and the worst")
    for variant, values in gains.items():
        print(f"| {variant} | " + " | ".join(f"{v:+.3f}" for v in values) + f" | worst {min(values):+.3f} |")


if __name__ == "__main__":
    main()
