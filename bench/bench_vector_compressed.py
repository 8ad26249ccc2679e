"""Compressed, memory-mapped vector layouts against today's IVF-Flat and exact search, on replicated real vectors.

    python bench/bench_web_load.py --papers-only      # once: bench/.cache/web-cs.db, 17k embedded arXiv cs papers
    nice -n 10 python bench/bench_vector_compressed.py [--n 1000000] [--layouts SQ8,PQ48,PQ64,PQ96]
                                                       [--rerank 50,100,200] [--probe-factors 1,2] [--no-ivf-flat]

Above 2,000,000 vectors the float32 baselines are skipped (IVF-Flat at 10M needs 15 GB): exact search runs over the
float16 file in chunks instead, as the ground truth does.

The set: the real all-MiniLM-L6-v2 embeddings of web-cs.db replicated with noise from their own covariance
(bench_vector.py's "real" generator) to `--n` vectors, written once in chunks as a float16 file,
bench/.cache/vec-real-N.f16 (so `--n 10000000` needs 7.7 GB of disk, not of memory). That file is also the
re-ranking file of every compressed generation measured (a generation's rows.f16).

Queries: real text embedded with the packaged model: the SciFact claims and the first sentences of 300 arXiv cs
abstracts (cached in bench/.cache/vec-queries.npy). Ground truth: exact search over the whole float16 set, in
chunks, in the same run.

Per layout: bytes per vector (codes + ids; the float16 rows add 2 x dim), build time (train + add; the coarse
centroids are trained once and shared, their time is printed apart), recall@10 against exact, p50/p95 latency of
one query on one thread through CompressedVectorIndex, and the memory of reader processes mapping the generation:
RSS after opening and after 1,000 queries, and the RSS, Pss and private memory of a second reader beside the first.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_vector import Generator
from benchlib import CACHE, SCIFACT, SHARED_DATA, arguments, percentile_ms
from paperscope.index.vector import VectorIndex
from paperscope.index.vector_compressed import CompressedVectorIndex
from paperscope.index.vector_generation import MANIFEST_VERSION, Generation, _replace_json, covering_nprobe
from paperscope.index.vector_ivf import TRAIN_PER_LIST, default_nlist, load_faiss

DIM = 384
CHUNK = 100_000
IN_MEMORY_MAX = 2_000_000  # above this many vectors the float32 baselines (exact in memory, IVF-Flat) are skipped
WEB_DB = CACHE / "web-cs.db"


def memory() -> dict[str, int]:
    """This process's smaps_rollup figures, in KiB."""
    out: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        out[name.rstrip(":")] = int(value)
    return out


def source_vectors() -> np.ndarray:
    if not WEB_DB.exists():
        sys.exit(f"{WEB_DB} not found: run python bench/bench_web_load.py first (or link it from another checkout)")
    from paperscope.store import open_store

    with open_store(f"sqlite:///{WEB_DB}") as store:  # reads float16 and float32 rows alike
        _, x = store.load_embeddings("all-MiniLM-L6-v2/onnx-int8")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def replicated(n: int) -> np.memmap[Any, Any]:
    path = CACHE / f"vec-real-{n}.f16"
    if not path.exists():
        generator = Generator("real", DIM, 7, source_vectors())
        partial = path.with_suffix(".part")
        print(f"writing {n:,} replicated vectors to {path} ...", file=sys.stderr, flush=True)
        with open(partial, "wb") as out:
            for start in range(0, n, CHUNK):
                out.write(generator.draw(min(CHUNK, n - start)).astype("<f2").tobytes())
        partial.replace(path)
    return np.memmap(path, dtype="<f2", mode="r", shape=(n, DIM))


#: How many of `real_query_texts` are SciFact claims (they come first; the arXiv first sentences follow).
CLAIMS = 300


def real_query_texts() -> list[str]:
    """The 546 real queries: 300 SciFact claims, the first sentences of the newest arXiv cs listing's abstracts."""
    texts = [json.loads(line)["text"] for line in (SCIFACT / "beir" / "queries.jsonl").open(encoding="utf-8")][:CLAIMS]
    arxiv = sorted((SHARED_DATA / "arxiv" / "cs").glob("*.jsonl"))[-1]
    for line in list(arxiv.open(encoding="utf-8"))[:300]:
        abstract = " ".join(str(json.loads(line).get("summary") or "").split())
        texts.append(abstract.split(". ")[0])
    return texts


