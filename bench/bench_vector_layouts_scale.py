"""Code layouts at 10M vectors: the cached generation's rows re-coded in other layouts, keeping its coarse lists.

    python bench/bench_scale_serving.py --n 10000000          # first: the store and its generation (cached)
    python bench/bench_vector_layouts_scale.py --n 10000000 --layouts PQ96x8np,PQ192x4fs,PQ96x4fs --rerank 100,400

For each layout the generation's own float16 rows are coded again around its coarse centroids, every vector in the
list it has there (what a rewrite of the generation does, vector_generation.py), the codes written to
bench/.cache/scale-layouts/ (deleted at the end) beside a manifest naming the generation's rows and ids. Then, at
the generation's nprobe and each re-ranking depth R: recall@10 against an exact scan of the rows on the 546 real
queries of bench_vector_compressed.real_queries (truth cached in bench/.cache/scale-truth-N.npy), p50 / p95 of one
search through `CompressedVectorIndex` on one thread and on faiss's threads, and the memory a reader process adds
by opening the codes: anonymous (its own) against file-backed (shared) pages. faiss adds to a fast-scan ("fs")
file only what it assigns itself, so those are coded as plain PQ of the same shape and converted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_scale_serving import settings_for
from bench_vector_compressed import CLAIMS, exact_truth, real_queries
from benchlib import CACHE, arguments, percentile_ms, require_cache
from make_scale_db import scale_db_path
from paperscope.index.vector_compressed import CompressedVectorIndex
from paperscope.index.vector_generation import Generation
from paperscope.index.vector_ivf import load_faiss

OUT = CACHE / "scale-layouts"


def recode(generation: Generation, layout: str, path: Path) -> float:
    """The generation's rows coded in `layout` around its centroids, each in its list; returns the seconds."""
    faiss = load_faiss()
    started = time.perf_counter()
    nlist, dim = len(generation.centroids()), generation.dim
    fast_scan = layout.endswith("fs")
    index = faiss.index_factory(dim, f"IVF{nlist},{layout.removesuffix('fs') + 'np' if fast_scan else layout}",
                                faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    ivf.quantizer.add(generation.centroids())
    ivf.quantizer.is_trained = True
    sample = np.sort(np.random.default_rng(0).choice(generation.count, min(generation.count, 131_072), replace=False))
    index.train(np.asarray(generation.rows[sample], dtype=np.float32))
    lists = generation.lists()
    for start in range(0, generation.count, 100_000):
        chunk = np.ascontiguousarray(generation.rows[start:start + 100_000], dtype=np.float32)
        ids = np.arange(start, start + len(chunk), dtype=np.int64)
        assigned = np.ascontiguousarray(lists[start:start + len(chunk)])
        ivf.add_core(len(chunk), faiss.swig_ptr(chunk), faiss.swig_ptr(ids), faiss.swig_ptr(assigned))
    if fast_scan:
        plain, index = index, faiss.IndexIVFPQFastScan(index)
        plain.own_fields, index.own_fields = False, True
    faiss.write_index(index, str(path))
    return time.perf_counter() - started


def manifest_for(generation: Generation, codes: Path, layout: str, rerank: int) -> Path:
    """A manifest naming `codes` and the generation's own rows and ids (files outside OUT by absolute path)."""
    manifest = json.loads(generation.manifest_path.read_text())
    manifest["files"] = {part: {"name": str(path.resolve()), "bytes": path.stat().st_size}
                         for part, path in generation.paths.items()}
    manifest["files"]["codes.faiss"] = {"name": str(codes.resolve()), "bytes": codes.stat().st_size}
    manifest["layout"] = f"IVF{len(generation.centroids())},{layout}"
    manifest["rerank"] = rerank
    path = OUT / f"{layout}-{rerank}.manifest.json"
    path.write_text(json.dumps(manifest))
    return path


READER = """
import json, sys
from pathlib import Path
from paperscope.index.vector_generation import Generation
def memory():
    return {l.split()[0].rstrip(':'): int(l.split()[1]) for l in open('/proc/self/smaps_rollup') if ':' in l.split()[0]}
before = memory()
generation = Generation(Path(sys.argv[1]))
after = memory()
print(json.dumps({k: (after[k] - before[k]) // 1024 for k in ('Rss', 'Anonymous')}))
"""


def opened_memory(manifest: Path) -> dict[str, int]:
    """What opening the generation adds to a fresh reader process (MiB): RSS and its anonymous part."""
    done = subprocess.run([sys.executable, "-c", READER, str(manifest)], capture_output=True, text=True, check=True)
    figures: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def timed_searches(index: CompressedVectorIndex, queries: np.ndarray, threads: int) -> tuple[list[float], list[Any]]:
    faiss = load_faiss()
    faiss.omp_set_num_threads(threads)
    for q in queries[:20]:
        index.search(q, 10)
    seconds, found = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(index.search(q, 10))
        seconds.append(time.perf_counter() - started)
    return seconds, found


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--layouts", default="PQ96x8np,PQ192x4fs,PQ96x4fs")
    parser.add_argument("--rerank", default="100,400")
    args = parser.parse_args()
    db = scale_db_path(args.n)
    require_cache(db, f"python bench/bench_scale_serving.py --n {args.n}")
    manifest = next(settings_for(db).resolved_index_dir().glob("vectors-*.manifest.json"))
    generation = Generation(manifest)
    truth_path = CACHE / f"scale-truth-{args.n}.npy"
    queries = real_queries()
    if not truth_path.exists():
        np.save(truth_path, exact_truth(generation.rows, queries, 10))
    truth = np.load(truth_path)
    print(f"{generation.count:,} vectors, {len(generation.centroids()):,} lists, nprobe {generation.nprobe}, "
          f"{len(queries)} real queries")
    print("| layout | bytes/vector | coded in s | R | recall@10 (SciFact / arXiv) | p50 / p95 ms, 1 thread | "
          "p50 / p95 ms, faiss's threads | opening adds RSS / anonymous MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    OUT.mkdir(exist_ok=True)
    try:
        for layout in args.layouts.split(","):
            codes = OUT / f"{layout}.codes.faiss"
            seconds = recode(generation, layout, codes)
            for rerank in [int(r) for r in args.rerank.split(",")]:
                path = manifest_for(generation, codes, layout, rerank)
                index = CompressedVectorIndex(Generation(path))
                one, found = timed_searches(index, queries, 1)
                many, _ = timed_searches(index, queries, os.cpu_count() or 1)
                hits = [len(set(index.base.slots_of([pid for pid, _ in f]).tolist()) & set(t.tolist())) / 10
                        for f, t in zip(found, truth, strict=True)]
                memory = opened_memory(path)
                code_bytes = int(load_faiss().extract_index_ivf(index.base.codes).code_size)
                print(f"| {layout} | {code_bytes} | {seconds:.0f} | {rerank} | {np.mean(hits):.3f} "
                      f"({np.mean(hits[:CLAIMS]):.3f} / {np.mean(hits[CLAIMS:]):.3f}) | "
                      f"{percentile_ms(one, 50):.1f} / {percentile_ms(one, 95):.1f} | "
                      f"{percentile_ms(many, 50):.1f} / {percentile_ms(many, 95):.1f} | "
                      f"{memory['Rss']:,} / {memory['Anonymous']:,} |", flush=True)
                del index
            codes.unlink()
    finally:
        shutil.rmtree(OUT, ignore_errors=True)


if __name__ == "__main__":
    main()
