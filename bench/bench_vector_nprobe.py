"""How many IVF lists a search must scan: real text queries beside probe queries made from stored vectors.

    python bench/bench_search_quality.py            # once: caches SciFact and its vectors
    python bench/bench_search_unseen.py             # once: caches 17k arXiv cs papers and their vectors
    python bench/bench_search_latency.py --n 100000 # once: caches the 100k replicated set
    python bench/bench_vector_nprobe.py

For each cached set, a VectorIndex is trained once on all its vectors (as when it has just reached that
size), then recall@10 against exact search is measured at growing nprobe for: the set's real queries
embedded with the default model (SciFact test claims; the held-out first sentences of
bench_search_unseen.py), stored vectors used as queries (themselves left out), and midpoints of two stored
vectors (the probe VectorIndex tunes nprobe with). The row VectorIndex picks is marked. This is how the
floor of max(64, nlist / 32) lists in paperscope/index/vector_ivf.py was chosen.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from benchlib import CACHE
from paperscope.embed import get_embedder
from paperscope.index.vector import VectorIndex
from paperscope.store import open_store

SETS = [  # (name, database, queries)
    ("SciFact, 5,183 abstracts", "scifact-minilm.db", "scifact-test-queries.jsonl"),
    ("arXiv cs, 17,142 papers", "arxiv-cs-unseen-1000.db", "unseen-held-out-queries.jsonl"),
    ("SciFact replicated to 100k", "latency-100000.db", "scifact-test-queries.jsonl"),
]
PROBES = 256


def recall(index: VectorIndex, queries: np.ndarray, truth: list[set[str]], own: list[str] | None) -> float:
    hits = 0
    for row, (query, wanted) in enumerate(zip(queries, truth, strict=True)):
        found = [pid for pid, _ in index.search(query, 11) if own is None or pid != own[row]][:10]
        hits += len(set(found) & wanted)
    return hits / sum(len(t) for t in truth)


def exact_truth(ids: np.ndarray, x: np.ndarray, queries: np.ndarray, own: list[str] | None) -> list[set[str]]:
    truth = []
    for row, query in enumerate(queries):
        scores = x @ query
        top = np.argpartition(-scores, 11)[:11]
        ranked = [str(pid) for pid in ids[top[np.argsort(-scores[top])]]]
        truth.append(set([pid for pid in ranked if own is None or pid != own[row]][:10]))
    return truth


def study(name: str, db: Path, query_file: Path) -> None:
    embedder = get_embedder("minilm")
    ids_list, x = open_store(str(db)).load_embeddings(embedder.name)
    ids = np.array(ids_list)
    texts = [json.loads(line)["text"] for line in query_file.open(encoding="utf-8")][:300]
    rng = np.random.default_rng(0)
    picked = rng.choice(len(ids), PROBES, replace=False)
    pairs = rng.integers(0, len(ids), (2, PROBES))
    midpoints = x[pairs[0]] + x[pairs[1]]
    kinds = {
        "real queries": (np.vstack([embedder.embed_query(t) for t in texts]), None),
        "stored vectors": (x[picked], [str(ids[i]) for i in picked]),
        "midpoints": (midpoints / np.linalg.norm(midpoints, axis=1, keepdims=True), None),
    }
    index = VectorIndex(x.shape[1], exact_below=len(ids))
    index.add(ids_list, x)  # trained once, on all of them
    chosen = index.probes
    truths = {kind: exact_truth(ids, x, q, own) for kind, (q, own) in kinds.items()}
    print(f"\n{name}: nlist {index.nlist}, VectorIndex picks nprobe {chosen}")
    print("| nprobe | " + " | ".join(kinds) + " |")
    print("| ---: |" + " ---: |" * len(kinds))
    steps = sorted({*(math.ceil(4 * 1.5 ** i) for i in range(30) if 4 * 1.5 ** i < index.nlist), chosen})
    for nprobe in steps:
        index.nprobe = nprobe
        cells = [f"{recall(index, q, truths[kind], own):.3f}" for kind, (q, own) in kinds.items()]
        mark = " **(picked)**" if nprobe == chosen else ""
        print(f"| {nprobe}{mark} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    for name, db, queries in SETS:
        if not (CACHE / db).exists() or not (CACHE / queries).exists():
            print(f"\n{name}: {CACHE / db} or its queries not cached yet; run the benchmark that makes it",
                  file=sys.stderr)
            continue
        study(name, CACHE / db, CACHE / queries)


if __name__ == "__main__":
    main()