def real_queries() -> np.ndarray:
    """`real_query_texts` embedded with the packaged model (cached in bench/.cache/vec-queries.npy)."""
    path = CACHE / "vec-queries.npy"
    if path.exists():
        return np.load(path)
    from paperscope.embed import get_embedder

    embedder = get_embedder("minilm")
    queries = np.vstack([embedder.embed_query(t) for t in real_query_texts()]).astype(np.float32)
    np.save(path, queries)
    return queries


def exact_truth(x: np.memmap[Any, Any], queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Rows of each query's exact k best, by one scan of `x` in chunks (each chunk's own best k, then merged)."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(x), CHUNK):
        scores = queries @ np.asarray(x[start:start + CHUNK], dtype=np.float32).T
        local = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        both = np.hstack([best, np.take_along_axis(scores, local, 1)])
        index = np.hstack([rows, local + start])
        top = np.argpartition(-both, k - 1, axis=1)[:, :k]
        best, rows = np.take_along_axis(both, top, 1), np.take_along_axis(index, top, 1)
    return rows


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True)) / truth.size


def write_layout(folder: Path, x_path: Path, n: int, ids: np.ndarray, index: Any, nprobe: int, rerank: int,
                 name: str) -> Path:
    """A generation in the product's format whose rows file is the cached set itself (a symbolic link)."""
    faiss = load_faiss()
    folder.mkdir(parents=True, exist_ok=True)
    files = {"codes.faiss": folder / f"{name}.codes.faiss", "rows.f16": folder / f"{name}.rows.f16",
             "ids.npy": folder / "ids.npy", "sorted.npy": folder / "sorted.npy", "order.npy": folder / "order.npy"}
    faiss.write_index(index, str(files["codes.faiss"]))
    files["rows.f16"].unlink(missing_ok=True)
    files["rows.f16"].symlink_to(x_path)
    if not files["ids.npy"].exists():
        order = np.argsort(ids, kind="stable")
        np.save(files["ids.npy"], ids)
        np.save(files["sorted.npy"], ids[order])
        np.save(files["order.npy"], order.astype(np.int64))
    manifest = folder / f"{name}.manifest.json"
    _replace_json(manifest, {
        "format": MANIFEST_VERSION, "generation": 1, "dim": DIM, "count": n, "model": "bench",
        "watermark": None, "layout": name, "nprobe": nprobe, "rerank": rerank,
        "files": {part: {"name": path.name, "bytes": path.stat().st_size} for part, path in files.items()}})
    return manifest


def reader(manifest: str, rerank: int, queries_path: str, wait: bool) -> None:
    """Child process: open the generation, run 1,000 queries, print its memory, and (with `wait`) hold on."""
    before = memory()
    generation = Generation(Path(manifest))
    generation.rerank = rerank
    index = CompressedVectorIndex(generation)
    opened = memory()
    queries = np.load(queries_path)
    for i in range(1000):
        index.search(queries[i % len(queries)], 10)
    done = memory()
    print(json.dumps({"start": before, "opened": opened, "queried": done}), flush=True)
    if wait:
        sys.stdin.readline()


