"""Topic quality and speed on real papers: paperscope's PPP beside scikit-learn KMeans and BERTopic, same vectors.

    python bench/topics_data.py                 # once: embeds arxiv/cs and SciFact with minilm (cached)
    python bench/bench_topics.py [--big 100000] [--skip-bertopic]

On ../shared/data/arxiv/cs (17,142 papers, primary category as the label): V-measure, NMI and ARI of
(a) paperscope (PPP picks k), (b) paperscope at the true k, (c) scikit-learn KMeans at the true k, (d) BERTopic
with its defaults on the same embeddings (its outliers count as one more cluster); the chosen k beside the true k;
ARI between paperscope runs with 5 seeds and between two runs on different 90 % samples; wall time and peak
Python memory (tracemalloc). Then the same timings at --big papers: the real vectors replicated with Gaussian
noise (sigma 0.02 per dimension, renormalised), the clustering, the 2-D layout and the labels (the whole map but
storing it; bench/bench_topics_scale.py measures `build_map` with the database) beside KMeans. Last, a sanity
look at SciFact (an unseen field, no labels).
"""

from __future__ import annotations

import itertools
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

import topics_data
from benchlib import arguments
from paperscope.embed.base import document_text
from paperscope.topics import PPP, Layout, Reducer, TopicLabeler, TopicModel


