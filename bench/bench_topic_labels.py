"""Topic labels measured by the model: does a held-out paper's closest label name its own topic?

    python bench/bench_web_load.py                # once, if bench/.cache/web-cs.db is missing (embeds arxiv/cs)
    python bench/bench_citations.py             # once, for the unseen collection (bench/.cache/scifact-citations.db)
    OMP_NUM_THREADS=1 python bench/bench_topic_labels.py [--seeds 0 1 2]

Development: the 17,172 papers of bench/.cache/web-cs.db (the arXiv cs listings and the recorded Hugging Face
papers, with their stored all-MiniLM-L6-v2 vectors); the labeler's two settings (label_choice.py) were chosen on
validation papers taken from seed 0's map papers, never on held-out ones. Unseen: the 5,183 SciFact abstracts of
bench/.cache/scifact-citations.db (biomedical; nothing chosen on them). Per collection and seed, 80 % of the papers
are the map (PPP as `paperscope topics` runs it, labelled from those papers only) and 20 % are held out, each
given its topic by the map (`predict`). Every
labeler's labels are embedded with the same model; a held-out paper counts when its closest label is its own
topic's (topics/label_quality.py). Labelers, all from the same papers of each topic:

  (a) c-TF-IDF: BERTopic's default topic names, its class-based TF-IDF over single words (English stop words
      removed, as BERTopic's docs advise), the 4 best words
  (b) BERTopic-style candidates: the 100 best c-TF-IDF words and two-word phrases re-ranked by cosine to the
      topic's centre (KeyBERTInspired) and diversified by maximal marginal relevance (diversity 0.3), the 4 best
  (c) paperscope's keyphrases by weight (TopicLabeler without the model): 2 phrases
  (d) paperscope's keyphrases chosen by the model, each topic on its own (TopicLabeler with `embed`: the pair of
      its keyphrases whose embedding is closest to its own topic's centre against the nearest other centre)
  (e) paperscope's labels as `paperscope topics` makes them: (d)'s best pairs per topic, then chosen together so
      that they win the most of the map's central papers (TopicLabeler with `papers`; label_choice.most_won)

Near-duplicate label pairs (label vectors >= 0.8 cosine) and one-word labels are counted per labeler.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from benchlib import CACHE, WEB_DB, arguments, require_cache
from paperscope.embed import get_embedder
from paperscope.embed.base import document_text
from paperscope.store import open_store
from paperscope.topics import PPP, TopicLabeler, TopicModel
from paperscope.topics.label_quality import label_accuracy, near_duplicate_pairs, one_word_labels

MODEL = "all-MiniLM-L6-v2/onnx-int8"
SCIFACT_DB = CACHE / "scifact-citations.db"  # written by bench_citations.py


def class_tfidf(docs_per_topic: Sequence[Sequence[str]], ngram_range: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """BERTopic's c-TF-IDF: term frequency per topic (L1), times log(1 + mean words per topic / term frequency
    over all topics). Returns (weights: topics x terms, terms)."""
    vectorizer = CountVectorizer(stop_words="english", ngram_range=ngram_range, min_df=2)
    counts = vectorizer.fit_transform([" ".join(docs) for docs in docs_per_topic]).toarray().astype(np.float64)
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + counts.sum() / len(counts) / np.maximum(counts.sum(axis=0), 1))
    return tf * idf, vectorizer.get_feature_names_out()


def ctfidf_labels(docs_per_topic: Sequence[Sequence[str]], words: int = 4) -> list[str]:
    weights, terms = class_tfidf(docs_per_topic, (1, 1))
    return [", ".join(terms[np.argsort(-row)[:words]]) for row in weights]


def keybert_mmr_labels(docs_per_topic: Sequence[Sequence[str]], centres: np.ndarray, embed: object,
                       words: int = 4, candidates: int = 100, diversity: float = 0.3) -> list[str]:
    weights, terms = class_tfidf(docs_per_topic, (1, 2))
    pools = [list(terms[np.argsort(-row)[:candidates]]) for row in weights]
    vocabulary = sorted({t for pool in pools for t in pool})
    vectors = dict(zip(vocabulary, embed(vocabulary), strict=True))  # type: ignore[operator]
    units = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = []
    for topic, pool in enumerate(pools):
        rows = np.vstack([vectors[t] for t in pool])
        relevance = rows @ units[topic]
        picked = [int(np.argmax(relevance))]
        while len(picked) < words:  # BERTopic's MaximalMarginalRelevance
            redundancy = (rows @ rows[picked].T).max(axis=1)
            scores = (1 - diversity) * relevance - diversity * redundancy
            scores[picked] = -np.inf
            picked.append(int(np.argmax(scores)))
        labels.append(", ".join(pool[i] for i in picked))
    return labels


def measure(name: str, labels: list[str], embed: object, held_X: np.ndarray, held_topics: np.ndarray) -> dict:
    vectors = np.asarray(embed(labels))  # type: ignore[operator]
    return {"name": name, "accuracy": label_accuracy(held_X, held_topics, vectors),
            "duplicates": len(near_duplicate_pairs(vectors)), "one_word": len(one_word_labels(labels)),
            "labels": labels}


def run(title: str, db: str, seeds: list[int], show: int, embed: object) -> None:
    with open_store(f"sqlite:///{db}") as store:
        ids, X = store.load_embeddings(MODEL)
        papers = store.get_papers(ids)
    texts = [document_text(papers[i]) for i in ids]
    print(f"== {title}: {len(ids):,} papers, vectors {MODEL}\n")
    totals: dict[str, list[dict]] = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        held = rng.random(len(ids)) < 0.2
        train = np.flatnonzero(~held)
        model = TopicModel(clusterer=PPP(min_cluster_size=max(5, len(train) // 100), random_state=seed),
                           random_state=seed).fit(X[train])
        k = model.n_topics_
        held_topics = model.predict(X[held])
        train_texts = [texts[i] for i in train]
        ranked = [np.flatnonzero(model.labels_ == t) for t in range(k)]
        ranked = [rows[np.argsort(-model.scores_[rows], kind="stable")][:500] for rows in ranked]
        docs = [[train_texts[i] for i in rows] for rows in ranked]
        rows_used = np.concatenate(ranked)
        sub_texts = [train_texts[i] for i in rows_used]
        results = [measure("(a) c-TF-IDF, 4 words (BERTopic's names)", ctfidf_labels(docs), embed, X[held],
                           held_topics),
                   measure("(b) BERTopic-style: KeyBERTInspired + MMR, 4 phrases",
                           keybert_mmr_labels(docs, model.centres_, embed), embed, X[held], held_topics)]
        started = time.perf_counter()
        plain = TopicLabeler().fit(sub_texts, model.labels_[rows_used], model.scores_[rows_used])
        plain_seconds = time.perf_counter() - started
        results.append(measure("(c) paperscope keyphrases by weight, 2", plain.labels_text_, embed, X[held],
                               held_topics))
        started = time.perf_counter()
        chosen = TopicLabeler(embed=embed).fit(sub_texts, model.labels_[rows_used], model.scores_[rows_used],
                                               centres=model.centres_)
        seconds = time.perf_counter() - started
        results.append(measure("(d) paperscope keyphrases chosen by the model, 2", chosen.labels_text_, embed,
                               X[held], held_topics))
        started = time.perf_counter()
        together = TopicLabeler(embed=embed).fit(sub_texts, model.labels_[rows_used], model.scores_[rows_used],
                                                 centres=model.centres_,
                                                 papers=(X[train][rows_used], model.labels_[rows_used]))
        together_seconds = time.perf_counter() - started
        results.append(measure("(e) (d) chosen together to win the map's papers", together.labels_text_, embed,
                               X[held], held_topics))
        print(f"seed {seed}: {len(train):,} map papers, {held.sum():,} held out, k {k}, chance {1 / k:.3f}; "
              f"labelled in {plain_seconds:.1f} s by (c), {seconds:.1f} s by (d), {together_seconds:.1f} s by (e)")
        for r in results:
            print(f"  {r['name']:55s} accuracy {r['accuracy']:.3f}  near-duplicate pairs {r['duplicates']:3d}  "
                  f"one-word {r['one_word']:3d}")
            totals.setdefault(r["name"], []).append(r)
        if seed == seeds[0]:
            order = np.argsort(-model.sizes_)[:show]
            for r in results:
                print(f"  {r['name']}:")
                for t in order:
                    print(f"     {model.sizes_[t]:5d}  {r['labels'][t]}")
    print(f"\n{title}, mean over seeds {seeds}:")
    base = np.mean([r["accuracy"] for r in totals["(a) c-TF-IDF, 4 words (BERTopic's names)"]])
    for name, runs in totals.items():
        accuracy = np.mean([r["accuracy"] for r in runs])
        spread = np.std([r["accuracy"] for r in runs])
        print(f"  {name:55s} accuracy {accuracy:.3f} +- {spread:.3f} ({accuracy / base:.2f}x c-TF-IDF)  "
              f"near-duplicate pairs {np.mean([r['duplicates'] for r in runs]):.1f}  "
              f"one-word {np.mean([r['one_word'] for r in runs]):.1f}")
    print()


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--show", type=int, default=12, help="labels printed per labeler (largest topics)")
    parser.add_argument("--skip-unseen", action="store_true", help="only the development collection")
    parser.add_argument("--skip-development", action="store_true", help="only the unseen collection")
    args = parser.parse_args()
    embed = get_embedder("minilm").embed
    if not args.skip_development:
        require_cache(WEB_DB, "python bench/bench_web_load.py")
        run("arXiv cs (development)", str(WEB_DB), args.seeds, args.show, embed)
    if not args.skip_unseen:
        require_cache(SCIFACT_DB, "python bench/bench_citations.py")
        run("SciFact (unseen)", str(SCIFACT_DB), args.seeds, args.show, embed)


if __name__ == "__main__":
    main()