def reader_memory(manifest: Path, rerank: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--reader", str(manifest), "--rerank", str(rerank)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    first = subprocess.Popen([*command, "--wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert first.stdout is not None and first.stdin is not None
    one = json.loads(first.stdout.readline())
    two = json.loads(subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout)
    first.stdin.write("\n")
    first.stdin.close()
    first.wait()
    return {"one": one, "two": two}


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}"


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--layouts", default="SQ8,PQ48,PQ64,PQ96")
    parser.add_argument("--rerank", default="50,100,200")
    parser.add_argument("--probe-factors", default="1,2",
                        help="nprobe = the value covering_nprobe picks (as a generation does) times each of these")
    parser.add_argument("--no-ivf-flat", action="store_true", help="skip today's IVF-Flat (it needs 4 x n x dim bytes)")
    parser.add_argument("--threads", type=int, default=2, help="faiss threads while building (queries: one)")
    parser.add_argument("--reader", help=argparse_hidden())
    parser.add_argument("--wait", action="store_true", help=argparse_hidden())
    args = parser.parse_args()
    if args.reader:
        reader(args.reader, int(args.rerank), str(CACHE / "vec-queries.npy"), args.wait)
        return
    faiss = load_faiss()
    faiss.omp_set_num_threads(1)
    x = replicated(args.n)
    x_path = Path(x.filename)  # type: ignore[arg-type]
    queries = real_queries()
    started = time.perf_counter()
    truth = exact_truth(x, queries)
    truth_s = time.perf_counter() - started
    print(f"{args.n:,} vectors, {len(queries)} real queries; exact ground truth in {truth_s:.0f} s")
    ids = np.array([f"r{i:08d}".encode() for i in range(args.n)])
    rng = np.random.default_rng(0)
    nlist = default_nlist(args.n)
    sample = np.sort(rng.choice(args.n, min(args.n, TRAIN_PER_LIST * nlist), replace=False))
    training = np.asarray(x[sample], dtype=np.float32)
    faiss.omp_set_num_threads(args.threads)
    started = time.perf_counter()
    coarse = faiss.IndexFlatIP(DIM)
    clustering = faiss.Clustering(DIM, nlist)
    clustering.seed, clustering.max_points_per_centroid = 20240611, TRAIN_PER_LIST
    clustering.train(training, coarse)
    coarse_s = time.perf_counter() - started
    print(f"coarse centroids: nlist {nlist:,}, trained on {len(training):,} in {coarse_s:.0f} s")
    print("| layout | R | nprobe | bytes/vector | build s | recall@10 (SciFact / arXiv) | p50 ms | p95 ms | "
          "reader RSS MiB, opened | "
          "after 1,000 queries | 2nd reader added RSS / Pss / private MiB |")
    print("| --- |" + " ---: |" * 10)
    rows = []
    folder = CACHE / f"vec-layouts-{args.n}"
    for layout in args.layouts.split(","):
        index = ivf_with(coarse, nlist, layout)
        ivf = index
        faiss.omp_set_num_threads(args.threads)
        started = time.perf_counter()
        index.train(training)
        for start in range(0, args.n, CHUNK):
            index.add(np.asarray(x[start:start + CHUNK], dtype=np.float32))
        build_s = time.perf_counter() - started
        pairs = rng.integers(0, len(training), (2, 256))
        nprobe = covering_nprobe(ivf.quantizer, training, training[pairs[0]] + training[pairs[1]])
        codes_bytes = ivf.code_size
        faiss.omp_set_num_threads(1)
        settings = [(float(f), int(r)) for f in args.probe_factors.split(",") for r in args.rerank.split(",")]
        for factor, rerank in settings:
            probes = min(nlist, math.ceil(factor * nprobe))
            manifest = write_layout(folder, x_path, args.n, ids, index, probes, rerank, layout.replace(",", "_"))
            compressed = CompressedVectorIndex(Generation(manifest))
            seconds, found = [], []
            for q in queries:
                t = time.perf_counter()
                hits = compressed.search(q, 10)
                seconds.append(time.perf_counter() - t)
                found.append([int(pid[1:]) for pid, _ in hits])
            mem = reader_memory(manifest, rerank)
            rows.append({"layout": f"IVF{nlist},{layout}", "rerank": rerank, "nprobe": probes,
                         "bytes": codes_bytes + 16 + ids.dtype.itemsize * 2, "build": coarse_s + build_s,
                         "recall": recall(found, truth), "scifact": recall(found[:CLAIMS], truth[:CLAIMS]),
                         "arxiv": recall(found[CLAIMS:], truth[CLAIMS:]), "p50": percentile_ms(seconds, 50),
                         "p95": percentile_ms(seconds, 95), "mem": mem})
            print_row(rows[-1])
        del index
    baselines(args, x, queries, truth)
    for path in folder.glob("*"):
        path.unlink()
    folder.rmdir()


