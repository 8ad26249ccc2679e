"""Self-tuned hybrid search: the fusion chosen on each collection's own papers (no labels), against the fixed RRF.

    python bench/bench_search_tuning.py [--collection scifact|arxiv-cs|both] [--query-papers 300]

For each collection, `tune_fusion` (src/paperscope/index/tuning.py) runs as the worker runs it, on the collection's
papers alone: known-item queries made from a sample of them (title, first sentence held out of the indexed text, key
terms), the fusion chosen on half of those papers and checked on the other half. Printed: the time it took, the
chosen fusion, and the known-item MRR@10 of the fixed fusion and the chosen one on the held-out half.

* **scifact**: the 5,183 abstracts of bench_search_quality.py's cached database (its vectors reused). After tuning,
  the 300 BEIR test queries (never seen by the tuning) go through `paperscope search --queries ... --json` twice,
  with PAPERSCOPE_SEARCH_TUNING=false (the fixed RRF, k=60, equal weights, depth 100) and with the stored tuning.
* **arxiv-cs**: the 17k arXiv cs papers and recorded Hugging Face papers of bench_web_load.py's cached database
  (bench/.cache/web-cs.db, embedded once); the known-item sets are the tuning's held-out half.
* **arxiv-cs-unseen**: bench_search_unseen.py's database (17,142 arXiv cs papers, 1,000 of them stored without the
  first sentence of their abstract; the vectors of the others are taken from web-cs.db where the text is the same)
  and its two known-item sets (1,000 titles, 1,000 held-out sentences), run through `paperscope search --queries`
  with the fixed RRF and with the tuning made on that database.

The tuning is stored in each database (sync state), so later runs of the other benchmarks on these caches search
with it; run with --forget to remove it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_search_quality import build
from benchlib import CACHE, SCIFACT, WEB_DB, arguments, require, require_cache
from ir_metrics import mean, ndcg_at_k, read_qrels, recall_at_k
from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.index.tuning import STATE_KEY, TuningResult, save_tuning, tune_fusion
from paperscope.store import open_store


def run_queries(db: Path, queries: Path, *, tuned: bool, limit: int = 100) -> dict[str, list[str]]:
    """`paperscope search --queries` in hybrid mode, with or without the stored tuning."""
    command = [sys.executable, "-m", "paperscope", "--db", str(db), "search", "--queries", str(queries),
               "--limit", str(limit), "--mode", "hybrid", "--json"]
    env = {**os.environ, "PAPERSCOPE_EMBEDDING_MODEL": "minilm", "PAPERSCOPE_SEARCH_TUNING": str(tuned).lower()}
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return {str(record["query_id"]): [hit["id"] for hit in record["results"]]
            for record in map(json.loads, output.splitlines())}


def tune(engine: SearchEngine, query_papers: int) -> TuningResult:
    result = tune_fusion(engine.store, engine.embedder, engine.settings, query_papers=query_papers)
    save_tuning(engine.store, result)
    print(f"  tuned on {result.corpus:,} papers, {result.queries} known-item queries of {result.query_papers} "
          f"papers, {result.candidates} fusions tried: {result.seconds:.0f} s")
    print(f"  chosen: {result.chosen.describe()} ({'adopted' if result.adopted else 'not adopted: fixed kept'})")
    print(f"  {'known-item MRR@10':34} {'fixed RRF':>9} {'chosen':>7}")
    for name, scores in result.scores.items():
        print(f"  {name + ' half (all kinds)':34} {scores['fixed']:9.4f} {scores['chosen']:7.4f}")
    for kind, scores in result.by_kind.items():
        print(f"  {'held-out half, ' + kind:34} {scores['fixed']:9.4f} {scores['chosen']:7.4f}")
    return result


def scifact(query_papers: int) -> None:
    require(SCIFACT)
    db = CACHE / "scifact-minilm.db"
    engine = build(db, "minilm")
    print(f"SciFact: {engine.store.count_papers():,} abstracts (the corpus only; no query seen by the tuning)")
    tune(engine, query_papers)
    qrels = read_qrels(SCIFACT / "beir" / "qrels" / "test.tsv")
    texts = {str(q["_id"]): q["text"] for q in map(json.loads, (SCIFACT / "beir" / "queries.jsonl").open())}
    path = CACHE / "scifact-test-queries.jsonl"
    path.write_text("".join(json.dumps({"_id": q, "text": texts[q]}) + "\n" for q in qrels), encoding="utf-8")
    print(f"\n  300 SciFact test queries     {'nDCG@10':>8} {'R@100':>7} {'command':>8}")
    for name, tuned in (("fixed RRF (k=60, equal)", False), ("self-tuned", True)):
        started = time.perf_counter()
        run = run_queries(db, path, tuned=tuned)
        seconds = time.perf_counter() - started
        ndcg = mean([ndcg_at_k(run.get(q, []), rel, 10) for q, rel in qrels.items()])
        recall = mean([recall_at_k(run.get(q, []), rel, 100) for q, rel in qrels.items()])
        print(f"  {name:28} {ndcg:8.4f} {recall:7.4f} {seconds:7.1f}s")


def arxiv_cs(query_papers: int) -> None:
    db = require_cache(WEB_DB, "python bench/bench_web_load.py")
    engine = SearchEngine(open_store(str(db)), Settings(database_url=str(db)))
    print(f"\narXiv cs listings: {engine.store.count_papers():,} papers")
    tune(engine, query_papers)


UNSEEN_DB = CACHE / "arxiv-cs-unseen-1000.db"  # bench_search_unseen.py's database with its default sample


def seed_unseen_vectors() -> None:
    """Store bench_search_unseen.py's papers, with web-cs.db's vectors for those whose text is the same there (all but
    the 1,000 shortened ones), so that only those are embedded."""
    from bench_search_unseen import read_collection, sample_queries
    from paperscope.embed import get_embedder

    papers = read_collection()
    _, _, changed = sample_queries(papers, 1000)
    stored = [changed.get(pid, paper) for pid, paper in papers.items()]
    embedder = get_embedder("minilm")
    web = open_store(str(require_cache(WEB_DB, "python bench/bench_web_load.py")))
    ids, matrix = web.load_embeddings(embedder.name)
    row = {pid: n for n, pid in enumerate(ids)}
    target = open_store(str(UNSEEN_DB))
    for start in range(0, len(stored), 2000):
        batch = stored[start:start + 2000]
        target.upsert_papers(batch)
        known = web.get_papers([p.id for p in batch])
        same = [p for p in batch if p.id in known and p.id in row and known[p.id].content_hash == p.content_hash]
        target.save_embeddings(embedder.name, embedder.version, same, matrix[[row[p.id] for p in same]])


def arxiv_cs_unseen(query_papers: int) -> None:
    from bench_search_unseen import build as build_unseen
    from ir_metrics import mrr_at_k

    if not UNSEEN_DB.exists():
        seed_unseen_vectors()
    engine, titles, sentences = build_unseen(UNSEEN_DB, 1000)
    print(f"\narXiv cs, bench_search_unseen.py's collection: {engine.store.count_papers():,} papers")
    tune(engine, query_papers)
    for kind, queries in (("title", titles), ("held-out sentence", sentences)):
        path = CACHE / f"tuning-unseen-{kind.split()[0]}-queries.jsonl"
        path.write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()),
                        encoding="utf-8")
        print(f"\n  {len(queries):,} {kind} queries        {'MRR@10':>7} {'R@10':>7} {'nDCG@10':>8}")
        for name, tuned in (("fixed RRF (k=60, equal)", False), ("self-tuned", True)):
            run = run_queries(UNSEEN_DB, path, tuned=tuned, limit=10)
            relevant = {q: {q: 1} for q in queries}
            mrr = mean([mrr_at_k(run.get(q, []), relevant[q], 10) for q in queries])
            recall = mean([recall_at_k(run.get(q, []), relevant[q], 10) for q in queries])
            ndcg = mean([ndcg_at_k(run.get(q, []), relevant[q], 10) for q in queries])
            print(f"  {name:28} {mrr:7.4f} {recall:7.4f} {ndcg:8.4f}")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--collection", choices=["scifact", "arxiv-cs", "arxiv-cs-unseen", "all"], default="all")
    parser.add_argument("--query-papers", type=int, default=300, help="papers that give known-item queries")
    parser.add_argument("--forget", action="store_true", help="remove the stored tunings from the cached databases")
    args = parser.parse_args()
    if args.forget:
        for db in (CACHE / "scifact-minilm.db", WEB_DB, UNSEEN_DB):
            if db.exists():
                open_store(str(db)).set_sync_state(STATE_KEY, None)
        return
    if args.collection in ("scifact", "all"):
        scifact(args.query_papers)
    if args.collection in ("arxiv-cs", "all"):
        arxiv_cs(args.query_papers)
    if args.collection in ("arxiv-cs-unseen", "all"):
        arxiv_cs_unseen(args.query_papers)


if __name__ == "__main__":
    main()
