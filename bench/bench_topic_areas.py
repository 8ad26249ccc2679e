"""The map's upper level: broad areas made by merging topics, beside a flat clustering into as many areas.

    OMP_NUM_THREADS=1 python bench/bench_topic_areas.py

On the 17,172 papers of bench/.cache/web-cs.db (stored all-MiniLM-L6-v2 vectors): the topics of `paperscope topics`
(PPP), then areas over them, each at the same number of areas (about sqrt(k)):

  (a) merge topics by centre: agglomerative, Ward on the unit centres (topics/areas.py, the default)
  (b) merge topics by centre: agglomerative, average linkage, cosine
  (c) baseline: scikit-learn KMeans on the papers themselves at that k (a flat clustering, not nested)

Against the papers' primary arXiv category: V-measure and ARI; the largest and smallest area's share of the papers
(an area holding most of the map opens into little); and nesting: the share of topics with >= 90 % of their papers in
one area (what "an area opens into its topics" needs). Also the topic size spread, which says whether splitting the
head topics into balanced subtopics is needed at all.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, v_measure_score

from benchlib import WEB_DB, arguments, require_cache
from paperscope.store import open_store
from paperscope.topics import PPP, TopicModel
from paperscope.topics.areas import default_area_count, group_topics

MODEL = "all-MiniLM-L6-v2/onnx-int8"


def describe(name: str, areas: np.ndarray, topics: np.ndarray, truth: np.ndarray) -> None:
    sizes = np.bincount(areas) / len(areas)
    nested = np.mean([np.bincount(areas[topics == t]).max() / (topics == t).sum() >= 0.9
                      for t in range(topics.max() + 1)])
    print(f"  {name:52s} V {v_measure_score(truth, areas):.3f}  ARI {adjusted_rand_score(truth, areas):.3f}  "
          f"largest {sizes.max():.1%}  smallest {sizes.min():.1%}  topics nested {nested:.0%}")


def main() -> None:
    arguments(__doc__).parse_args()
    require_cache(WEB_DB, "python bench/bench_web_load.py")
    with open_store(f"sqlite:///{WEB_DB}") as store:
        ids, X = store.load_embeddings(MODEL)
        papers = store.get_papers(ids)
    truth = np.array([papers[i].primary_category or "" for i in ids])
    model = TopicModel(clusterer=PPP(min_cluster_size=max(5, len(ids) // 100))).fit(X)
    k = model.n_topics_
    m = default_area_count(k)
    shares = np.sort(model.sizes_)[::-1] / len(ids)
    print(f"{len(ids):,} papers, {len(set(truth))} primary categories; {k} topics (largest {shares[0]:.1%}, "
          f"smallest {shares[-1]:.1%}, the 5 largest {shares[:5].sum():.1%}); {m} areas\n")
    describe(f"topics themselves ({k})", model.labels_, model.labels_, truth)
    for name, method in (("(a) merged by centre, Ward", "ward"), ("(b) merged by centre, average cosine", "average")):
        describe(name, group_topics(model.centres_, m, method=method)[model.labels_], model.labels_, truth)
    flat = KMeans(m, random_state=0, n_init=3).fit_predict(X)
    describe("(c) baseline: KMeans on the papers", flat, model.labels_, truth)


if __name__ == "__main__":
    main()
