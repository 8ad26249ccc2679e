"""Scoring a query's selective words (index/keyword.py, decision 0136) against scoring every word.

    python bench/bench_keyword_selective.py [--n 10000000] [--sample 1000]

An index of SELECTIVE_FROM papers or more leaves a query's common words (in COMMON_SHARE of the papers or more) out
when rarer ones remain, and scores at most the MAX_SCORED_WORDS rarest. Measured here, every figure beside the
baseline of the same run, scoring every word:

1. Quality, keyword search alone, the selective words forced on these small collections: nDCG@10 on SciFact (5,183
   abstracts, the test split's 300 claims) and MRR@10 of the known-item queries of bench_search_unseen.py on the
   17k arXiv cs papers (a paper's title; its first sentence, held out of the index).
2. Speed at N papers, on the keyword index of the store bench_scale_serving.py builds (skipped when absent): the
   keyword part alone (100 results) for the 546 real queries, p50 / p95, the SciFact claims and the arXiv first
   sentences apart. The two ways alternate query by query, reading the same index files.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from bench_search_unseen import read_collection, sample_queries
from bench_vector_compressed import CLAIMS, real_query_texts
from benchlib import SCIFACT, arguments, percentile_ms, require
from ir_metrics import mean, mrr_at_k, ndcg_at_k, read_qrels
from make_scale_db import scale_db_path
from paperscope.index.keyword import KeywordIndex
from paperscope.ingest.base import Entry
from paperscope.ingest.jsonl import read_jsonl
from paperscope.models import Paper

EVERY_WORD = 10**12  # an index this small never leaves a word out


def both_ways(folder: Path, papers: Iterable[Paper] | None = None) -> dict[str, KeywordIndex]:
    """The index in `folder` (filled with `papers` when given), opened to score every word and the selective ones."""
    every = KeywordIndex(folder, selective_from=EVERY_WORD)
    if papers is not None:
        every.add(papers)
        every.commit()
    return {"every word (baseline)": every, "selective words": KeywordIndex(folder, selective_from=0)}


def ranked(index: KeywordIndex, query: str) -> list[str]:
    return [pid for pid, _ in index.search(query, 10)]


def quality(sample: int) -> None:
    with (SCIFACT / "corpus.jsonl").open("rb") as stream:
        scifact = [item.paper for item in read_jsonl(stream, "corpus.jsonl") if isinstance(item, Entry)]
    claims = {row["_id"]: row["text"] for row in map(json.loads, (SCIFACT / "beir" / "queries.jsonl").open())}
    qrels = read_qrels(SCIFACT / "beir" / "qrels" / "test.tsv")
    papers = read_collection()
    titles, sentences, changed = sample_queries(papers, sample)
    with tempfile.TemporaryDirectory() as folder:
        on_scifact = both_ways(Path(folder) / "scifact", scifact)
        on_arxiv = both_ways(Path(folder) / "arxiv", [changed.get(pid, paper) for pid, paper in papers.items()])
        print(f"keyword search alone; SciFact {len(scifact):,} abstracts, {len(qrels)} claims; arXiv cs "
              f"{len(papers):,} papers, {len(titles)} known items")
        print(f"{'scored':24} {'SciFact nDCG@10':>16} {'arXiv title MRR@10':>19} "
              f"{'arXiv held-out sentence MRR@10':>31}")
        for name in on_scifact:
            ndcg = mean([ndcg_at_k(ranked(on_scifact[name], claims[q]), relevant) for q, relevant in qrels.items()])
            by_title = mean([mrr_at_k(ranked(on_arxiv[name], q), {pid: 1}) for pid, q in titles.items()])
            by_sentence = mean([mrr_at_k(ranked(on_arxiv[name], q), {pid: 1}) for pid, q in sentences.items()])
            print(f"{name:24} {ndcg:16.4f} {by_title:19.4f} {by_sentence:31.4f}")


def speed(n: int) -> None:
    folder = Path(f"{scale_db_path(n)}.index") / "keyword"
    if not folder.exists():
        print(f"\nno keyword index at {folder}: python bench/bench_scale_serving.py --n {n} builds it")
        return
    ways = both_ways(folder)
    texts = real_query_texts()
    for text in texts[:30]:  # warm: the index files' pages both ways read
        for index in ways.values():
            index.search(text, 100)
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for text in texts:
        for name, index in ways.items():
            started = time.perf_counter()
            index.search(text, 100)
            seconds[name].append(time.perf_counter() - started)
    print(f"\nthe keyword part alone at {len(next(iter(ways.values()))):,} papers, 100 results, {len(texts)} queries")
    for name, taken in seconds.items():
        claims, first_sentences = taken[:CLAIMS], taken[CLAIMS:]
        print(f"  {name:24} p50 {percentile_ms(taken, 50):5.1f} ms, p95 {percentile_ms(taken, 95):5.1f} ms; "
              f"the {len(claims)} claims p95 {percentile_ms(claims, 95):5.1f} ms, the {len(first_sentences)} "
              f"first sentences p50 {percentile_ms(first_sentences, 50):5.1f} ms, "
              f"p95 {percentile_ms(first_sentences, 95):5.1f} ms")
    baseline, ours = (percentile_ms(taken, 95) for taken in seconds.values())
    print(f"  p95 ratio, every word / selective words: {baseline / ours:.1f}x")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=10_000_000, help="the scale store whose keyword index is timed")
    parser.add_argument("--sample", type=int, default=1000, help="arXiv papers that give a known-item query each")
    args = parser.parse_args()
    require(SCIFACT)
    quality(args.sample)
    speed(args.n)


if __name__ == "__main__":
    main()
