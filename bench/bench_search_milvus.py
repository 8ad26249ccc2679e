"""Search on Milvus (Milvus Lite) against the embedded indexes on SciFact: nDCG@10, Recall@100 and latency.

    python bench/bench_search_milvus.py [--split test]

Reads the SciFact database bench_search_quality.py caches (bench/.cache/scifact-minilm.db; ingested and embedded
here when absent), so both engines search the same stored vectors. The embedded engine is the baseline; the
Milvus one fills a Milvus Lite file under bench/.cache/ from the store (the first run's fill time is reported;
later runs find it current). Every query of the split runs through `SearchEngine.search` in each mode on both,
from engines made as a web process beside the worker makes them (`writes_indexes=False`).
"""

from __future__ import annotations

import json
import time

from benchlib import CACHE, SCIFACT, arguments, percentile_ms, require
from ir_metrics import mean, ndcg_at_k, read_qrels, recall_at_k
from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store

DB = CACHE / "scifact-minilm.db"
MILVUS_LITE = CACHE / "scifact-milvus-lite.db"


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    root = require(SCIFACT)
    qrels = read_qrels(root / "beir" / "qrels" / f"{args.split}.tsv")
    texts = {r["_id"]: r["text"] for r in map(json.loads, (root / "beir" / "queries.jsonl").open(encoding="utf-8"))}
    queries = {q: texts[q] for q in qrels}
    CACHE.mkdir(parents=True, exist_ok=True)
    store = open_store(str(DB))
    if store.count_papers() == 0:
        Ingester(store, Settings(database_url=str(DB))).ingest(str(root / "corpus.jsonl"))
    embedded = SearchEngine(store, Settings(database_url=str(DB), search_url=None))
    index_papers(embedded)
    milvus = SearchEngine(store, Settings(database_url=str(DB), search_url=f"milvus://{MILVUS_LITE}"),
                          embedder=embedded.embedder)
    started = time.perf_counter()
    written, _ = milvus.refresh()
    print(f"Milvus Lite sync: {written} papers written in {time.perf_counter() - started:.1f} s; "
          f"sizes embedded {embedded.sizes()}, Milvus {milvus.sizes()}")
    # Queries from engines as a web process beside the worker holds them: they read the indexes, never write.
    embedded = SearchEngine(store, embedded.settings, embedder=embedded.embedder, writes_indexes=False)
    milvus = SearchEngine(store, milvus.settings, embedder=embedded.embedder, writes_indexes=False)
    for engine in (embedded, milvus):  # warm both (the model, the Lite server, the loaded collection)
        engine.search("warm up", limit=10)
    print(f"SciFact {args.split}: {len(queries)} queries, {store.count_papers()} abstracts")
    print(f"{'engine':<10} {'mode':<9} {'nDCG@10':>8} {'R@100':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for mode in ("keyword", "semantic", "hybrid"):
        for name, engine in (("embedded", embedded), ("milvus", milvus)):
            runs, seconds = {}, []
            for qid, text in queries.items():
                begun = time.perf_counter()
                runs[qid] = [hit.id for hit in engine.search(text, mode=mode, limit=100)]  # type: ignore[arg-type]
                seconds.append(time.perf_counter() - begun)
            ndcg = mean([ndcg_at_k(runs[q], rel, 10) for q, rel in qrels.items()])
            recall = mean([recall_at_k(runs[q], rel, 100) for q, rel in qrels.items()])
            print(f"{name:<10} {mode:<9} {ndcg:>8.4f} {recall:>7.4f} {percentile_ms(seconds, 50):>7.1f} "
                  f"{percentile_ms(seconds, 95):>7.1f}")


if __name__ == "__main__":
    main()