def ivf_with(coarse: Any, nlist: int, layout: str) -> Any:
    """An inverted file of `layout` codes around the already trained centroids `coarse` (shared, not copied)."""
    faiss = load_faiss()
    if layout.startswith("SQ"):
        kind = {"SQ8": faiss.ScalarQuantizer.QT_8bit, "SQfp16": faiss.ScalarQuantizer.QT_fp16,
                "SQ4": faiss.ScalarQuantizer.QT_4bit}[layout]
        return faiss.IndexIVFScalarQuantizer(coarse, DIM, nlist, kind, faiss.METRIC_INNER_PRODUCT)
    m = int(layout.removeprefix("PQ").split("x")[0])
    return faiss.IndexIVFPQ(coarse, DIM, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)


def private(figures: dict[str, int]) -> int:
    return figures["Private_Dirty"] + figures["Private_Clean"]


def print_row(row: dict[str, Any]) -> None:
    one, two = row["mem"]["one"], row["mem"]["two"]
    print(f"| {row['layout']} | {row['rerank']} | {row['nprobe']} | {row['bytes']} | {row['build']:.0f} | "
          f"{row['recall']:.3f} ({row['scifact']:.3f} / {row['arxiv']:.3f}) | {row['p50']:.2f} | {row['p95']:.2f} | "
          f"{mib(one['opened']['Rss'])} | "
          f"{mib(one['queried']['Rss'])} | {mib(two['queried']['Rss'] - two['start']['Rss'])} / "
          f"{mib(two['queried']['Pss'] - two['start']['Pss'])} / "
          f"{mib(private(two['queried']) - private(two['start']))} |",
          flush=True)


def baselines(args: Any, x: np.memmap[Any, Any], queries: np.ndarray, truth: np.ndarray) -> None:
    before = memory()["Rss"]
    if len(x) > IN_MEMORY_MAX:  # exact search over the float16 file in chunks: the ground truth's way
        seconds = []
        for q in queries[:20]:
            t = time.perf_counter()
            exact_truth(x, q[None, :])
            seconds.append(time.perf_counter() - t)
        print(f"| exact numpy over the float16 file, chunked | - | - | {2 * DIM + 60} | 0 | 1.000 | "
              f"{percentile_ms(seconds, 50):.2f} | {percentile_ms(seconds, 95):.2f} | - | - | shared pages |")
        print(f"(IVF-Flat skipped: {len(x):,} float32 vectors need {4 * DIM * len(x) / 2**30:.1f} GiB)")
        return
    matrix = np.asarray(x, dtype=np.float32)
    seconds = []
    for q in queries[:100]:
        t = time.perf_counter()
        scores = np.einsum("ij,j->i", matrix, q)
        np.argpartition(-scores, 10)[:10]
        seconds.append(time.perf_counter() - t)
    print(f"| exact numpy, float32 in memory | - | - | {4 * DIM + 60} | 0 | 1.000 | {percentile_ms(seconds, 50):.2f} | "
          f"{percentile_ms(seconds, 95):.2f} | {mib(memory()['Rss'] - before)} (matrix) | - | a full copy |",
          flush=True)
    if args.no_ivf_flat:
        del matrix
        return
    index = VectorIndex(DIM, exact_below=1000, threads=args.threads)
    started = time.perf_counter()
    index.add_many(([f"r{i:08d}" for i in range(s, min(s + CHUNK, len(matrix)))], matrix[s:s + CHUNK])
                    for s in range(0, len(matrix), CHUNK))
    build_s = time.perf_counter() - started
    del matrix
    seconds, found = [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.search(q, 10)
        seconds.append(time.perf_counter() - t)
        found.append([int(pid[1:]) for pid, _ in hits])
    print(f"| {index.describe()} (VectorIndex) | - | {index.probes} | {4 * DIM + 60} | {build_s:.0f} | "
          f"{recall(found, truth):.3f} | {percentile_ms(seconds, 50):.2f} | {percentile_ms(seconds, 95):.2f} | "
          f"{mib(memory()['Rss'] - before)} (index) | - | a full copy |", flush=True)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
