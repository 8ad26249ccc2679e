"""The code budget of a compressed vector search (index/vector_generation.py, decision 0139) against scanning all
of a query's nprobe nearest lists.

    python bench/bench_code_budget.py [--n 10000000]     # the store bench_scale_serving.py builds for --n

A search scans its nearest lists up to CODE_BUDGET (or each of --budgets) times the codes that nprobe lists of
average size hold, instead of all nprobe lists. Measured on the generation of the scale store's index folder, the
546 real queries (300 SciFact claims, the first sentences of the newest arXiv cs listing), the ways alternating
query by query on the same files:

1. the vector part alone (100 results, re-ranked as served), p50 / p95 on faiss's threads;
2. recall@10 against exact search over the generation's own float16 rows (cached in bench/.cache as
   scale-db-N.truth-gG.npy);
3. the codes each query's lists hold, p50 / p95.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench_vector_compressed import exact_truth, real_queries
from benchlib import CACHE, arguments, percentile_ms
from make_scale_db import scale_db_path
from paperscope.index.vector_compressed import CompressedVectorIndex
from paperscope.index.vector_generation import CODE_BUDGET, Generation


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=10_000_000, help="the scale store whose generation is measured")
    parser.add_argument("--budgets", default=str(CODE_BUDGET), help="code budgets to measure, comma-separated")
    args = parser.parse_args()
    folder = Path(f"{scale_db_path(args.n)}.index")
    manifest = next(folder.glob("vectors-*.manifest.json"), None)
    if manifest is None:
        raise SystemExit(f"no vector index generation in {folder}: python bench/bench_scale_serving.py --n {args.n}")
    generation = Generation(manifest)
    queries = real_queries()
    truth_path = CACHE / f"scale-db-{args.n}.truth-g{generation.number}.npy"
    if truth_path.exists():
        truth = np.load(truth_path)
    else:
        truth = exact_truth(generation.rows, queries)
        np.save(truth_path, truth)
    ways = {"every nprobe list (baseline)": CompressedVectorIndex(generation, code_budget=None)}
    ways.update({f"code budget {budget:g}": CompressedVectorIndex(generation, code_budget=budget)
                 for budget in map(float, args.budgets.split(","))})
    for query in queries[:30]:  # warm: the codes' and rows' pages both ways read
        for index in ways.values():
            index.search(query, 100)
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    found: dict[str, int] = dict.fromkeys(ways, 0)
    codes: dict[str, list[int]] = {name: [] for name in ways}
    for query, exact in zip(queries, truth, strict=True):
        expected = {generation.id_of(int(slot)) for slot in exact}
        for name, index in ways.items():
            started = time.perf_counter()
            hits = index.search(query, 100)
            seconds[name].append(time.perf_counter() - started)
            found[name] += len(expected & {paper_id for paper_id, _ in hits[:10]})
            lists, _ = generation.lists_to_scan(np.ascontiguousarray(query[None, :]), generation.nprobe,
                                                budget=index.code_budget)
            codes[name].append(int(generation.list_sizes[lists[0][lists[0] >= 0]].sum()))
    average = generation.nprobe * generation.count / len(generation.list_sizes)
    print(f"{generation.count:,} vectors, {len(generation.list_sizes):,} lists, nprobe {generation.nprobe:,}, "
          f"re-ranking {generation.rerank}; nprobe lists of average size hold {average:,.0f} codes; "
          f"{len(queries)} real queries")
    for name in ways:
        print(f"  {name:30} recall@10 {found[name] / (10 * len(queries)):.4f}; vector part p50 "
              f"{percentile_ms(seconds[name], 50):5.1f} ms, p95 {percentile_ms(seconds[name], 95):5.1f} ms; codes a "
              f"query p50 {np.percentile(codes[name], 50):,.0f}, p95 {np.percentile(codes[name], 95):,.0f}")
    baseline = percentile_ms(seconds[next(iter(ways))], 95)
    for name in list(ways)[1:]:
        print(f"  p95 ratio, every list / {name}: {baseline / percentile_ms(seconds[name], 95):.2f}x")


if __name__ == "__main__":
    main()
