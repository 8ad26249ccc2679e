"""One generation of the compressed vector index: read-only files that every process memory-maps.

A generation is written once, by the one process that writes the indexes, and never changed. Its files sit
beside a manifest, `<stem>.manifest.json`, which names them:

    <stem>.g<N>.codes.faiss   a faiss inverted file with compressed codes (LAYOUT), ids = slots 0..n-1
    <stem>.g<N>.rows.f16      the full vectors, float16 little-endian, n x dim, row = slot (the re-ranking)
    <stem>.g<N>.ids.npy       slot -> paper id, UTF-8 in a fixed-width numpy bytes array
    <stem>.g<N>.sorted.npy    the same ids sorted, and
    <stem>.g<N>.order.npy     the slot of each sorted id (id -> slot by binary search, no dict)

Readers map every file read-only: faiss with IO_FLAG_MMAP_IFC (the inverted lists' codes stay in the file; checked
with faiss 1.15.1: the codes show as file-backed clean pages in /proc/PID/smaps_rollup, not private dirty ones),
numpy with np.memmap / np.load(mmap_mode="r"). Processes on one machine so share one copy of the pages in the OS
page cache. A new generation becomes current when the manifest, written to a temporary file, is renamed over the
old one (os.replace, atomic); the previous generation's files are then unlinked, and Linux keeps them alive for a
reader that still maps them until it lets go.

Files are checked by their size against the manifest when opened (a truncated or missing file is a StoreError
naming it); their contents are not checksummed, which would mean reading gigabytes at every start.

The few full vectors a search re-ranks, and the ids of its results, are read with pread, not through the mapping:
each page fault on a mapped file maps its 16 cached neighbours too, so a web process's RSS would grow by 64 KiB for
every row or id it read.

A new generation keeps the previous one's coarse lists when their number still suits the set (within a factor of
two of what it would train): a vector the previous generation held stays in its list, and only new ones are
assigned, so rewriting 10M vectors costs the writing of their codes, not the training (docs/decisions/0133).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from paperscope.errors import Fix, StoreError
from paperscope.index.vector_ivf import (
    MIN_NPROBE,
    MIN_TRAIN_PER_LIST,
    PROBE_DIVISOR,
    TARGET_RECALL,
    TRAIN_PER_LIST,
    TUNE_QUERIES,
    default_nlist,
    load_faiss,
)

__all__ = ["CODE_BUDGET", "LIST_GRAPH_SEARCH", "MANIFEST_VERSION", "NPROBE_FACTOR", "PQ_BYTES", "PQ_MIN_VECTORS",
           "PREAD_ROWS", "RERANK", "TWO_LEVEL_LISTS",
           "Generation", "covering_nprobe",
           "layout_for",
           "write_generation"]

#: The codes: product quantisation, this many bytes a vector (one 8-bit code per sub-vector; fewer when the
#: dimension is not a multiple). At 10M vectors 64 bytes re-ranked 800 deep find 0.962 of the exact top 10, and the
#: codes a web process maps take two thirds of 96 bytes' (docs/decisions/0134-smaller-codes-deeper-re-ranking.md,
#: measured by bench/bench_vector_layouts_scale.py; 0121 chose 96 at 200k); faiss's 4-bit "fast scan" codes scan
#: 6x faster but are read into each process's own memory, not mapped (docs/decisions/0133).
PQ_BYTES: Final = 64
#: Below this many vectors a generation is coded with 8-bit scalar quantisation instead (SQ8, dim bytes a
#: vector, no training of its own to speak of).
PQ_MIN_VECTORS: Final = 10_000
#: How many candidates the codes give, to be re-ranked with the full vectors (at least k): at 10M vectors PQ64x8's
#: best 400 hold 0.944 of the exact top 10 and its best 800 0.962 (docs/decisions/0134).
RERANK: Final = 800
#: Up to this many rows are read with pread, one call a row (see the module docstring); more through the mapping.
PREAD_ROWS: Final = 4096
#: A generation scans this many times the lists `covering_nprobe` picks: real text queries unlike the stored papers
#: (SciFact claims over replicated arXiv vectors) found 0.94 of their exact top 10 at the tuned nprobe on 200k
#: vectors and 0.98 at twice it (docs/decisions/0121-compressed-vector-layout.md).
NPROBE_FACTOR: Final = 2
#: A search scans its nearest lists up to this many times the codes that nprobe lists of average size hold: a query
#: whose nearest lists are crowded ones costs about what a typical query costs (docs/decisions/0139).
CODE_BUDGET: Final = 1.1
#: Above this many lists (about 1M vectors) the coarse centroids are trained in two levels, on MIN_TRAIN_PER_LIST
#: points a list, and each vector's list is found through a graph over the centroids: training and adding all
#: nlist centroids' worth would take over an hour on two cores at 10M vectors.
TWO_LEVEL_LISTS: Final = 4096
LIST_GRAPH_SEARCH: Final = 64
MANIFEST_VERSION: Final = 1
_CHUNK: Final = 50_000  # rows converted / added at a time while writing
_SEED: Final = 20240611
_FILES: Final = ("codes.faiss", "rows.f16", "ids.npy", "sorted.npy", "order.npy")

FloatMatrix = npt.NDArray[np.float32]
Slots = npt.NDArray[np.int64]


class Generation:
    """The files of one generation, opened read-only and memory-mapped (see the module docstring)."""

    def __init__(self, manifest_path: Path) -> None:
        self.manifest_path = manifest_path
        manifest = _read_manifest(manifest_path)
        try:
            self.number = int(manifest["generation"])
            self.dim = int(manifest["dim"])
            self.count = int(manifest["count"])
            self.model: str | None = manifest["model"]
            self.watermark: str | None = manifest["watermark"]
            self.layout = str(manifest["layout"])
            self.nprobe = int(manifest["nprobe"])
            self.rerank = int(manifest["rerank"])
            files: dict[str, Any] = manifest["files"]
            self.paths = {part: manifest_path.parent / str(files[part]["name"]) for part in _FILES}
            sizes = {part: int(files[part]["bytes"]) for part in _FILES}
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"The vector index manifest {manifest_path} is damaged ({type(exc).__name__}: {exc}).",
                             fix=Fix.REBUILD_INDEX) from exc
        for part, path in self.paths.items():
            _check_size(path, sizes[part])
        faiss = load_faiss()
        codes_path = self.paths["codes.faiss"]
        try:
            self.codes: Any = faiss.read_index(str(codes_path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        except Exception as exc:  # faiss raises RuntimeError on a damaged file
            raise _damaged(codes_path, exc) from exc
        if int(self.codes.ntotal) != self.count or int(self.codes.d) != self.dim:
            raise StoreError(f"The vector index file {codes_path} is damaged (it does not match {manifest_path}).",
                             fix=Fix.REBUILD_INDEX)
        self.ivf: Any = faiss.extract_index_ivf(self.codes)  # the inverted file inside `codes`
        self.ivf.parallel_mode = 1  # one query's lists scanned on faiss's threads
        self.list_sizes = np.array([self.ivf.invlists.list_size(number) for number in range(int(self.ivf.nlist))],
                                   dtype=np.int64)
        rows_path = self.paths["rows.f16"]
        self.rows = np.memmap(rows_path, dtype="<f2", mode="r", shape=(self.count, self.dim)) if self.count else \
            np.zeros((0, self.dim), dtype="<f2")
        self._rows_fd = os.open(rows_path, os.O_RDONLY)
        self._ids_fd = os.open(self.paths["ids.npy"], os.O_RDONLY)
        self.ids = self._array("ids.npy")
        self.sorted_ids = self._array("sorted.npy")
        self.order = self._array("order.npy")
        if not (len(self.ids) == len(self.sorted_ids) == len(self.order) == self.count):
            raise StoreError(f"The vector index file {self.paths['ids.npy']} is damaged (wrong length).",
                             fix=Fix.REBUILD_INDEX)

    def __del__(self) -> None:
        for name in ("_rows_fd", "_ids_fd"):
            fd = getattr(self, name, None)
            if fd is not None:
                os.close(fd)

    def _array(self, part: str) -> npt.NDArray[Any]:
        path = self.paths[part]
        try:
            array: npt.NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # a damaged .npy header: ValueError, EOFError...
            raise _damaged(path, exc) from exc
        return array

    def files(self) -> list[Path]:
        """This generation's files, its manifest excluded."""
        return list(self.paths.values())

    def slots_of(self, paper_ids: Iterable[str]) -> Slots:
        """The slots of those of `paper_ids` this generation holds, by binary search over the sorted ids."""
        width = self.sorted_ids.dtype.itemsize
        wanted = [i.encode("utf-8") for i in paper_ids]
        wanted = [w for w in wanted if 0 < len(w) <= width and not w.endswith(b"\0")]
        if not wanted or not self.count:
            return np.empty(0, dtype=np.int64)
        slots = self.slots_of_keys(np.array(wanted, dtype=self.sorted_ids.dtype))
        return slots[slots >= 0]

    def slots_of_keys(self, keys: npt.NDArray[np.bytes_]) -> Slots:
        """The slot of each of `keys` (UTF-8 ids as a numpy bytes array), -1 where this generation lacks it."""
        if not self.count or not len(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        fits = np.char.str_len(keys) <= self.sorted_ids.dtype.itemsize  # a longer id is not held
        keys = keys.astype(self.sorted_ids.dtype)
        positions = np.minimum(np.searchsorted(self.sorted_ids, keys), self.count - 1)
        found = (np.asarray(self.sorted_ids[positions]) == keys) & fits
        return np.where(found, np.asarray(self.order[positions], dtype=np.int64), -1)

    def lists_to_scan(self, query: FloatMatrix, nprobe: int, *, budget: float | None = CODE_BUDGET
                      ) -> tuple[Slots, FloatMatrix]:
        """The coarse lists one query (1 x dim) scans, nearest first, as faiss's search_preassigned takes them:
        its `nprobe` nearest, cut where their codes pass `budget` times what `nprobe` lists of average size hold
        (the entries after the cut are -1, which faiss skips; the nearest list is always scanned; None: no cut),
        and their closeness."""
        closeness, lists = self.ivf.quantizer.search(query, nprobe)
        if budget is None:
            return lists, closeness
        sizes = self.list_sizes[lists[0][lists[0] >= 0]]
        codes = budget * nprobe * self.count / max(len(self.list_sizes), 1)
        lists[0, max(1, int(np.searchsorted(np.cumsum(sizes), codes, side="right"))):] = -1
        return lists, closeness

    def lists(self) -> Slots:
        """The coarse list of every slot, read from the inverted file's ids."""
        faiss = load_faiss()
        lists = np.empty(self.count, dtype=np.int64)
        for number, size in enumerate(self.list_sizes.tolist()):
            if size:
                lists[faiss.rev_swig_ptr(self.ivf.invlists.get_ids(number), size)] = number
        return lists

    def centroids(self) -> FloatMatrix:
        """The coarse centroids, one row a list."""
        centroids: FloatMatrix = self.ivf.quantizer.reconstruct_n(0, int(self.ivf.nlist))
        return centroids

    @property
    def outdated(self) -> bool:
        """Whether it was written with another layout or re-ranking depth than a generation of its size is now."""
        return self.layout.partition(",")[2] != layout_for(self.count, self.dim) or self.rerank != RERANK

    def id_of(self, slot: int) -> str:
        return bytes(self.ids[slot]).decode("utf-8")

    def ids_of(self, slots: Slots) -> list[str]:
        """The ids of `slots` (in that order), read with pread (the module docstring says why)."""
        width = self.ids.dtype.itemsize
        data = self._pread(self._ids_fd, "ids.npy", int(getattr(self.ids, "offset", 0)), width, slots)
        return [data[k:k + width].rstrip(b"\0").decode("utf-8") for k in range(0, len(data), width)]

    def vectors(self, slots: Slots) -> FloatMatrix:
        """The full vectors of `slots` (in that order) as float32; a few are read with pread (module docstring)."""
        if len(slots) > PREAD_ROWS:
            return np.asarray(self.rows[slots], dtype=np.float32)
        data = self._pread(self._rows_fd, "rows.f16", 0, 2 * self.dim, slots)
        return np.frombuffer(data, dtype="<f2").reshape(len(slots), self.dim).astype(np.float32)

    def _pread(self, fd: int, part: str, start: int, width: int, slots: Slots) -> bytes:
        data = b"".join(os.pread(fd, width, start + int(slot) * width) for slot in slots)
        if len(data) != width * len(slots):
            raise StoreError(f"The vector index file {self.paths[part]} is truncated.", fix=Fix.REBUILD_INDEX)
        return data


def layout_for(count: int, dim: int) -> str:
    """The codes of a generation of `count` vectors of `dim` dimensions, in faiss index_factory's spelling after
    "IVF<nlist>,": PQ with PQ_BYTES sub-vectors (the largest divisor of `dim` up to it), SQ8 for small sets."""
    if count < PQ_MIN_VECTORS:
        return "SQ8"
    parts = max(m for m in range(1, min(PQ_BYTES, dim) + 1) if dim % m == 0)
    return f"PQ{parts}x8np"  # np: no polysemous training, which costs minutes and is not used


def write_generation(manifest_path: Path, batches: Iterable[tuple[Sequence[str], npt.ArrayLike]], *, dim: int,
                     model: str | None, watermark: str | None, layout: str | None = None, rerank: int = RERANK,
                     threads: int = 1, two_level_above: int = TWO_LEVEL_LISTS, reuse_lists: bool = True
                     ) -> Generation:
    """Write a new generation from `batches` of (ids, unit vectors), make it current (the manifest renamed over
    the old one) and unlink the previous generation's files; returns it opened. Ids must be unique. `layout`
    (None: `layout_for` the set) is faiss index_factory's spelling of the codes after "IVF<nlist>,". With
    `reuse_lists` the current generation's coarse lists are kept when they suit the set (`_lists_suit`); else,
    above `two_level_above` lists, the coarse centroids are trained in two levels (`_train_two_level`)."""
    faiss = load_faiss()
    folder = manifest_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    previous = _previous_files(manifest_path)
    number = _previous_number(manifest_path) + 1
    stem = manifest_path.name.removesuffix(".manifest.json")
    paths = {part: folder / f"{stem}.g{number}.{part}" for part in _FILES}
    earlier = _current(manifest_path, dim) if reuse_lists else None
    try:
        count, ids = _write_rows(paths["rows.f16"], batches, dim)
        if len(set(ids)) != len(ids):
            raise ValueError("a vector index generation needs unique ids")
        encoded = np.array([i.encode("utf-8") for i in ids] or [b""], dtype=np.bytes_)[:count]
        order = np.argsort(encoded, kind="stable").astype(np.int64)
        for part, array in (("ids.npy", encoded), ("sorted.npy", encoded[order]), ("order.npy", order)):
            with open(paths[part], "wb") as out:
                np.save(out, array, allow_pickle=False)
                out.flush()
                os.fsync(out.fileno())
        del order, ids
        rows = np.memmap(paths["rows.f16"], dtype="<f2", mode="r", shape=(count, dim)) if count else None
        layout = layout or layout_for(count, dim)
        if earlier is not None and not _lists_suit(earlier, count):
            earlier = None
        index, nprobe = _build_codes(faiss, rows, encoded, dim, layout, threads, two_level_above, earlier)
        faiss.write_index(index, str(paths["codes.faiss"]))
        nlist = int(faiss.extract_index_ivf(index).nlist)
        del index, rows, encoded, earlier
        manifest = {
            "format": MANIFEST_VERSION, "generation": number, "dim": dim, "count": count, "model": model,
            "watermark": watermark, "layout": f"IVF{nlist},{layout}", "nprobe": nprobe,
            "rerank": rerank, "library": f"faiss-cpu {faiss.__version__}",
            "files": {part: {"name": path.name, "bytes": path.stat().st_size} for part, path in paths.items()},
        }
        _replace_json(manifest_path, manifest)
    except BaseException:
        for path in paths.values():
            path.unlink(missing_ok=True)
        raise
    for path in previous:
        if path not in paths.values():
            path.unlink(missing_ok=True)
    return Generation(manifest_path)


def _write_rows(path: Path, batches: Iterable[tuple[Sequence[str], npt.ArrayLike]], dim: int
                ) -> tuple[int, list[str]]:
    """Stream the vectors to the float16 file; returns how many and their ids in order."""
    ids: list[str] = []
    with open(path, "wb") as out:
        for batch_ids, vectors in batches:
            matrix = np.array(vectors, dtype=np.float32, ndmin=2)
            if matrix.shape != (len(batch_ids), dim):
                raise ValueError(f"got {len(batch_ids)} ids for vectors of shape {matrix.shape}, dimension {dim}")
            norms = np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), np.float32(1e-12))
            out.write((matrix / norms).astype("<f2").tobytes())
            ids.extend(batch_ids)
        out.flush()
        os.fsync(out.fileno())
    return len(ids), ids


