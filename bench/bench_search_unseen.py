"""Search quality on a real collection never used in development: 17k arXiv cs papers, known-item search.

    python bench/bench_search_unseen.py [--sample 1000] [--similar 300]

The collection is every paper of ../shared/data/arxiv/cs/*.jsonl (daily listings, 2025). It has no
relevance judgements, so the benchmark uses the standard known-item proxy, the same way for all three
modes: for a fixed random sample of papers, a query is derived from each paper and that paper is the one
relevant document. Two kinds of query:

* **title**: the paper's title (a user looking for a paper they remember);
* **held-out sentence**: the first sentence of the abstract, which is *removed from the stored abstract*
  of that paper (and only of the sampled ones), so no index holds the query text; a description of the
  paper in words the index has never seen next to it, much like a user's question.

Reported: MRR@10, Recall@10 and nDCG@10 (one relevant document) of `paperscope search --queries ... --json`
in each mode, as a user runs it, beside baselines on the same corpus and vectors in the same run (bm25s,
exact cosine, plain RRF of both). And for "similar papers": the precision@10 of `SearchEngine.similar`
against the paper's primary category (and any shared category), beside a keyword "more like this"
baseline (the paper's title and abstract as a keyword query) and the chance level.

The database and its vectors (default model; embedding 17k abstracts takes minutes) are cached in
bench/.cache/arxiv-cs-unseen-SAMPLE.db.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from bench_search_quality import baselines, cli_run
from benchlib import ARXIV_CS, CACHE, arguments, require
from ir_metrics import held_out_first_sentence, mean, mrr_at_k, ndcg_at_k, recall_at_k
from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.base import Entry
from paperscope.ingest.jsonl import read_jsonl
from paperscope.models import Paper
from paperscope.store import open_store

SEED = 11


def read_collection() -> dict[str, Paper]:
    """Every paper of the daily listings, merged by id as ingest merges them."""
    papers: dict[str, Paper] = {}
    for path in sorted(ARXIV_CS.glob("*.jsonl")):
        with path.open("rb") as stream:
            for item in read_jsonl(stream, str(path)):
                if isinstance(item, Entry):
                    paper = item.paper
                    papers[paper.id] = papers[paper.id].merged_with(paper) if paper.id in papers else paper
    return papers


def sample_queries(papers: dict[str, Paper], size: int) -> tuple[dict[str, str], dict[str, str], dict[str, Paper]]:
    """Title queries and held-out-sentence queries for a fixed sample, and the sampled papers as stored
    (their abstracts without the held-out sentence)."""
    rng = random.Random(SEED)
    titles, sentences, changed = {}, {}, {}
    for pid in rng.sample(sorted(papers), len(papers)):
        if len(titles) >= size:
            break
        split = held_out_first_sentence(papers[pid].abstract)
        if split is None or not papers[pid].categories:
            continue
        sentence, rest = split
        titles[pid], sentences[pid] = papers[pid].title, sentence
        changed[pid] = dataclasses.replace(papers[pid], abstract=rest)
    return titles, sentences, changed


def build(db: Path, sample: int) -> tuple[SearchEngine, dict[str, str], dict[str, str]]:
    papers = read_collection()
    titles, sentences, changed = sample_queries(papers, sample)
    engine = SearchEngine(open_store(str(db)), Settings(database_url=str(db)))
    if engine.store.count_papers() < len(papers):
        stored = [changed.get(pid, paper) for pid, paper in papers.items()]
        for start in range(0, len(stored), 2000):
            engine.store.upsert_papers(stored[start:start + 2000])
    started = time.perf_counter()
    report = index_papers(engine, progress=lambda done, total: print(f"\r  embedded {done:,} / {total:,}", end="",
                                                              file=sys.stderr))
    if report.embedded:
        print(f"\n  embedded {report.embedded:,} abstracts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return engine, titles, sentences


def similar_precision(engine: SearchEngine, pids: list[str]) -> dict[str, tuple[float, float]]:
    """Precision@10 against the primary category and against any shared category, for our similar
    papers, a keyword "more like this" and the chance level."""
    papers = engine.store.get_papers(pids)
    everyone = list(engine.store.iter_papers())
    categories = {p.id: p.categories for p in everyone}
    primary = Counter(p.categories[0] for p in everyone if p.categories)
    runs: dict[str, dict[str, list[str]]] = {"paperscope similar (stored embedding)": {},
                                             "baseline: keyword more-like-this": {}}
    for pid in pids:
        runs["paperscope similar (stored embedding)"][pid] = [h.id for h in engine.similar(pid, limit=10)]
        text = f"{papers[pid].title} {papers[pid].abstract}"
        hits = engine.search(text, mode="keyword", limit=11)
        runs["baseline: keyword more-like-this"][pid] = [h.id for h in hits if h.id != pid][:10]
    table = {}
    for name, run in runs.items():
        same = mean([mean([categories[h][0] == categories[pid][0] for h in run[pid]]) for pid in pids])
        shared = mean([mean([bool(set(categories[h]) & set(categories[pid])) for h in run[pid]]) for pid in pids])
        table[name] = (same, shared)
    total = len(everyone)
    chance_same = mean([(primary[categories[pid][0]] - 1) / (total - 1) for pid in pids])
    table["chance (a random paper)"] = (chance_same, float("nan"))
    return table


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sample", type=int, default=1000, help="papers that give a query each")
    parser.add_argument("--similar", type=int, default=300, help="papers whose similar papers are judged")
    args = parser.parse_args()
    require(ARXIV_CS)
    CACHE.mkdir(exist_ok=True)
    db = CACHE / f"arxiv-cs-unseen-{args.sample}.db"  # the sample's abstracts are stored shortened
    engine, titles, sentences = build(db, args.sample)
    print(f"{engine.store.count_papers():,} arXiv cs papers, {len(titles)} known items, model {engine.embedder.name}")
    for kind, queries in (("title", titles), ("held-out sentence", sentences)):
        path = CACHE / f"unseen-{kind.split()[0]}-queries.jsonl"
        path.write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()),
                        encoding="utf-8")
        rows = {f"paperscope {mode}": cli_run(db, "minilm", path, mode, 10)
                for mode in ("keyword", "semantic", "hybrid")}
        rows.update(baselines(engine, queries, 10))
        print(f"\n{kind} queries ({len(queries)})")
        print(f"{'run':40} {'MRR@10':>7} {'R@10':>7} {'nDCG@10':>8}")
        for name, run in rows.items():
            relevant = {q: {q: 1} for q in queries}
            mrr = mean([mrr_at_k(run.get(q, []), relevant[q], 10) for q in queries])
            recall = mean([recall_at_k(run.get(q, []), relevant[q], 10) for q in queries])
            ndcg = mean([ndcg_at_k(run.get(q, []), relevant[q], 10) for q in queries])
            print(f"{name:40} {mrr:7.4f} {recall:7.4f} {ndcg:8.4f}")
    pids = list(titles)[: args.similar]
    print(f"\nsimilar papers ({len(pids)} papers): precision@10")
    print(f"{'run':40} {'same primary category':>22} {'a shared category':>18}")
    for name, (same, shared) in similar_precision(engine, pids).items():
        print(f"{name:40} {same:22.4f} {shared:18.4f}")


if __name__ == "__main__":
    main()
