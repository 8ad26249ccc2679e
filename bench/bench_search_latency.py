"""Latency and memory of a whole hybrid query at scale, beside brute-force vector search in the same run.

    python bench/bench_search_latency.py [--n 100000] [--queries 300]

The corpus is SciFact's 5,183 real abstracts replicated to N papers with new ids and perturbed text
(10 % of the words dropped at random), and their real vectors (from bench_search_quality.py's cache,
which must exist: run that benchmark first) replicated with Gaussian noise and renormalised. The built
database and indexes are cached under bench/.cache/ for later runs.

Reported: p50/p95 of `SearchEngine.search(mode="hybrid")` with the query embedding included, the same
with the vector part done by exact numpy search over all N vectors (the brute-force baseline), the vector
part alone both ways (less disturbed by other work on the machine than the whole query), recall@10
of the ANN part against exact, and the peak RSS while searching (taken before the baseline loads its own
copy of the vectors; meaningful on a cached run, where the indexes are loaded rather than built).
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import CACHE, SCIFACT, SCIFACT_DB, arguments, percentile_ms, require_cache
from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.models import Paper
from paperscope.store import open_store


def build(db: Path, n: int) -> SearchEngine:
    source = open_store(str(SCIFACT_DB))
    settings = Settings(database_url=str(db))
    engine = SearchEngine(open_store(str(db)), settings)
    model, version = engine.embedder.name, engine.embedder.version
    if engine.store.count_papers() >= n:
        engine.refresh()
        return engine
    originals = {p.id: p for p in source.iter_papers()}
    vectors = dict(zip(*source.load_embeddings(model), strict=True))
    ids = sorted(vectors)
    rng = random.Random(7)
    noise = np.random.default_rng(7)
    made = 0
    copy = 0
    while made < n:
        batch, rows = [], []
        for pid in ids:
            if made >= n:
                break
            paper = originals[pid]
            words = paper.abstract.split()
            kept = " ".join(w for w in words if rng.random() > 0.1) if copy else paper.abstract
            batch.append(Paper(id=f"{pid}-{copy}" if copy else pid, title=paper.title, abstract=kept,
                               sources=["bench"]))
            vector = vectors[pid] + (noise.normal(0, 0.02, vectors[pid].shape) if copy else 0)
            rows.append(vector / np.linalg.norm(vector))
            made += 1
        engine.store.upsert_papers(batch)
        engine.store.save_embeddings(model, version, batch, np.asarray(rows, dtype=np.float32))
        copy += 1
        print(f"  stored {made:,} papers", file=sys.stderr)
    started = time.perf_counter()
    engine.refresh()
    print(f"  indexes built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return engine


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    require_cache(SCIFACT_DB, "python bench/bench_search_quality.py")
    engine = build(CACHE / f"latency-{args.n}.db", args.n)
    texts = [json.loads(line)["text"] for line in (SCIFACT / "beir" / "queries.jsonl").open(encoding="utf-8")]
    texts = texts[: args.queries]
    engine.search(texts[0])  # warm: model session, index files, caches
    ours = []
    for text in texts:
        started = time.perf_counter()
        engine.search(text, mode="hybrid", limit=10)
        ours.append(time.perf_counter() - started)
    # Before the baseline loads its own copy of every vector (on a cached run nothing was built here).
    serving_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    exact_ids, all_vectors = engine.store.load_embeddings(engine.embedder.name)
    brute, recalls, ann_alone, exact_alone = [], [], [], []
    for text in texts:
        started = time.perf_counter()
        vector = engine.embedder.embed_query(text)
        engine.keyword.search(text, 100)
        vector_started = time.perf_counter()
        scores = all_vectors @ vector
        top = np.argpartition(-scores, 100)[:100]
        exact_top = [exact_ids[i] for i in top[np.argsort(-scores[top])]]
        brute.append(time.perf_counter() - started)
        exact_alone.append(time.perf_counter() - vector_started)

        started = time.perf_counter()
        engine.vectors.search(vector, 100)  # as hybrid search asks it
        ann_alone.append(time.perf_counter() - started)
        ann = [pid for pid, _ in engine.vectors.search(vector, 10)]
        recalls.append(len(set(ann) & set(exact_top[:10])) / 10)
    print(f"{engine.store.count_papers():,} papers, {len(texts)} queries, model {engine.embedder.name}")
    print(f"hybrid search (query embedding, BM25, ANN, fusion)   p50 {percentile_ms(ours, 50):6.1f} ms"
          f"  p95 {percentile_ms(ours, 95):6.1f} ms")
    print(f"same with brute-force vector search                   p50 {percentile_ms(brute, 50):6.1f} ms"
          f"  p95 {percentile_ms(brute, 95):6.1f} ms")
    print(f"the vector part alone, 100 results: ANN ({engine.vectors.index.describe()}) p50 "
          f"{percentile_ms(ann_alone, 50):.2f} ms  p95 {percentile_ms(ann_alone, 95):.2f} ms; numpy brute force p50 "
          f"{percentile_ms(exact_alone, 50):.2f} ms  p95 {percentile_ms(exact_alone, 95):.2f} ms")
    print(f"recall@10 of the ANN part against exact: {np.mean(recalls):.4f}")
    print(f"peak RSS while searching: {serving_mib:,.0f} MiB (a cached run: indexes loaded, not built here)")


if __name__ == "__main__":
    main()