def _build_codes(faiss: Any, rows: np.memmap[Any, Any] | None, keys: npt.NDArray[np.bytes_], dim: int,
                 layout: str, threads: int, two_level_above: int, earlier: Generation | None) -> tuple[Any, int]:
    """The trained inverted file holding every row's code, and the nprobe tuned on it. With `earlier`, its coarse
    centroids are kept and each row it held (by id, `keys`) goes to its list there; new rows are assigned."""
    count = len(keys) if rows is not None else 0
    nlist = int(earlier.ivf.nlist) if earlier is not None else default_nlist(max(count, 1))
    index = faiss.index_factory(dim, f"IVF{nlist},{layout}", faiss.METRIC_INNER_PRODUCT)
    if rows is None:
        return index, 1
    ivf = faiss.extract_index_ivf(index)
    if isinstance(index, faiss.IndexPreTransform):
        raise ValueError(f"the layout {layout!r} has a transform before the inverted file; use one without")
    ivf.cp.seed = _SEED
    ivf.cp.max_points_per_centroid = TRAIN_PER_LIST
    rng = np.random.default_rng(_SEED)
    sample_size = min(count, max(TRAIN_PER_LIST * nlist, min(count, 65_536)))
    two_level = earlier is None and nlist > two_level_above
    if two_level or earlier is not None:  # the centroids are given or trained apart: the codes' sample
        sample_size = min(sample_size, max(MIN_TRAIN_PER_LIST * nlist, min(count, 65_536)))
    sample = np.sort(rng.choice(count, sample_size, replace=False))
    training = np.asarray(rows[sample], dtype=np.float32)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, threads))
    try:
        if earlier is not None:
            ivf.quantizer.add(earlier.centroids())
            ivf.quantizer.is_trained = True
            index.train(training)  # the codes only: the quantizer holds its nlist centroids
            earlier_lists = earlier.lists()
        elif two_level:
            _train_two_level(faiss, index, ivf, training)
        else:
            index.train(training)
        assign = _list_graph(faiss, ivf) if nlist > two_level_above else ivf.quantizer
        for start in range(0, count, _CHUNK):
            chunk = np.ascontiguousarray(rows[start:start + _CHUNK], dtype=np.float32)
            lists = np.full(len(chunk), -1, dtype=np.int64)
            if earlier is not None:
                slots = earlier.slots_of_keys(keys[start:start + _CHUNK])
                lists[slots >= 0] = earlier_lists[slots[slots >= 0]]
            new = lists < 0
            if new.any():
                lists[new] = assign.search(np.ascontiguousarray(chunk[new]), 1)[1].ravel()
            ids = np.arange(start, start + len(chunk), dtype=np.int64)
            ivf.add_core(len(chunk), faiss.swig_ptr(chunk), faiss.swig_ptr(ids), faiss.swig_ptr(lists))
        pairs = rng.integers(0, len(training), (2, TUNE_QUERIES))
        nprobe = min(nlist, NPROBE_FACTOR * covering_nprobe(ivf.quantizer, training,
                                                            training[pairs[0]] + training[pairs[1]]))
    finally:
        faiss.omp_set_num_threads(before)
    return index, nprobe


