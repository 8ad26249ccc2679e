"""Vector index: cosine similarity over unit vectors, keyed by paper id, exact when small, HNSW when large.

    index = VectorIndex(384, model="all-MiniLM-L6-v2/onnx-int8@0.1.0")
    index.add(["2503.11731", "hep-th/9901001"], vectors)      # upsert
    index.search(query_vector, 10)                            # [(id, cosine), ...] best first
    index.search(query_vector, 10, allowed={"2503.11731"})     # only these ids
    index.save(path); VectorIndex.load(path)

Below `exact_below` vectors the index is a numpy matrix searched by brute force, which is both exact and
faster there (measured: docs/benchmarks.md, "Vector index"). At that size it turns itself into a faiss
HNSW graph (`IndexHNSWFlat`, inner product); the vectors then live only inside faiss, so 1M x 384 costs
one copy of the matrix (1.5 GB) plus the graph (~0.15 GB), never two copies.

faiss cannot delete from an HNSW graph, so removing or replacing an id leaves a tombstone that searches
skip (a faiss `IDSelectorBitmap`); when tombstones pass a quarter of the live vectors the index is rebuilt
from the live ones.

Thread safety: any number of threads may search while one thread adds or removes (a readers-writer lock;
faiss releases the GIL while it searches, so concurrent searches use several cores).

Determinism: the graph is built with a fixed seed and, by default, one thread, so the same sequence of
calls gives the same graph and the same results. `threads=N` builds about N times faster but the graph
then depends on thread timing (results differ only within the recall of the ANN).
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from paperscope.errors import MissingExtraError, StoreError

__all__ = ["DEFAULT_EF_SEARCH", "DEFAULT_EXACT_BELOW", "FORMAT_VERSION", "VectorIndex"]

FloatMatrix = npt.NDArray[np.float32]

#: Below this many vectors, brute force is faster than the HNSW graph on this project's machine
#: (2 cores; measured with `python bench/bench_vector.py --crossover`, see docs/benchmarks.md).
DEFAULT_EXACT_BELOW: Final = 2500
#: HNSW parameters: M links per node, ef when building, ef when searching (recall against ef on
#: several data sets: docs/benchmarks.md; 128 gives 0.98-1.0 on embedding-like data at 0.3-0.6 ms).
DEFAULT_M: Final = 16
DEFAULT_EF_CONSTRUCTION: Final = 200
DEFAULT_EF_SEARCH: Final = 128
#: Rebuild the graph when tombstones exceed this fraction of the live vectors.
COMPACT_FRACTION: Final = 0.25
#: Adds into the graph go in chunks of this many, releasing the write lock between them (~0.3 s each).
ADD_CHUNK: Final = 1000
#: An over-fetch from the graph never asks for more than this; past it, a filtered search goes exact.
MAX_FETCH: Final = 4096

FORMAT_VERSION: Final = 1
_MAGIC: Final = b"PSVECIDX"
_PREAMBLE: Final = struct.Struct("<8sIQ")  # magic, format version, header length
_REBUILD: Final = "Rebuild it with `paperscope index --rebuild`."
_IO_CHUNK: Final = 1 << 24
_GATHER_BLOCK: Final = 1 << 22  # elements gathered at a time when scoring a subset


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a dependency
        raise MissingExtraError(
            "The vector index needs the package 'faiss-cpu', which is not installed. "
            "Install it with: pip install faiss-cpu"
        ) from exc
    return faiss


class _ReadWriteLock:
    """Many readers or one writer, taking turns: a waiting writer holds back new readers (so a stream of
    searches cannot starve an add), and the readers that waited go before the writer's next turn (so a
    long add, done in chunks, cannot starve searches)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._readers_waiting = 0
        self._readers_turn = False
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._readers_waiting += 1
            while self._writer or (self._writers_waiting and not self._readers_turn):
                self._cond.wait()
            self._readers_waiting -= 1
            if not self._readers_waiting:
                self._readers_turn = False
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers or self._readers_turn:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._readers_turn = self._readers_waiting > 0
                self._cond.notify_all()


