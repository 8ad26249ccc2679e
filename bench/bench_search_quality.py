"""Search quality on SciFact: nDCG@10 and Recall@100 of keyword, semantic and hybrid search.

    python bench/bench_search_quality.py [--model minilm] [--split test] [--tune | --feedback]

Ingests ../shared/data/scifact/corpus.jsonl (5,183 abstracts) into a database cached under
bench/.cache/ and indexes it (the first run embeds every abstract: minutes; later runs reuse the
stored vectors), then runs the BEIR queries of the split through `paperscope search --queries ... --json`,
the command line a user runs, once per mode. Baselines measured in the same run on the same corpus:
bm25s (stemmed BM25, the raw library), exact cosine search over the same stored vectors (brute force),
and plain reciprocal rank fusion of those two.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import CACHE, SCIFACT, arguments, require
from ir_metrics import mean, ndcg_at_k, read_qrels, recall_at_k
from paperscope.config import Settings
from paperscope.index.hybrid import convex_combination, reciprocal_rank_fusion
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store


def build(db: Path, model: str) -> SearchEngine:
    settings = Settings(database_url=str(db), embedding_model=model)
    store = open_store(str(db))
    if store.count_papers() == 0:
        Ingester(store, settings).ingest(str(SCIFACT / "corpus.jsonl"))
    engine = SearchEngine(store, settings)
    started = time.perf_counter()
    report = index_papers(engine)
    if report.embedded:
        print(f"embedded {report.embedded} abstracts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return engine


def cli_run(db: Path, model: str, queries: Path, mode: str, limit: int, fusion: str = "rrf"
            ) -> dict[str, list[str]]:
    command = [sys.executable, "-m", "paperscope", "--db", str(db), "search", "--queries", str(queries),
               "--limit", str(limit), "--mode", mode, "--json"]
    output = subprocess.run(command, check=True, capture_output=True, text=True,
                            env={**_env(), "PAPERSCOPE_EMBEDDING_MODEL": model,
                                 "PAPERSCOPE_FUSION": fusion}).stdout
    runs = {}
    for line in output.splitlines():
        record = json.loads(line)
        runs[str(record["query_id"])] = [r["id"] for r in record["results"]]
    return runs


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def baselines(engine: SearchEngine, queries: dict[str, str], limit: int) -> dict[str, dict[str, list[str]]]:
    import bm25s
    import Stemmer

    papers = list(engine.store.iter_papers())
    ids = [p.id for p in papers]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([f"{p.title} {p.abstract}" for p in papers], stopwords="en",
                                   stemmer=stemmer, show_progress=False), show_progress=False)
    vector_ids, matrix = engine.store.load_embeddings(engine.embedder.name)
    keyword, semantic, fused = {}, {}, {}
    for qid, text in queries.items():
        tokens = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False)
        found, _ = retriever.retrieve(tokens, k=limit, show_progress=False)
        keyword[qid] = [ids[i] for i in found[0]]
        scores = matrix @ engine.embedder.embed_query(text)
        semantic[qid] = [vector_ids[i] for i in np.argsort(-scores)[:limit]]
        fused[qid] = [pid for pid, _ in reciprocal_rank_fusion([keyword[qid], semantic[qid]])][:limit]
    return {"bm25s (raw library)": keyword, "exact cosine (brute force)": semantic, "plain RRF of both": fused}


def tune(engine: SearchEngine, queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> None:
    """Grid over the fusion constant k and the semantic weight, on the queries given (use the train split)."""
    from paperscope.index.keyword import parse_user_query

    lists = {}
    for qid in qrels:
        keyword = [pid for pid, _ in engine.keyword.search(parse_user_query(queries[qid]), 200)]
        semantic = [pid for pid, _ in engine.vectors.search(engine.embedder.embed_query(queries[qid]), 200)]
        lists[qid] = (keyword, semantic)
    results = []
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        run = {q: [pid for pid, _ in convex_combination(
            [engine.keyword.search(parse_user_query(queries[q]), 200),
             engine.vectors.search(engine.embedder.embed_query(queries[q]), 200)], [alpha, 1 - alpha])]
            for q in qrels}
        ndcg = mean([ndcg_at_k(run[q], rel, 10) for q, rel in qrels.items()])
        print(f"convex, keyword weight {alpha}: nDCG@10 {ndcg:.4f}")
    for k in (10, 20, 40, 60, 100):
        for weight in (0.6, 0.8, 1.0, 1.2, 1.5, 2.0):
            run = {q: [pid for pid, _ in reciprocal_rank_fusion(pair, k=k, weights=[1.0, weight])]
                   for q, pair in lists.items()}
            ndcg = mean([ndcg_at_k(run[q], rel, 10) for q, rel in qrels.items()])
            results.append((ndcg, mean([recall_at_k(run[q], rel, 100) for q, rel in qrels.items()]), k, weight))
    for ndcg, recall, k, weight in sorted(results, reverse=True)[:5]:
        print(f"k={k:<3} semantic weight={weight:<4} nDCG@10 {ndcg:.4f} R@100 {recall:.4f}")


def feedback(engine: SearchEngine, queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> None:
    """Rocchio pseudo-relevance feedback on the vector side, then RRF: a grid on the queries given (use the
    train split). The query vector moves toward the mean of the top `fb` documents of the semantic or the
    hybrid list, by `beta`; the moved vector is searched again and fused with the keyword list."""
    from paperscope.index.keyword import parse_user_query

    ids, matrix = engine.store.load_embeddings(engine.embedder.name)
    row = {pid: i for i, pid in enumerate(ids)}
    keyword, semantic, vectors = {}, {}, {}
    for qid in qrels:
        vectors[qid] = engine.embedder.embed_query(queries[qid])
        keyword[qid] = [pid for pid, _ in engine.keyword.search(parse_user_query(queries[qid]), 200)]
        semantic[qid] = [pid for pid, _ in engine.vectors.search(vectors[qid], 200)]

    def fused(first: list[str], second: list[str]) -> list[str]:
        return [pid for pid, _ in reciprocal_rank_fusion([first, second])]

    def score(run: dict[str, list[str]]) -> str:
        ndcg = mean([ndcg_at_k(run[q], rel, 10) for q, rel in qrels.items()])
        return f"nDCG@10 {ndcg:.4f} R@100 {mean([recall_at_k(run[q], rel, 100) for q, rel in qrels.items()]):.4f}"

    print(f"plain RRF: {score({q: fused(keyword[q], semantic[q]) for q in qrels})}")
    # RM3-style expansion on the keyword side: the most frequent words of the top `fb` keyword results
    # (weighted by their rank), added to the query with weight `beta` (tantivy's term^weight)
    import re
    from collections import Counter

    from paperscope.index.keyword import _STOPWORDS

    papers = {p.id: p for p in engine.store.iter_papers()}
    for fb in (3, 5, 10):
        for terms, beta in ((10, 0.3), (10, 0.5), (20, 0.3)):
            expanded = {}
            for q in qrels:
                counts: Counter[str] = Counter()
                for rank, pid in enumerate(keyword[q][:fb]):
                    words = re.findall(r"[a-z][a-z0-9-]{2,}", f"{papers[pid].title} {papers[pid].abstract}".lower())
                    for word, n in Counter(w for w in words if w not in _STOPWORDS).items():
                        counts[word] += n / len(words) / (rank + 1)
                asked = set(parse_user_query(queries[q]).words)
                extra = [w for w, _ in counts.most_common(terms + len(asked)) if w not in asked][:terms]
                text = parse_user_query(queries[q]).as_query_string() + "".join(f" {w}^{beta}" for w in extra)
                query, _ = engine.keyword._index.parse_query_lenient(text, ["text"])
                searcher = engine.keyword._index.searcher()
                expanded[q] = [pid for pid, _, _ in engine.keyword.documents_of(searcher.search(query, 200).hits,
                                                                                searcher)]
            print(f"keyword expansion from top {fb}, {terms} terms, weight {beta}: keyword {score(expanded)}; "
                  f"RRF {score({q: fused(expanded[q], semantic[q]) for q in qrels})}", flush=True)
    for source in ("semantic", "hybrid"):
        for fb in (3, 5, 10):
            for beta in (0.3, 0.6, 1.0):
                moved = {}
                for q in qrels:
                    top = semantic[q][:fb] if source == "semantic" else fused(keyword[q], semantic[q])[:fb]
                    vector = vectors[q] + beta * matrix[[row[pid] for pid in top]].mean(axis=0)
                    moved[q] = [pid for pid, _ in engine.vectors.search(vector / np.linalg.norm(vector), 200)]
                print(f"feedback from {source} top {fb}, beta {beta}: RRF "
                      f"{score({q: fused(keyword[q], moved[q]) for q in qrels})}", flush=True)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--split", default="test", choices=["test", "train"])
    parser.add_argument("--tune", action="store_true",
                        help="Grid-search the fusion parameters on the split instead (use --split train)")
    parser.add_argument("--feedback", action="store_true",
                        help="Grid-search Rocchio feedback on the vector side instead (use --split train)")
    args = parser.parse_args()
    qrels = read_qrels(require(SCIFACT) / "beir" / "qrels" / f"{args.split}.tsv")
    all_queries = [json.loads(line) for line in (SCIFACT / "beir" / "queries.jsonl").open(encoding="utf-8")]
    queries = {str(q["_id"]): q["text"] for q in all_queries if str(q["_id"]) in qrels}
    CACHE.mkdir(exist_ok=True)
    split_file = CACHE / f"scifact-{args.split}-queries.jsonl"
    split_file.write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()),
                          encoding="utf-8")
    db = CACHE / f"scifact-{args.model.replace(':', '_').replace('/', '_')}.db"
    engine = build(db, args.model)
    if args.tune:
        tune(engine, queries, qrels)
        return
    if args.feedback:
        feedback(engine, queries, qrels)
        return
    limit = 100
    print(f"SciFact {args.split}: {len(queries)} queries, {engine.store.count_papers()} abstracts, "
          f"model {engine.embedder.name}")
    print(f"{'run':40} {'nDCG@10':>8} {'R@100':>7}")
    rows = {}
    for mode in ("keyword", "semantic", "hybrid"):
        started = time.perf_counter()
        rows[f"paperscope {mode}"] = cli_run(db, args.model, split_file, mode, limit)
        print(f"  ({mode}: {time.perf_counter() - started:.1f} s for the whole command)", file=sys.stderr)
    rows["paperscope hybrid, PAPERSCOPE_FUSION=convex"] = cli_run(db, args.model, split_file, "hybrid", limit,
                                                                   fusion="convex")
    rows.update(baselines(engine, queries, limit))
    for name, run in rows.items():
        ndcg = mean([ndcg_at_k(run.get(q, []), rel, 10) for q, rel in qrels.items()])
        recall = mean([recall_at_k(run.get(q, []), rel, 100) for q, rel in qrels.items()])
        print(f"{name:40} {ndcg:8.4f} {recall:7.4f}")


if __name__ == "__main__":
    main()