def _current(manifest_path: Path, dim: int) -> Generation | None:
    """The generation `manifest_path` names, when it opens and holds vectors of `dim` dimensions."""
    if not manifest_path.exists():
        return None
    try:
        generation = Generation(manifest_path)
    except StoreError:
        return None
    return generation if generation.dim == dim and generation.count else None


def _lists_suit(earlier: Generation, count: int) -> bool:
    """Whether `earlier`'s coarse lists suit a set of `count` vectors: within a factor of two of the lists it
    would train (the set has grown or shrunk less than four times)."""
    nlist = int(earlier.ivf.nlist)
    wanted = default_nlist(max(count, 1))
    return wanted / 2 <= nlist <= 2 * wanted


def _train_two_level(faiss: Any, index: Any, ivf: Any, training: FloatMatrix) -> None:
    """Train `index` with its coarse centroids found in two levels: sqrt(nlist) clusters of the sample, then
    each of them split in proportion to its size. k-means over all nlist centroids at once costs sample x nlist
    per iteration (about 20 minutes on one core at 10M vectors); this costs sample x 2 sqrt(nlist)."""
    from faiss.contrib.clustering import two_level_clustering

    nlist = int(ivf.nlist)
    centroids, _ = two_level_clustering(  # type: ignore[no-untyped-call]
        training, round(math.sqrt(nlist)), nlist, clustering_niter=ivf.cp.niter, spherical=True, seed=_SEED,
        min_points_per_centroid=1)
    ivf.quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    ivf.quantizer.is_trained = True
    index.train(training)  # the codes' own training, on the residuals to the centroids just added