class VectorIndex:
    """Cosine similarity search over unit vectors keyed by string ids (see the module docstring).

    `model` names what made the vectors (e.g. "all-MiniLM-L6-v2/onnx-int8@0.1.0"); it is saved with the
    index so that a caller can refuse to mix vectors of two models. `exact_below` is the size under which
    search is brute force; `ef_search` trades HNSW speed for recall; `threads` > 1 builds faster but not
    deterministically.
    """

    def __init__(self, dim: int, *, model: str | None = None, exact_below: int = DEFAULT_EXACT_BELOW,
                 m: int = DEFAULT_M, ef_construction: int = DEFAULT_EF_CONSTRUCTION,
                 ef_search: int = DEFAULT_EF_SEARCH, threads: int = 1) -> None:
        if dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = dim
        self.model = model
        self.exact_below = exact_below
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self.threads = max(1, threads)
        self._lock = _ReadWriteLock()  # searches read; a mutation's short critical sections write
        self._mutating = threading.RLock()  # one mutation (add, remove, compact, save) at a time
        # slot -> id (None: a tombstone in the graph); id -> slot
        self._ids: list[str | None] = []
        self._slots: dict[str, int] = {}
        # exact mode: rows [0, len(self._ids)) of this matrix, kept dense (no tombstones)
        self._matrix: FloatMatrix | None = np.empty((0, dim), dtype=np.float32)
        # HNSW mode: the faiss index (holding the vectors) and a bitmap of live slots
        self._hnsw: Any = None
        self._alive_bits = np.zeros(0, dtype=np.uint8)
        self._dead = 0

    # ------------------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self._slots

    @property
    def uses_ann(self) -> bool:
        """True when searches go through the HNSW graph, False when they are brute force."""
        return self._hnsw is not None

    def ids(self) -> list[str]:
        """The ids in the index, in no particular order."""
        with self._lock.read():
            return list(self._slots)

    def describe(self) -> str:
        mode = f"HNSW M={self.m} efC={self.ef_construction} ef={self.ef_search}" if self.uses_ann else "exact"
        return f"{mode}, exact below {self.exact_below:,}, build threads {self.threads}"

    def vector(self, paper_id: str) -> FloatMatrix | None:
        """A copy of the stored (unit) vector of `paper_id`, or None when it is not in the index."""
        with self._lock.read():
            slot = self._slots.get(paper_id)
            if slot is None:
                return None
            row: FloatMatrix = self._storage()[slot].copy()
            return row

    def search(self, query: npt.ArrayLike, k: int,
               allowed: Callable[[str], bool] | AbstractSet[str] | None = None) -> list[tuple[str, float]]:
        """The `k` ids nearest to `query` by cosine similarity, with their scores, best first.

        `allowed` restricts the results to a set of ids or to ids for which a predicate is true. A small
        set is searched exactly; otherwise the graph is asked for more candidates than `k` and filtered,
        asking for more until `k` pass or there are no more.
        """
        q = self._as_query(query)
        if k <= 0:
            return []
        with self._lock.read():
            if not self._slots:
                return []
            if isinstance(allowed, AbstractSet):
                return self._search_subset(q, k, allowed)
            if self._hnsw is None:
                return self._search_exact_all(q, k, allowed)
            return self._search_ann(q, k, allowed)

    # ------------------------------------------------------------------------------------------ updates

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add or replace the vectors of `ids` (normalised to unit length). A repeated id keeps its last."""
        matrix = self._as_matrix(vectors)
        if len(ids) != len(matrix):
            raise ValueError(f"got {len(ids)} ids for {len(matrix)} vectors")
        if not len(ids):
            return
        last: dict[str, int] = {}
        for row, paper_id in enumerate(ids):
            if not isinstance(paper_id, str):
                raise TypeError(f"ids must be strings, got {type(paper_id).__name__}")
            last[paper_id] = row
        if len(last) < len(ids):
            keep = np.fromiter(last.values(), dtype=np.int64, count=len(last))
            matrix, ids = matrix[keep], list(last)
        with self._mutating:
            # in chunks, so that searches get their turn during a long add into the graph
            for start in range(0, len(ids), ADD_CHUNK):
                with self._lock.write():
                    self._add_locked(ids[start:start + ADD_CHUNK], matrix[start:start + ADD_CHUNK])
            self._maybe_compact()

    def remove(self, ids: Iterable[str]) -> None:
        """Remove `ids` from the index; ids that are not in it are ignored."""
        if isinstance(ids, str):  # one id, not its characters
            ids = [ids]
        with self._mutating:
            with self._lock.write():
                self._remove_locked(ids)
            self._maybe_compact()

    def compact(self) -> None:
        """Rebuild without tombstones (done by itself when they pass a quarter of the live vectors).

        Searches go on while the new graph is built from the live vectors; for that time both the old and
        the new one are in memory."""
        with self._mutating:
            if self._dead:
                self._compact()

    # ------------------------------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to one file, atomically (a temporary file renamed over `path`)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._mutating:  # nothing changes while it is written; searches go on
            header = {
                "format": FORMAT_VERSION, "dim": self.dim, "model": self.model, "metric": "cosine",
                "mode": "hnsw" if self._hnsw is not None else "exact", "slots": len(self._ids),
                "exact_below": self.exact_below, "m": self.m, "ef_construction": self.ef_construction,
                "ef_search": self.ef_search, "threads": self.threads,
                "library": f"faiss-cpu {_faiss().__version__}" if self._hnsw is not None else "numpy",
            }
            ids_blob = json.dumps(self._ids, ensure_ascii=False).encode("utf-8")
            header["ids_bytes"] = len(ids_blob)
            header["ids_crc32"] = zlib.crc32(ids_blob)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    # the payload's length and checksum are known only once written: reserve, then patch
                    header_blob = self._header_blob(header, payload_bytes=0, payload_crc32=0)
                    out.write(_PREAMBLE.pack(_MAGIC, FORMAT_VERSION, len(header_blob)))
                    out.write(header_blob)
                    out.write(ids_blob)
                    writer = _ChecksumWriter(out)
                    if self._hnsw is None:
                        storage, step = self._storage(), self._rows_per_chunk()
                        for start in range(0, len(storage), step):
                            writer.write(np.ascontiguousarray(storage[start:start + step], dtype="<f4").tobytes())
                    else:
                        faiss = _faiss()
                        faiss.write_index(self._hnsw, faiss.PyCallbackIOWriter(writer.write))
                    patched = self._header_blob(header, payload_bytes=writer.length, payload_crc32=writer.crc)
                    out.seek(0)
                    out.write(_PREAMBLE.pack(_MAGIC, FORMAT_VERSION, len(patched)))
                    out.write(patched)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp_name, target)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, dim: int | None = None,
             model: str | None = None) -> VectorIndex:
        """Read an index written by `save`. A missing, damaged or incompatible file raises StoreError, and
        so does one whose vectors are not of `dim` dimensions or not made by `model`, when those are given."""
        source = Path(path)
        try:
            handle = source.open("rb")
        except OSError as exc:
            raise StoreError(f"Cannot read the vector index {source}: {exc.strerror or exc}. {_REBUILD}") from exc
        with handle:
            try:
                index = cls._read(handle)
                if dim is not None and index.dim != dim:
                    raise StoreError(f"holds vectors of {index.dim} dimensions, not {dim} as expected.")
                if model is not None and index.model != model:
                    raise StoreError(f"was built from the model {index.model!r}, not {model!r}; "
                                     "vectors of two models are never mixed.")
                return index
            except StoreError as exc:
                raise StoreError(f"The vector index {source} {exc} {_REBUILD}") from None
            except Exception as exc:  # anything a damaged file can make numpy, json or faiss raise
                raise StoreError(f"The vector index {source} is damaged ({type(exc).__name__}: {exc}). "
                                 f"{_REBUILD}") from exc

    # ------------------------------------------------------------------------------------------ internals

    def _as_matrix(self, vectors: npt.ArrayLike) -> FloatMatrix:
        matrix = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"vectors must have dimension {self.dim}, got shape {matrix.shape}")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise ValueError("vectors must be finite and non-zero")
        matrix /= norms
        return matrix

    def _as_query(self, query: npt.ArrayLike) -> FloatMatrix:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"the query must have dimension {self.dim}, got {q.shape[0]}")
        norm = float(np.linalg.norm(q))
        if not math.isfinite(norm) or norm == 0:
            raise ValueError("the query vector must be finite and non-zero")
        return q / np.float32(norm)

    @staticmethod
    def _grow(matrix: FloatMatrix | None, rows: int) -> FloatMatrix:
        assert matrix is not None
        if rows <= len(matrix):
            return matrix
        grown = np.empty((max(rows, 2 * len(matrix), 64), matrix.shape[1]), dtype=np.float32)
        grown[: len(matrix)] = matrix
        return grown

    def _storage(self) -> FloatMatrix:
        """The vectors of all slots, without a copy: the numpy matrix, or a view of faiss's storage."""
        if self._hnsw is None:
            assert self._matrix is not None
            return self._matrix[: len(self._ids)]
        faiss = _faiss()
        ntotal = int(self._hnsw.ntotal)
        if not ntotal:
            return np.empty((0, self.dim), dtype=np.float32)
        flat = faiss.rev_swig_ptr(faiss.downcast_index(self._hnsw.storage).get_xb(), ntotal * self.dim)
        return flat.reshape(ntotal, self.dim)  # type: ignore[no-any-return]

    def _rows_per_chunk(self) -> int:
        return max(1, _IO_CHUNK // (4 * self.dim))

    def _rows_per_block(self) -> int:
        return max(64, _GATHER_BLOCK // self.dim)

    def _top(self, scores: FloatMatrix, slots: npt.NDArray[np.int64] | None, k: int) -> list[tuple[str, float]]:
        """The best `k` of `scores` (for `slots`, or for slots 0..n-1), ties broken by slot."""
        part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        order = part[np.lexsort((part, -scores[part]))]
        chosen = order if slots is None else slots[order]
        ids = self._ids
        return [(ids[int(s)], float(scores[int(o)])) for s, o in zip(chosen, order, strict=True)]  # type: ignore[misc]

    def _search_exact_all(self, q: FloatMatrix, k: int,
                          allowed: Callable[[str], bool] | None) -> list[tuple[str, float]]:
        if allowed is None and self._hnsw is None:  # the dense matrix: every row is live
            return self._top(_dot(self._storage(), q), None, k)
        slots = np.fromiter((s for i, s in self._slots.items() if allowed is None or allowed(i)), dtype=np.int64)
        slots.sort()
        return self._exact_over(q, k, slots)

    def _exact_over(self, q: FloatMatrix, k: int, slots: npt.NDArray[np.int64]) -> list[tuple[str, float]]:
        if not len(slots):
            return []
        storage = self._storage()
        scores = np.empty(len(slots), dtype=np.float32)
        step = self._rows_per_block()
        for start in range(0, len(slots), step):  # gather a block at a time: bounded extra memory
            scores[start:start + step] = _dot(storage[slots[start:start + step]], q)
        return self._top(scores, slots, k)

    def _search_subset(self, q: FloatMatrix, k: int, allowed: AbstractSet[str]) -> list[tuple[str, float]]:
        fraction = min(1.0, len(allowed) / len(self._slots))
        if (self._hnsw is not None and len(allowed) > self.exact_below
                and self._expected_fetch(k, fraction) <= MAX_FETCH):
            return self._search_ann(q, k, allowed.__contains__, fraction)
        # few enough to score them all (and always in exact mode, where they are a subset of the matrix)
        slots = np.fromiter((s for s in map(self._slots.get, allowed) if s is not None), dtype=np.int64)
        slots.sort()
        return self._exact_over(q, k, slots)

    @staticmethod
    def _expected_fetch(k: int, fraction: float) -> int:
        return math.ceil(1.5 * k / max(fraction, 1e-9)) + k

    def _search_ann(self, q: FloatMatrix, k: int, allowed: Callable[[str], bool] | None,
                    fraction: float = 1.0) -> list[tuple[str, float]]:
        live = len(self._slots)
        fetch = min(live, k if allowed is None else max(2 * k, self._expected_fetch(k, fraction)))
        while True:
            slots, scores = self._hnsw_search(q, fetch)
            results: list[tuple[str, float]] = []
            for slot, score in zip(slots.tolist(), scores.tolist(), strict=True):
                paper_id = self._ids[slot] if slot >= 0 else None
                if paper_id is not None and (allowed is None or allowed(paper_id)):
                    results.append((paper_id, float(score)))
            if len(results) >= k or fetch >= live:
                return results[:k]
            if fetch >= MAX_FETCH:  # the graph would be slower than scanning: go exact over what passes
                return self._search_exact_all(q, k, allowed)
            fetch = min(live, MAX_FETCH, fetch * 4)

    def _hnsw_search(self, q: FloatMatrix, fetch: int) -> tuple[npt.NDArray[np.int64], FloatMatrix]:
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, fetch)
        selector = None
        if self._dead:
            selector = faiss.IDSelectorBitmap(len(self._alive_bits), faiss.swig_ptr(self._alive_bits))
            params.sel = selector
        scores, labels = self._hnsw.search(q[None, :], fetch, params=params)
        del selector
        return labels[0], scores[0]

    def _hnsw_add(self, matrix: FloatMatrix, graph: Any = None) -> None:
        faiss = _faiss()
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.threads)
        try:
            (self._hnsw if graph is None else graph).add(np.ascontiguousarray(matrix))
        finally:
            faiss.omp_set_num_threads(before)

    def _new_hnsw(self) -> Any:
        faiss = _faiss()
        index = faiss.IndexHNSWFlat(self.dim, self.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self.ef_search
        return index

    def _to_hnsw(self) -> None:
        """Exact -> HNSW: move the matrix into a new graph, then drop the matrix (one copy at a time)."""
        assert self._matrix is not None
        self._hnsw = self._new_hnsw()
        n = len(self._ids)
        if n:
            self._hnsw_add(self._matrix[:n])
        self._matrix = None
        self._alive_bits = np.zeros(0, dtype=np.uint8)
        self._set_alive(np.arange(n), True)

    def _set_alive(self, slots: npt.NDArray[np.int64], alive: bool) -> None:
        if not len(slots):
            return
        needed = (int(slots.max()) + 8) // 8
        if needed > len(self._alive_bits):
            grown = np.zeros(max(needed, 2 * len(self._alive_bits)), dtype=np.uint8)
            grown[: len(self._alive_bits)] = self._alive_bits
            self._alive_bits = grown
        masks = (1 << (slots & 7)).astype(np.uint8)
        if alive:
            np.bitwise_or.at(self._alive_bits, slots >> 3, masks)
        else:
            np.bitwise_and.at(self._alive_bits, slots >> 3, ~masks)

    def _add_locked(self, ids: Sequence[str], matrix: FloatMatrix) -> None:
        self._remove_locked(ids)
        if self._hnsw is None and len(self._ids) + len(ids) >= self.exact_below:
            self._to_hnsw()
        start = len(self._ids)
        if self._hnsw is None:
            self._matrix = self._grow(self._matrix, start + len(ids))
            self._matrix[start:start + len(ids)] = matrix
        else:
            self._hnsw_add(matrix)
            self._set_alive(np.arange(start, start + len(ids)), True)
        self._ids.extend(ids)
        self._slots.update(zip(ids, range(start, start + len(ids)), strict=True))

    def _remove_locked(self, ids: Iterable[str]) -> None:
        slots = [s for s in (self._slots.pop(i, None) for i in ids) if s is not None]
        if not slots:
            return
        if self._hnsw is not None:
            for slot in slots:
                self._ids[slot] = None
            self._set_alive(np.array(slots, dtype=np.int64), False)
            self._dead += len(slots)
            return
        # exact mode: fill each hole with the last row, so the matrix stays dense
        assert self._matrix is not None
        for slot in sorted(slots, reverse=True):
            last = len(self._ids) - 1
            if slot != last:
                moved = self._ids[last]
                assert moved is not None
                self._matrix[slot] = self._matrix[last]
                self._ids[slot] = moved
                self._slots[moved] = slot
            self._ids.pop()

    def _maybe_compact(self) -> None:
        if self._hnsw is not None and self._dead > max(64, COMPACT_FRACTION * len(self._slots)):
            self._compact()

    def _compact(self) -> None:
        """Rebuild without tombstones: back to exact below the threshold, else a fresh graph.

        Called holding `_mutating` only, so nothing changes underneath while the new structure is built
        from the old one and searches still use the old one; the swap takes the write lock briefly."""
        live_slots = np.array(sorted(self._slots.values()), dtype=np.int64)
        ids: list[str | None] = [self._ids[s] for s in live_slots]
        storage = self._storage()
        if len(ids) < self.exact_below:
            matrix: FloatMatrix | None = np.ascontiguousarray(storage[live_slots])
            graph = None
        else:
            matrix, graph = None, self._new_hnsw()
            for start in range(0, len(live_slots), ADD_CHUNK):
                self._hnsw_add(np.ascontiguousarray(storage[live_slots[start:start + ADD_CHUNK]]), graph)
        slots = {i: s for s, i in enumerate(ids) if i is not None}
        with self._lock.write():
            self._matrix, self._hnsw, self._ids, self._slots, self._dead = matrix, graph, ids, slots, 0
            self._alive_bits = np.zeros(0, dtype=np.uint8)
            if graph is not None:
                self._set_alive(np.arange(len(ids)), True)

    @staticmethod
    def _header_blob(header: dict[str, Any], payload_bytes: int, payload_crc32: int) -> bytes:
        # fixed-width numbers, so that patching them after the payload keeps the header's length
        full = dict(header, payload_bytes=f"{payload_bytes:020d}", payload_crc32=f"{payload_crc32:010d}")
        return json.dumps(full, sort_keys=True).encode("utf-8")

    @classmethod
    def _read(cls, handle: IO[bytes]) -> VectorIndex:
        preamble = handle.read(_PREAMBLE.size)
        if len(preamble) < _PREAMBLE.size or preamble[:8] != _MAGIC:
            raise StoreError("is not a paperscope vector index (or is empty).")
        _, version, header_len = _PREAMBLE.unpack(preamble)
        if version != FORMAT_VERSION:
            raise StoreError(f"has format version {version}; this paperscope reads version {FORMAT_VERSION}.")
        if header_len > 1 << 20:
            raise StoreError("has a damaged header.")
        header = json.loads(_read_exactly(handle, header_len))
        ids_blob = _read_exactly(handle, int(header["ids_bytes"]))
        if zlib.crc32(ids_blob) != int(header["ids_crc32"]):
            raise StoreError("is damaged (the id list fails its checksum).")
        ids: list[str | None] = json.loads(ids_blob)
        if len(ids) != int(header["slots"]):
            raise StoreError("is damaged (the id list has the wrong length).")
        index = cls(int(header["dim"]), model=header["model"], exact_below=int(header["exact_below"]),
                    m=int(header["m"]), ef_construction=int(header["ef_construction"]),
                    ef_search=int(header["ef_search"]), threads=int(header["threads"]))
        payload_bytes, payload_start = int(header["payload_bytes"]), handle.tell()
        # checksum first, so that a damaged file never reaches faiss's parser
        crc, remaining = 0, payload_bytes
        while remaining:
            chunk = _read_exactly(handle, min(remaining, _IO_CHUNK))
            crc, remaining = zlib.crc32(chunk, crc), remaining - len(chunk)
        if handle.read(1):
            raise StoreError("is damaged (unexpected length).")
        if crc != int(header["payload_crc32"]):
            raise StoreError("is damaged (the vectors fail their checksum).")
        if header["mode"] not in ("exact", "hnsw"):
            raise StoreError(f"has an unknown layout {header['mode']!r}.")
        handle.seek(payload_start)
        reader = _PayloadReader(handle, payload_bytes)
        if header["mode"] == "exact":
            raw = reader.read(len(ids) * index.dim * 4)
            index._matrix = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(len(ids), index.dim)
        else:
            faiss = _faiss()
            graph = faiss.read_index(faiss.PyCallbackIOReader(reader.read))
            if graph.ntotal != len(ids) or graph.d != index.dim:
                raise StoreError("is damaged (the graph does not match the id list).")
            graph.hnsw.efSearch = index.ef_search
            index._hnsw, index._matrix = graph, None
        if reader.remaining:
            raise StoreError("is damaged (unexpected length).")
        index._ids = ids
        index._slots = {i: s for s, i in enumerate(ids) if i is not None}
        if index._hnsw is not None:
            index._set_alive(np.array(sorted(index._slots.values()), dtype=np.int64), True)
            index._dead = len(ids) - len(index._slots)
        return index


def _dot(matrix: FloatMatrix, q: FloatMatrix) -> FloatMatrix:
    """`matrix @ q` on this thread. Not BLAS: OpenBLAS fans a matrix-vector product out to its threads,
    which was measured to stall for ~8 ms per call (against ~0.1 ms for 5,000 x 384) whenever the cores
    are busy, as they are with concurrent requests or an embedding job. einsum's own SIMD loop never does."""
    scores: FloatMatrix = np.einsum("ij,j->i", matrix, q)
    return scores


def _read_exactly(handle: IO[bytes], size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise StoreError("is truncated.")
    return data


class _ChecksumWriter:
    """A write callback for faiss that counts and checksums what it writes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.length, self.crc = out, 0, 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.length += len(data)
        self.crc = zlib.crc32(data, self.crc)
        return len(data)


class _PayloadReader:
    """A read callback for faiss over the payload only: it refuses to read past it."""

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self.handle, self.remaining = handle, length

    def read(self, size: int) -> bytes:
        if size > self.remaining:
            raise StoreError("is truncated.")
        data = _read_exactly(self.handle, size)
        self.remaining -= size
        return data
