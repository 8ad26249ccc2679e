"""Search with a category filter at scale: paperscope's search beside the way it filtered before, in the same run.

    python bench/bench_filtered_search.py [--n 100000] [--queries 50]

The corpus is bench_search_latency's (SciFact abstracts replicated to N papers, with vectors and both indexes;
built by it when missing), copied once to bench/.cache/filtered-search-N.db with its index folder. SciFact has no
categories, so the copy gets synthetic ones, drawn at random (seed 0) and written to the filter table: "broad"
on 60 % of the papers, "mid" on 19 %, "narrow" on 0.3 %; the papers' own JSON is left as it is.

Per filter and mode, the median over the queries (query embedding included) of:
* paperscope: `SearchEngine.search(query, mode=..., limit=10, filters=PaperFilter(category=...))`. A filter
  that at least BROAD_SHARE of the papers pass is applied to rankings made without it (OVERFETCH times deeper);
  a narrower one restricts the rankings to its ids;
* before (the baseline): what search did for every filter, built here from the same public parts: the
  indexes refreshed (as every search does), the filter's ids from `Store.filter_ids`, the keyword and the
  vector index restricted to them, the same fusion.
Agreement: the share of paperscope's top 10 that the baseline's top 10 also holds. The vector index is
approximate (IVF at this size), and a restricted scan may visit other lists than an unrestricted one, so the two
can differ a little in semantic and hybrid modes; the keyword ranking is exact both ways.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from bench_search_latency import build
from benchlib import CACHE, SCIFACT, SCIFACT_DB, arguments, require_cache, speedup
from paperscope.config import Settings
from paperscope.index.hybrid import reciprocal_rank_fusion
from paperscope.index.keyword import parse_user_query
from paperscope.index.search import CANDIDATES, SearchEngine
from paperscope.store import PaperFilter, open_store
from paperscope.store.schema import paper_categories
from paperscope.store.sql import SQLStore

SHARES = {"broad": 0.60, "mid": 0.19, "narrow": 0.003}


def filtered_copy(n: int) -> SearchEngine:
    """The latency benchmark's database and indexes, copied once, with synthetic categories."""
    target = CACHE / f"filtered-search-{n}.db"
    if not target.exists():
        source = CACHE / f"latency-{n}.db"
        build(source, n).store.close()
        shutil.copytree(f"{source}.index", f"{target}.index", dirs_exist_ok=True)
        shutil.copyfile(source, f"{target}.partial")
        Path(f"{target}.partial").rename(target)
    store = open_store(str(target))  # migrates the copy to the head
    assert isinstance(store, SQLStore)
    with store.engine.begin() as conn:
        if not conn.execute(sa.select(sa.func.count()).select_from(paper_categories)).scalar_one():
            ids = sorted(conn.execute(sa.text("SELECT id FROM papers")).scalars())
            rng = random.Random(0)
            for category, share in SHARES.items():
                rows = [{"paper_id": pid, "category": category} for pid in ids if rng.random() < share]
                for start in range(0, len(rows), 50_000):
                    conn.execute(paper_categories.insert(), rows[start:start + 50_000])
    engine = SearchEngine(store, Settings(database_url=str(target)), index_dir=Path(f"{target}.index"))
    engine.refresh()
    return engine


def before(engine: SearchEngine, query: str, mode: str, filters: PaperFilter) -> list[str]:
    """Search as it filtered before: the filter's ids collected, both indexes restricted to them."""
    engine.refresh()  # as every search does first: fold in what the store gained since
    allowed = engine.store.filter_ids(filters)
    keyword_hits = engine.keyword.search(parse_user_query(query), CANDIDATES, allowed) if mode != "semantic" else []
    semantic_hits = []
    if mode != "keyword":
        semantic_hits = engine.vectors.search(engine.embedder.embed_query(query), CANDIDATES, allowed)
    if mode != "hybrid":
        return [pid for pid, _ in (keyword_hits or semantic_hits)][:10]
    settings = engine.settings
    fused = reciprocal_rank_fusion([[pid for pid, _ in keyword_hits], [pid for pid, _ in semantic_hits]],
                                   k=settings.rrf_k, weights=[settings.keyword_weight, settings.semantic_weight])
    return [pid for pid, _ in fused][:10]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    require_cache(SCIFACT_DB, "python bench/bench_search_quality.py")
    engine = filtered_copy(args.n)
    texts = [json.loads(line)["text"] for line in (SCIFACT / "beir" / "queries.jsonl").open(encoding="utf-8")]
    texts = texts[:args.queries]
    engine.search(texts[0])  # warm: model session, index files, caches
    print(f"{engine.store.count_papers():,} papers, {len(texts)} queries, median per query (embedding included)")
    print("| filter (share of papers) | mode | paperscope | before | speed-up | agreement of the top 10 |")
    print("|---|---|---|---|---|---|")
    for category, share in SHARES.items():
        filters = PaperFilter(category=category)
        for mode in ("keyword", "semantic", "hybrid"):
            ours, theirs, agreement = [], [], []
            for text in texts:
                started = time.perf_counter()
                found = [hit.id for hit in engine.search(text, mode=mode, limit=10, filters=filters)]  # type: ignore[arg-type]
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                old = before(engine, text, mode, filters)
                theirs.append(time.perf_counter() - started)
                agreement.append(len(set(found) & set(old)) / max(1, len(old)))
            a, b = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
            print(f"| {category} ({share:.1%}) | {mode} | {a:,.1f} ms | {b:,.1f} ms | {speedup(b, a)} "
                  f"| {np.mean(agreement):.3f} |", flush=True)


if __name__ == "__main__":
    main()