def _list_graph(faiss: Any, ivf: Any) -> Any:
    """An HNSW graph over the coarse centroids, to find each added vector's list without comparing it to every
    centroid (with LIST_GRAPH_SEARCH candidates, it agrees with the exact list for about 995 vectors in 1,000;
    a vector in its second-nearest list is still found by a search, which scans many lists)."""
    graph = faiss.IndexHNSWFlat(int(ivf.d), 32, faiss.METRIC_INNER_PRODUCT)
    graph.add(ivf.quantizer.reconstruct_n(0, int(ivf.nlist)))
    graph.hnsw.efSearch = LIST_GRAPH_SEARCH
    return graph


def covering_nprobe(quantizer: Any, points: FloatMatrix, queries: FloatMatrix, k: int = 10) -> int:
    """The fewest lists whose scan reaches TARGET_RECALL of the `queries`' exact `k` nearest neighbours among
    `points` (the training sample), never under max(MIN_NPROBE, nlist / PROBE_DIVISOR): the rule of the
    in-memory IVF (index/vector_ivf.py), measured on the lists themselves, since a scan of compressed codes
    is no exact truth to tune against."""
    nlist = int(quantizer.ntotal)
    queries = np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype=np.float32)
    k = min(k, len(points))
    neighbours = np.empty((len(queries), k), dtype=np.int64)
    for row, query in enumerate(queries):
        scores = np.einsum("ij,j->i", points, query)
        neighbours[row] = np.argpartition(-scores, k - 1)[:k]
    _, their_lists = quantizer.search(np.ascontiguousarray(points[neighbours.reshape(-1)]), 1)
    _, nearest_lists = quantizer.search(queries, nlist)
    rank = np.empty_like(nearest_lists)
    np.put_along_axis(rank, nearest_lists, np.arange(nlist)[None, :].repeat(len(queries), 0), axis=1)
    needed = np.take_along_axis(rank, their_lists.reshape(len(queries), k), axis=1) + 1
    floor = max(MIN_NPROBE, math.ceil(nlist / PROBE_DIVISOR))
    return min(nlist, max(floor, int(np.quantile(needed, TARGET_RECALL, method="higher"))))


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"Cannot read the vector index manifest {path}: {exc.strerror or exc}.",
                         fix=Fix.REBUILD_INDEX) from exc
    except ValueError as exc:
        raise StoreError(f"The vector index manifest {path} is damaged ({exc}).", fix=Fix.REBUILD_INDEX) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_VERSION:
        raise StoreError(f"The vector index manifest {path} is not of format {MANIFEST_VERSION}.",
                         fix=Fix.REBUILD_INDEX)
    return manifest


