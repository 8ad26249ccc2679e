"""faiss IVF-Flat on the 1M replicated set: the measurement that moved VectorIndex from an HNSW graph to IVF.

    python bench/bench_search_latency.py --n 1000000    # once: builds and caches the 1M database
    python bench/bench_ann_alternatives.py [--nlist 1024,4096] [--train-per-list 64]

Loads the 1M cached vectors and, for each nlist, trains IVF-Flat (inner product) on a sample of
train-per-list vectors per list (at least 100k), adds everything, and prints the build time, recall@10
against exact search and single-query latency for several nprobe values, for 100 SciFact queries
embedded with the default model. Exact search over the same matrix is the baseline.
"""

from __future__ import annotations

import json
import time

import faiss
import numpy as np

from benchlib import CACHE, SCIFACT, arguments, require_cache
from paperscope.embed import get_embedder
from paperscope.store import open_store

QUERIES = SCIFACT / "beir" / "queries.jsonl"


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--nlist", default="1024", help="comma-separated list sizes to try")
    parser.add_argument("--nprobe", default="8,16,32,64,128", help="comma-separated probe counts")
    parser.add_argument("--train-per-list", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="threads for training and adding")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    db = require_cache(CACHE / "latency-1000000.db", "python bench/bench_search_latency.py --n 1000000")
    store = open_store(str(db))
    embedder = get_embedder("minilm")
    vectors = np.ascontiguousarray(store.load_embeddings(embedder.name)[1])
    texts = [json.loads(line)["text"] for line in QUERIES.open(encoding="utf-8")][: args.queries]
    queries = np.vstack([embedder.embed_query(t) for t in texts]).astype("float32")
    exact_times, exact = [], []
    for query in queries:
        started = time.perf_counter()
        exact.append(set(np.argpartition(-(vectors @ query), 10)[:10]))
        exact_times.append(time.perf_counter() - started)
    print(f"{len(vectors):,} vectors; exact search p50 {1000 * np.median(exact_times):.1f} ms")
    for nlist in (int(v) for v in args.nlist.split(",")):
        faiss.omp_set_num_threads(args.threads)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist,
                                   faiss.METRIC_INNER_PRODUCT)
        started = time.perf_counter()
        size = min(len(vectors), max(100_000, args.train_per_list * nlist))
        sample = np.random.default_rng(0).choice(len(vectors), size, replace=False)
        index.train(vectors[np.sort(sample)])
        trained = time.perf_counter() - started
        index.add(vectors)
        print(f"IVF-Flat nlist={nlist}: trained on {size:,} in {trained:.0f} s, "
              f"built in {time.perf_counter() - started:.0f} s")
        faiss.omp_set_num_threads(1)
        for nprobe in (int(v) for v in args.nprobe.split(",")):
            index.nprobe = nprobe
            latencies, recalls = [], []
            for query, truth in zip(queries, exact, strict=True):
                started = time.perf_counter()
                _, found = index.search(query[None], 10)
                latencies.append(time.perf_counter() - started)
                recalls.append(len(set(found[0]) & truth) / 10)
            p50, p95 = (1000 * np.percentile(latencies, q) for q in (50, 95))
            print(f"  nprobe {nprobe:>3}: recall@10 {np.mean(recalls):.3f}  p50 {p50:.2f} ms  p95 {p95:.2f} ms",
                  flush=True)
        del index

if __name__ == "__main__":
    main()