def measured(run: Callable[[], Any], *, trace: bool = True) -> tuple[Any, float, float]:
    """(result, seconds, peak MiB of Python allocations). tracemalloc slows allocation-heavy Python code (the
    labels' phrase counting, about 5x): with trace=False the run is timed without it and the peak is NaN."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
    if trace:
        tracemalloc.stop()
    return result, seconds, peak


def scores(truth: np.ndarray, labels: np.ndarray) -> str:
    return (f"V {v_measure_score(truth, labels):.3f}  NMI {normalized_mutual_info_score(truth, labels):.3f}  "
            f"ARI {adjusted_rand_score(truth, labels):.3f}")


def paperscope(X: np.ndarray, seed: int = 0, k: int | None = None) -> TopicModel:
    return TopicModel(clusterer=PPP(random_state=seed, n_clusters=k), random_state=seed).fit(X)


def bertopic(X: np.ndarray, texts: list[str]) -> np.ndarray:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bertopic import BERTopic

    topics, _ = BERTopic().fit_transform(texts, embeddings=X)
    return np.asarray(topics)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--skip-bertopic", action="store_true")
    args = parser.parse_args()

    cs = topics_data.arxiv_cs()
    X, truth = cs.vectors, np.array(cs.labels)
    true_k = len(set(cs.labels))
    texts = [document_text(p) for p in cs.papers]
    print(f"arxiv/cs: {len(X):,} papers, {true_k} primary categories (true k)\n")
    rows = []
    model, sec, mib = measured(lambda: paperscope(X))
    rows.append(("(a) paperscope, k chosen", model.n_topics_, model.labels_, sec, mib))
    fixed, sec, mib = measured(lambda: paperscope(X, k=true_k))
    rows.append(("(b) paperscope at true k", fixed.n_topics_, fixed.labels_, sec, mib))
    km, sec, mib = measured(lambda: KMeans(true_k, random_state=0).fit_predict(X))
    rows.append(("(c) sklearn KMeans at true k", true_k, km, sec, mib))
    if not args.skip_bertopic:
        bt, sec, mib = measured(lambda: bertopic(X, texts))
        rows.append((f"(d) BERTopic defaults ({(bt < 0).sum():,} outliers)", len(set(bt) - {-1}), bt, sec, mib))
    for name, k, labels, sec, mib in rows:
        print(f"{name:42s} k {k:3d}  {scores(truth, labels)}  {sec:6.1f} s  {mib:6.0f} MiB")
    v_ppp, v_km = v_measure_score(truth, model.labels_), v_measure_score(truth, km)
    a_ppp, a_km = adjusted_rand_score(truth, model.labels_), adjusted_rand_score(truth, km)
    print(f"ratio (a)/(c): V {v_ppp / v_km:.2f}x  ARI {a_ppp / a_km:.2f}x")
    if not args.skip_bertopic:
        print(f"ratio (a)/(d): V {v_ppp / v_measure_score(truth, bt):.2f}x  "
              f"ARI {a_ppp / max(adjusted_rand_score(truth, bt), 1e-9):.2f}x")

    runs = [paperscope(X, seed=seed).labels_ for seed in range(5)]
    pairs = [adjusted_rand_score(a, b) for a, b in itertools.combinations(runs, 2)]
    print(f"\nARI between 5 seeds: min {min(pairs):.3f}, mean {np.mean(pairs):.3f}")
    rng = np.random.default_rng(0)
    samples = [np.sort(rng.choice(len(X), int(0.9 * len(X)), replace=False)) for _ in range(2)]
    common = np.intersect1d(*samples)
    halves = [paperscope(X[s]) for s in samples]
    print(f"ARI between runs on two 90 % samples (on the papers both hold): "
          f"{adjusted_rand_score(*(m.predict(X[common]) for m in halves)):.3f} "
          f"(k {halves[0].n_topics_} and {halves[1].n_topics_})")

    labeler, sec, _ = measured(lambda: TopicLabeler().fit(texts, model.labels_, model.scores_), trace=False)
    print(f"\nlabels of the {model.n_topics_} topics in {sec:.1f} s; the five largest:")
    for topic in range(5):
        share = np.bincount(np.unique(truth, return_inverse=True)[1][model.labels_ == topic]).max() / \
            (model.labels_ == topic).sum()
        print(f"  {labeler.labels_text_[topic]:55s} {model.sizes_[topic]:5d} papers, top category "
              f"{share:.0%}")

    print(f"\n{args.big:,} papers (real vectors replicated with noise, texts repeated):")
    noise = np.random.default_rng(1)
    big = np.vstack([X] * (args.big // len(X) + 1))[: args.big]
    big = big + noise.normal(0, 0.02, big.shape).astype(np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    big_texts = (texts * (args.big // len(texts) + 1))[: args.big]
    Layout().fit_transform(Reducer().fit_transform(big[:6000]))  # numba compiles UMAP and NN-descent once
    big_model, sec, mib = measured(lambda: paperscope(big))
    print(f"  paperscope (reduce, PPP, scores, further topics, ambiguity): k {big_model.n_topics_}, "
          f"{sec:.1f} s, {mib:.0f} MiB")
    Z = big_model.reducer.transform(big)
    _, sec_layout, mib_layout = measured(lambda: Layout().fit_transform(Z))
    print(f"  2-D layout (UMAP fitted on 10,000, the rest placed by their nearest): {sec_layout:.1f} s, "
          f"{mib_layout:.0f} MiB")
    _, sec_label, _ = measured(lambda: TopicLabeler().fit(big_texts, big_model.labels_, big_model.scores_),
                               trace=False)
    print(f"  labels (500 central papers per topic; timed without tracemalloc): {sec_label:.1f} s")
    total = sec + sec_layout + sec_label
    print(f"  the whole map: {total:.1f} s, peak {max(mib, mib_layout):.0f} MiB (Python allocations, labels aside)")
    _, sec_km, mib_km = measured(lambda: KMeans(true_k, random_state=0).fit_predict(big))
    print(f"  sklearn KMeans at k {true_k}: {sec_km:.1f} s, {mib_km:.0f} MiB; ratio: the clustering "
          f"{sec / sec_km:.2f}x its time, the whole map {total / sec_km:.2f}x")

    sf = topics_data.scifact()
    sf_model = TopicModel(labeler=TopicLabeler()).fit(sf.vectors, [document_text(p) for p in sf.papers])
    print(f"\nSciFact ({len(sf.vectors):,} abstracts, biomedical, unseen): k {sf_model.n_topics_}; largest topics:")
    for topic in range(min(8, sf_model.n_topics_)):
        print(f"  {sf_model.labels_text_[topic]:55s} {sf_model.sizes_[topic]:5d}")
    print(f"\npeak RSS of this benchmark process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