def _previous_number(manifest_path: Path) -> int:
    try:
        number: int = int(json.loads(manifest_path.read_text(encoding="utf-8"))["generation"])
        return number
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _previous_files(manifest_path: Path) -> list[Path]:
    try:
        files = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
        return [manifest_path.parent / str(entry["name"]) for entry in files.values()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _replace_json(path: Path, content: dict[str, Any]) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(content, out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_size(path: Path, expected: int) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StoreError(f"Cannot read the vector index file {path}: {exc.strerror or exc}.",
                         fix=Fix.REBUILD_INDEX) from exc
    if size != expected:
        state = "truncated" if size < expected else "damaged (too long)"
        raise StoreError(f"The vector index file {path} is {state}: {size:,} bytes, {expected:,} expected.",
                         fix=Fix.REBUILD_INDEX)


def _damaged(path: Path, exc: BaseException) -> StoreError:
    return StoreError(f"The vector index file {path} is damaged ({type(exc).__name__}: {exc}).",
                      fix=Fix.REBUILD_INDEX)


def probes_for(generation: Generation, allowed: int) -> int:
    """How many lists a search restricted to `allowed` of the generation's vectors scans: more than the tuned
    nprobe when few pass, so that the lists scanned still hold about as many passing vectors."""
    nlist = int(generation.ivf.nlist)
    share = max(allowed, 1) / max(generation.count, 1)
    widened = math.ceil(generation.nprobe / math.sqrt(max(share, 1e-9)))
    return min(nlist, max(generation.nprobe, widened))
