"""Per-user signal mixes: MAP@20 of the recommender that chooses each user's mix from their library, beside the
shipped fixed fusion and arxiv-sanity-lite's TF-IDF SVM, measured in the same run.

    nice -n 10 python bench/bench_recommend_mix.py [--collection dev|dev-w16|dev-w18|dev:topics-words|
        dev:topics-embedding|scifact-words|scifact-neighbours|development|unseen|all] [--users 6]
        [--margins 0,0.1,0.25]   # development only: other choice rules beside the shipped one

Collections:
* development (the method and its settings were chosen on these only): bench_recommend.py's dev, dev-w16 and
  dev-w18 splits of the arXiv cs listings, category interests (see that file), and dev's topic interests
  (``dev:topics-words``: k-means on an LSA of the baseline's TF-IDF; ``dev:topics-embedding``: k-means on the
  embeddings; bench_recommend.py --interests topics).
* unseen, outside computer science: SciFact's 5,183 biomedical abstracts (BEIR corpus). They have no dates, so
  a seeded 40 % of them are "the period" (the candidates) and the rest the history libraries are drawn from.
  Pseudo-fields split the corpus two ways, 20 fields each (`--fields`), and a paper's field is its cluster:
  - ``scifact-words``, word-defined: k-means on a 100-dimension LSA of `arxiv_sanity_tfidf`, the very
    features the baseline's SVM reads, so a field is a region of the baseline's own feature space and a words
    model passes the test by construction (decision 0119);
  - ``scifact-neighbours``, neighbour-defined: k-means on the text model's embeddings (fields by nearest
    neighbours in the model's space; favours the rankers that read the embeddings).
  8 fields with at least 10 history papers and 3 candidates are drawn (seeded); per field, users with 10-30
  history papers of it saved and 2-6 of another field hidden; relevant = the candidates of the field.
  These collections were defined before their first run, and nothing was chosen on them. With 20 fields the
  baseline reaches MAP@20 0.85 on the word fields, near the ceiling; `--fields 100` (about 50 papers a field),
  defined after that first run, asks the same of narrower fields.

Vectors: the arXiv ones from bench/.cache (bench_recommend.py); SciFact's from
bench/.cache/scifact-citations-minilm.npy (bench_citations.py), embedded once when absent.

A collection's users are one instance: each user's mix is picked from their own held-out folds pooled with the
other users' mean (recommend/mix.py's `InstancePrior`, decision 0140); "each user alone" is the same rule without
them. Each MAP ratio comes with a 95 % bootstrap interval over users (paired); "mix minus shipped" likewise.
The time to choose a mix is per user, on top of ranking; the recommender stores the choice until the library
changes, so a digest run pays it only for users whose library changed.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from bench_recommend import (
    BASELINE,
    DEV_SPLITS,
    SPLITS,
    K,
    Papers,
    Result,
    User,
    arxiv_sanity_scores,
    arxiv_sanity_tfidf,
    average_precision,
    difference_interval,
    evaluate,
    load_papers,
    load_vectors,
    ndcg,
    ratio_interval,
    simulate_users,
    topic_members,
    users_from,
)
from benchlib import SCIFACT, arguments, require
from ir_metrics import mean
from paperscope.recommend.mix import (
    DEFAULT_MIX,
    MARGIN,
    InstancePrior,
    MixChooser,
    full_menu,
    fuse,
    mix_key,
    reciprocal_ranks,
)
from paperscope.recommend.rankers import Corpus, Signals, fit_tfidf

SCIFACT_COLLECTIONS = ("scifact-words", "scifact-neighbours")
# dev's topic interests (bench_recommend.py --interests topics): topics by words, or by the model's neighbours.
DEV_TOPICS = ("dev:topics-words", "dev:topics-embedding")
DEVELOPMENT = (*DEV_SPLITS, *DEV_TOPICS)
FIELDS, FIELD_USERS = [20], 8  # --fields
PERIOD_SHARE = 0.4
MARGINS: list[float] = []  # --margins: the choice rule's other margins, measured beside the shipped one


def _mixes(test: Callable[[dict[str, float]], bool]) -> list[dict[str, float]]:
    return [w for w in full_menu() if test(w)]


# Menus tried with --margins (development collections only): which mixes a user may get.
MENUS = {
    "full": full_menu(),
    "words beside the default": _mixes(lambda w: w["model"] == 1 and w["graph"] == 1),
    "words beside the default, or words-led": _mixes(
        lambda w: (w["model"] == 1 and w["graph"] == 1) or (w["words"] == 1 and w["model"] == 0.5
                                                            and w["graph"] == 0.5)),
    "words beside the default, or one signal": _mixes(
        lambda w: (w["model"] == 1 and w["graph"] == 1) or sum(v > 0 for k, v in w.items() if k != "citations") == 1),
}


def arxiv_collection(papers: Papers, vectors: np.ndarray, name: str, per_interest: int, seed: int
                     ) -> tuple[Corpus, object, list[User]]:
    split = SPLITS[name.split(":")[0]]
    corpus_rows = np.array([r for r in range(len(papers.ids)) if papers.week[r] <= split.test_week])
    known = Papers([papers.ids[r] for r in corpus_rows], papers.week[corpus_rows],
                   [papers.categories[r] for r in corpus_rows], [papers.texts[r] for r in corpus_rows])
    _, ours, terms = fit_tfidf(known.texts)
    corpus = Corpus(known.ids, vectors[corpus_rows], ours, terms)
    baseline_tfidf = arxiv_sanity_tfidf(known.texts)
    rows = np.arange(len(corpus_rows))
    if name.endswith(":topics-words") or name.endswith(":topics-embedding"):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        features = normalize(TruncatedSVD(100, random_state=seed).fit_transform(baseline_tfidf)) \
            if name.endswith("words") else corpus.vectors
        label = "tf-idf" if name.endswith("words") else "embedding"
        members = topic_members(known, split, rows, features, label, seed)
        return corpus, baseline_tfidf, users_from(known, split, rows, members, per_interest, seed)
    return corpus, baseline_tfidf, simulate_users(known, split, rows, per_interest, seed)


def scifact_collection(name: str, per_field: int, seed: int) -> tuple[Corpus, object, list[User]]:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    docs = [json.loads(line) for line in require(SCIFACT / "corpus.jsonl").open(encoding="utf-8")]
    texts = [" ".join(f"{d['title']} {d['abstract']}".split()) for d in docs]
    vectors = scifact_vectors([f"{d['title']}. {d['abstract']}" for d in docs])
    _, ours, terms = fit_tfidf(texts)
    corpus = Corpus([str(d["id"]) for d in docs], vectors, ours, terms)
    baseline_tfidf = arxiv_sanity_tfidf(texts)
    features = normalize(TruncatedSVD(100, random_state=seed).fit_transform(baseline_tfidf)) \
        if name == "scifact-words" else vectors
    fields = FIELDS[0]
    field = KMeans(fields, n_init=4, random_state=seed).fit_predict(features)
    rng = np.random.default_rng(seed)
    in_period = rng.random(len(docs)) < PERIOD_SHARE
    candidates = np.flatnonzero(in_period)
    history = np.flatnonzero(~in_period)
    eligible = [f for f in range(fields) if (field[history] == f).sum() >= 10 and (field[candidates] == f).sum() >= 3]
    chosen = sorted(rng.choice(eligible, size=min(FIELD_USERS, len(eligible)), replace=False).tolist())
    users = []
    for f in chosen:
        liked = history[field[history] == f]
        relevant = set(np.flatnonzero(field[candidates] == f).tolist())
        others = [g for g in chosen if g != f]
        for _ in range(per_field):
            library = rng.choice(liked, size=min(int(rng.integers(10, 31)), len(liked)), replace=False)
            dislikes = history[field[history] == others[int(rng.integers(len(others)))]]
            hidden = rng.choice(dislikes, size=min(int(rng.integers(2, 7)), len(dislikes)), replace=False)
            users.append(User(f"field {f}", Signals(np.sort(library), np.sort(hidden), candidates), relevant))
    return corpus, baseline_tfidf, users


def scifact_vectors(texts: list[str]) -> np.ndarray:
    from bench_citations import vectors

    matrix = vectors([str(n) for n in range(len(texts))], texts).astype(np.float32)
    return np.ascontiguousarray(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def run(name: str, corpus: Corpus, baseline_tfidf: object, users: list[User]) -> None:
    for user in users:  # one period shared by every user, as in a digest run (the graph's lists are shared)
        user.signals.pool = user.signals.candidates
    print(f"\n## {name}: {len(users)} users ({', '.join(dict.fromkeys(u.interest for u in users))}), "
          f"corpus {len(corpus.ids)} papers, {len(users[0].signals.candidates)} candidates", flush=True)
    results: dict[str, Result] = {BASELINE: evaluate(users, lambda s: arxiv_sanity_scores(baseline_tfidf, s))}
    chooser = MixChooser()
    rankers = chooser.rankers
    every_ratio = full_menu()
    menu_measured = every_ratio + [w for w in chooser.menu if w not in every_ratio]
    per_user: list[tuple[User, list[tuple[dict[str, float], float]], dict[str, np.ndarray]]] = []
    choice_seconds: list[float] = []
    rank_seconds: list[float] = []
    for user in users:
        started = time.perf_counter()
        qualities = chooser.held_out_quality(corpus, user.signals, menu=menu_measured)
        choice_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        terms = {name: reciprocal_ranks(r.scores(corpus, user.signals)) for name, r in rankers.items()}
        rank_seconds.append(time.perf_counter() - started)
        per_user.append((user, qualities, terms))
    # The fixed fusion (engine.default_ranker: model and graph, rank-fused) and each signal alone, from the same terms.
    for label, weights in (("paperscope, shipped fixed fusion (model + graph)", DEFAULT_MIX),
                           ("signal alone: model (SVM on embeddings + TF-IDF)", {"model": 1.0}),
                           ("signal alone: words (SVM on TF-IDF, arxiv-sanity's vocabulary)", {"words": 1.0}),
                           ("signal alone: graph", {"graph": 1.0})):
        results[label] = scored(per_user, [dict(weights)] * len(per_user))
    # The collection's users are one instance: each user's evidence of the shipped menu, pooled by the others'.
    instance = InstancePrior()
    for number, (_, qualities, _) in enumerate(per_user):
        instance.put(number, {mix_key(w): aps for w, aps in qualities if w in chooser.menu})
    chosen: dict[str, list[dict[str, float]]] = {}
    rules = [("shipped", chooser.menu, MARGIN, True), ("shipped, each user alone", chooser.menu, MARGIN, False)] \
        + ([(menu, MENUS[menu], margin, False) for menu in MENUS for margin in MARGINS] if MARGINS else [])
    for menu_name, menu, margin, pooled in rules:
        picks = [chooser.pick(qualities, margin, menu, prior=instance.for_user(number) if pooled else None).weights
                 for number, (_, qualities, _) in enumerate(per_user)]
        label = "paperscope, per-user mix (recommend)" if menu_name == "shipped" \
            else f"variant: {menu_name}" if menu_name.startswith("shipped") \
            else f"variant: menu {menu_name}, margin {margin}, each user alone"
        chosen[label] = picks
        results[label] = scored(per_user, picks)
        results[label].seconds = float(np.mean(choice_seconds) + np.mean(rank_seconds))
    base = results[BASELINE]
    print("| method | MAP@20 | nDCG@20 | MAP ratio to baseline | 95 % interval | s/user |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for method, result in results.items():
        low, high = ratio_interval(result.aps, base.aps)
        print(f"| {method} | {result.map:.3f} | {result.ndcg:.3f} | {result.map / base.map:.2f} | "
              f"{low:.2f}-{high:.2f} | {result.seconds:.2f} |", flush=True)
    fixed = results["paperscope, shipped fixed fusion (model + graph)"]
    ours = results["paperscope, per-user mix (recommend)"]
    low, high = difference_interval(ours.aps, fixed.aps)
    print(f"  per-user mix minus the shipped fusion: {ours.map - fixed.map:+.3f} (95 % interval {low:+.3f} to "
          f"{high:+.3f}); minus the baseline: {ours.map - base.map:+.3f} "
          "({:+.3f} to {:+.3f})".format(*difference_interval(ours.aps, base.aps)))
    picks = chosen["paperscope, per-user mix (recommend)"]
    words = sum(1 for w in picks if w["words"] > 0)
    print(f"  mixes: {words}/{len(picks)} users weigh the words SVM ("
          + ", ".join(f"{n} at {level:g}" for level, n in sorted(Counter(w["words"] for w in picks).items()))
          + "); mean weights "
          + ", ".join(f"{k} {np.mean([w[k] for w in picks]):.2f}" for k in ("model", "words", "graph"))
          + f"; most chosen: {Counter(json.dumps(w) for w in picks).most_common(2)}")
    print(f"  choosing a mix: median {np.median(choice_seconds):.2f} s/user, max {max(choice_seconds):.2f} s; "
          f"ranking with every signal: median {np.median(rank_seconds):.2f} s/user", flush=True)


def scored(per_user: list[tuple[User, list[tuple[dict[str, float], float]], dict[str, np.ndarray]]],
           picks: list[dict[str, float]]) -> Result:
    """MAP@20 and nDCG@20 of each user's candidates fused by the user's pick."""
    aps, ndcgs = [], []
    for (user, _, terms), weights in zip(per_user, picks, strict=True):
        order = np.argsort(-fuse(terms, weights), kind="stable")[:K]
        ranked = [int(i) in user.relevant for i in order]
        aps.append(average_precision(ranked, len(user.relevant)))
        ndcgs.append(ndcg(ranked, len(user.relevant)))
    return Result(mean(aps), mean(ndcgs), 0.0, aps)


def main() -> None:
    parser = arguments(__doc__)
    groups = {"development": list(DEVELOPMENT), "unseen": list(SCIFACT_COLLECTIONS)}
    parser.add_argument("--collection", choices=[*DEVELOPMENT, *SCIFACT_COLLECTIONS, *groups, "all"],
                        default="all")
    parser.add_argument("--users", type=int, default=6, help="simulated users per interest or field")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fields", type=int, default=20, help="SciFact pseudo-fields (k-means clusters)")
    parser.add_argument("--margins", default="", help="other margins of the choice rule to measure, comma-separated "
                        "(development collections only)")
    args = parser.parse_args()
    MARGINS.extend(float(m) for m in args.margins.split(",") if m)
    FIELDS[0] = args.fields
    names = groups.get(args.collection) or ([*DEVELOPMENT, *SCIFACT_COLLECTIONS] if args.collection == "all"
                                            else [args.collection])
    papers = vectors = None
    if MARGINS and set(names) - set(DEVELOPMENT):
        raise SystemExit("--margins chooses the rule: it runs on the development collections only")
    for name in names:
        if name in SCIFACT_COLLECTIONS:
            run(name, *scifact_collection(name, args.users, args.seed))
            continue
        if papers is None:
            papers = load_papers()
            vectors = load_vectors(papers)
        assert vectors is not None
        run(name, *arxiv_collection(papers, vectors, name, args.users, args.seed))
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
