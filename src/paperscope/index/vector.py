"""Vector index: cosine similarity over unit vectors, keyed by paper id, exact when small, IVF when large.

    index = VectorIndex(384, model="all-MiniLM-L6-v2/onnx-int8@0.1.0")
    index.add(["2503.11731", "hep-th/9901001"], vectors)      # upsert
    index.search(query_vector, 10)                            # [(id, cosine), ...] best first
    index.search(query_vector, 10, allowed={"2503.11731"})     # only these ids
    index.save(path); VectorIndex.load(path)

Below `exact_below` vectors the index is a numpy matrix searched by brute force, which is exact and, at
that size, costs about a millisecond (measured: docs/benchmarks.md, "Vector index"). Reaching it, the index
becomes a faiss inverted file (`IndexIVFFlat`, inner product): k-means splits the vectors into `nlist` lists around
centroids, and a query scans only the `nprobe` lists whose centroids are nearest. The vectors are kept
uncompressed (scores are exact cosines) and only inside faiss: 1M x 384 costs one copy, 1.5 GB.

Why IVF and not an HNSW graph: on a million real embeddings replicated with noise, faiss HNSW found 0.48
of the true top 10 (greedy walks get caught among islands of near-copies); IVF found 0.97 at 1.7 ms, built
30 times faster, and can delete for real.

Sizes: `nlist` = 4 * sqrt(n) lists (fewer when that would leave under 39 training points a list), trained on
a sample of up to 64 vectors a list. `nprobe` is measured on the data at each training, since how many lists
a query must scan depends on how clustered the vectors are (from 1/128 of them to 1/8 on the benchmarks'
sets): 256 probe queries (midpoints of two stored vectors) are searched, and the fewest lists at which they
find 97 % of their 10 true nearest neighbours (scanning every list gives the truth) is kept, but never
fewer than max(64, nlist / 32): real text queries were measured to need up to ~50 lists on sets where
probes made from stored vectors needed far fewer. New vectors go to the list of their nearest centroid. Centroids fit
the vectors they were trained on, so the rule is: **when the index has grown to 4 times (or shrunk to a
quarter of) the size it was trained at, it is retrained**: new centroids from a sample of the live vectors,
every vector moved into the new lists (both are in memory for that time). Below half of `exact_below` it
returns to the exact matrix. A bulk load (`add_many`, which building the index from the store uses) is retrained
once at the end instead, on a sample of everything:
vectors read in id order are no sample of the whole (on the 1M benchmark set, centroids trained on the
first third of the ids cost 5 points of recall).

Removing or replacing an id removes its vector from faiss (through faiss's id -> list position hash map);
its slot number is reused by a later add.

Past `PAPERSCOPE_VECTOR_COMPRESS_ABOVE` vectors the search engine keeps a `CompressedVectorIndex` instead
(index/vector_compressed.py: compressed codes and float16 vectors in files every process maps, shared), with a
`VectorIndex` as its small in-memory delta.

Thread safety: none of its own. Its owner serialises the calls: `index.search.SearchEngine` reaches it only
under the engine's one lock (docs/decisions/0021-one-lock-strategy-for-search.md).

Determinism: training samples with a fixed seed and k-means has a fixed seed; with the default of one
thread the same sequence of calls gives the same lists and the same results. `threads=N` trains and adds
faster, but the lists may then depend on thread timing (results differ only within the recall of the IVF).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from paperscope.errors import Fix, StoreError
from paperscope.index.vector_file import FORMAT_VERSION, IO_CHUNK, open_payload, read_header, write_index_file
from paperscope.index.vector_ivf import (
    TARGET_RECALL,
    TRAIN_PER_LIST,
    TUNE_QUERIES,
    default_nlist,
    load_faiss,
    tune_nprobe,
)

__all__ = ["DEFAULT_EXACT_BELOW", "FORMAT_VERSION", "RETRAIN_FACTOR", "TARGET_RECALL", "VectorIndex",
           "default_nlist", "dot_rows", "slot_bitmap"]

FloatMatrix = npt.NDArray[np.float32]
Slots = npt.NDArray[np.int64]

#: Below this many vectors search is exact: it costs about 1 ms there, and the inverted file, faster from
#: ~2,000 vectors, would give up 2-3 % of recall to save less than that (`python bench/bench_vector.py
#: --crossover`, docs/benchmarks.md); it is also where 4 sqrt(n) lists first get 39 training points each.
DEFAULT_EXACT_BELOW: Final = 20_000
#: Retrain when the index holds this many times more (or fewer) vectors than it was trained on.
RETRAIN_FACTOR: Final = 4
#: Adds go in chunks of this many; the size rules (switch to the inverted file, retrain) are checked after each.
ADD_CHUNK: Final = 1000
#: Scoring one gathered vector costs about this many scanned ones (it is fetched through faiss's hash map).
GATHER_COST: Final = 2

_GATHER_BLOCK: Final = 1 << 22  # elements gathered at a time when scoring a subset
_SEED: Final = 20240611


class VectorIndex:
    """Cosine similarity search over unit vectors keyed by string ids (see the module docstring).

    `model` names what made the vectors (e.g. "all-MiniLM-L6-v2/onnx-int8@0.1.0"); it is saved with the
    index so that a caller can refuse to mix vectors of two models. `exact_below` is the size under which
    search is brute force; `nprobe` (None: the value tuned at training, see the module docstring) trades
    IVF speed for recall and can be changed at any time; `threads` > 1 trains and adds faster but not deterministically.
    """

    def __init__(self, dim: int, *, model: str | None = None, exact_below: int = DEFAULT_EXACT_BELOW,
                 nprobe: int | None = None, threads: int = 1) -> None:
        if dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = dim
        self.model = model
        self.exact_below = exact_below
        self.nprobe = nprobe
        self.threads = max(1, threads)
        # slot -> id (None: a free slot, IVF only); id -> slot. A slot is the vector's id inside faiss.
        self._ids: list[str | None] = []
        self._slots: dict[str, int] = {}
        self._free: list[int] = []
        # exact mode: rows [0, len(self._ids)) of this matrix, kept dense (no free slots)
        self._matrix: FloatMatrix | None = np.empty((0, dim), dtype=np.float32)
        # IVF mode: the faiss index, holding the vectors, and the size it was trained at
        self._ivf: Any = None
        self._trained_on = 0
        self._tuned_nprobe = 1
        self._bulk = False  # inside add_many: no retraining on the way

    # ------------------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self._slots

    @property
    def uses_ann(self) -> bool:
        """True when searches go through the inverted file, False when they are brute force."""
        return self._ivf is not None

    @property
    def nlist(self) -> int:
        """The number of IVF lists (0 in exact mode)."""
        return int(self._ivf.nlist) if self._ivf is not None else 0

    @property
    def probes(self) -> int:
        """How many lists a search scans: `nprobe` when set, else the value tuned at training (0 in exact mode)."""
        return min(self.nlist, self.nprobe or self._tuned_nprobe)

    @property
    def trained_on(self) -> int:
        """How many vectors the IVF centroids were trained at (0 in exact mode)."""
        return self._trained_on

    def ids(self) -> list[str]:
        """The ids in the index, in no particular order."""
        return list(self._slots)

    def describe(self) -> str:
        if self._ivf is None:
            return f"exact, IVF from {self.exact_below:,} vectors"
        return (f"IVF-Flat nlist={self.nlist:,} nprobe={self.probes} trained at {self._trained_on:,}, "
                f"exact below {self.exact_below:,}")

    def vector(self, paper_id: str) -> FloatMatrix | None:
        """A copy of the stored (unit) vector of `paper_id`, or None when it is not in the index."""
        slot = self._slots.get(paper_id)
        if slot is None:
            return None
        row: FloatMatrix = self._gather(np.array([slot], dtype=np.int64))[0]
        return row

    def search(self, query: npt.ArrayLike, k: int,
               allowed: AbstractSet[str] | None = None) -> list[tuple[str, float]]:
        """The `k` ids nearest to `query` by cosine similarity, with their scores, best first.

        `allowed` restricts the results to a set of ids: a set small against what a search scans is
        scored exactly; a larger one is passed to faiss, which skips the other ids as it scans the lists.
        """
        q = self._as_query(query)
        if k <= 0:
            return []
        if not self._slots:
            return []
        if allowed is None:
            if self._ivf is None:
                return self._top(dot_rows(self._dense(), q), None, k)
            return self._search_ivf(q, k, None, len(self._slots))
        slots = np.fromiter((s for s in map(self._slots.get, allowed) if s is not None), dtype=np.int64)
        if not len(slots):
            return []
        slots.sort()
        if self._ivf is None or GATHER_COST * len(slots) <= self._scan_size(self._probes_for(k, len(slots))):
            return self._exact_over(q, k, slots)
        return self._search_ivf(q, k, slots, len(slots))

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
        for start in range(0, len(ids), ADD_CHUNK):
            self._add_chunk(ids[start:start + ADD_CHUNK], matrix[start:start + ADD_CHUNK])
            self._maybe_rebuild()

    def add_many(self, batches: Iterable[tuple[Sequence[str], npt.ArrayLike]]) -> int:
        """Add batches of (ids, vectors) as `add` does, for a bulk load (a build from the store); returns how
        many vectors came. The IVF is not retrained on the way as it grows; when the batches more than doubled
        the index, it is retrained once at the end if it was trained on fewer than half of what it then holds
        (otherwise the usual rule applies): batches that come in id or date order are no
        sample of the whole, and centroids trained on the first part of them fit the rest badly."""
        count = 0
        before = len(self._slots)
        self._bulk = True
        try:
            for ids, vectors in batches:
                self.add(ids, vectors)
                count += len(ids)
        finally:
            self._bulk = False
        if self._ivf is not None and count > before and 2 * self._trained_on < len(self._slots):
            self._rebuild(ivf=True)
        else:
            self._maybe_rebuild()
        return count

    def remove(self, ids: Iterable[str]) -> None:
        """Remove `ids` from the index; ids that are not in it are ignored."""
        if isinstance(ids, str):  # one id, not its characters
            ids = [ids]
        self._remove_ids(ids)
        self._maybe_rebuild()

    def retrain(self) -> None:
        """Train new IVF centroids on the live vectors now and move every vector into the new lists
        (done by itself when the size has changed by RETRAIN_FACTOR since training)."""
        if self._ivf is not None and self._slots:
            self._rebuild(ivf=True)

    # ------------------------------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to one file, atomically (a temporary file renamed over `path`)."""
        target = Path(path)
        header = {
            "dim": self.dim, "model": self.model, "metric": "cosine",
            "mode": "ivf" if self._ivf is not None else "exact", "slots": len(self._ids),
            "exact_below": self.exact_below, "nprobe": self.nprobe, "threads": self.threads,
            "trained_on": self._trained_on, "tuned_nprobe": self._tuned_nprobe,
            "library": f"faiss-cpu {load_faiss().__version__}" if self._ivf is not None else "numpy",
        }
        write_index_file(target, header, self._ids, self._write_payload)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, dim: int | None = None,
             model: str | None = None) -> VectorIndex:
        """Read an index written by `save`. A missing, damaged or incompatible file raises StoreError, and
        so does one whose vectors are not of `dim` dimensions or not made by `model`, when those are given."""
        source = Path(path)
        try:
            handle = source.open("rb")
        except OSError as exc:
            raise StoreError(f"Cannot read the vector index {source}: {exc.strerror or exc}.",
                             fix=Fix.REBUILD_INDEX) from exc
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
                raise StoreError(f"The vector index {source} {exc}", fix=Fix.REBUILD_INDEX) from None
            except Exception as exc:  # anything a damaged file can make numpy, json or faiss raise
                raise StoreError(f"The vector index {source} is damaged ({type(exc).__name__}: {exc}).",
                                 fix=Fix.REBUILD_INDEX) from exc

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

    def _dense(self) -> FloatMatrix:
        """Exact mode: the live rows of the matrix, without a copy."""
        assert self._matrix is not None
        return self._matrix[: len(self._ids)]

    def _gather(self, slots: Slots) -> FloatMatrix:
        """A copy of the vectors of `slots` (which must be live)."""
        if self._ivf is None:
            return self._dense()[slots]
        gathered: FloatMatrix = self._ivf.reconstruct_batch(slots)
        return gathered

    def _rows_per_chunk(self) -> int:
        return max(1, IO_CHUNK // (4 * self.dim))

    def _rows_per_block(self) -> int:
        return max(64, _GATHER_BLOCK // self.dim)


    def _probes_for(self, k: int, candidates: int) -> int:
        """Lists to scan so that `candidates` ids spread evenly over the lists would yield about 2k."""
        nlist = self.nlist
        return min(nlist, max(self.probes, math.ceil(2 * k * nlist / candidates)))

    def _scan_size(self, probes: int) -> int:
        """About how many vectors an IVF search that scans `probes` lists scores (centroids included)."""
        return self.nlist + len(self._slots) * probes // max(1, self.nlist)

    def _top(self, scores: FloatMatrix, slots: Slots | None, k: int) -> list[tuple[str, float]]:
        """The best `k` of `scores` (for `slots`, or for slots 0..n-1), ties broken by slot."""
        part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        order = part[np.lexsort((part, -scores[part]))]
        chosen = order if slots is None else slots[order]
        ids = self._ids
        return [(ids[int(s)], float(scores[int(o)])) for s, o in zip(chosen, order, strict=True)]  # type: ignore[misc]

    def _exact_over(self, q: FloatMatrix, k: int, slots: Slots) -> list[tuple[str, float]]:
        scores = np.empty(len(slots), dtype=np.float32)
        step = self._rows_per_block()
        for start in range(0, len(slots), step):  # gather a block at a time: bounded extra memory
            scores[start:start + step] = dot_rows(self._gather(slots[start:start + step]), q)
        return self._top(scores, slots, k)

    def _search_ivf(self, q: FloatMatrix, k: int, slots: Slots | None, candidates: int) -> list[tuple[str, float]]:
        """Scan the nearest lists; when they hold fewer than `k` (allowed) vectors, scan 4 times as many."""
        faiss = load_faiss()
        params = faiss.SearchParametersIVF()
        selector = bitmap = None
        if slots is not None:
            bitmap = slot_bitmap(slots, len(self._ids))
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
            params.sel = selector
        nlist, wanted = self.nlist, min(k, candidates)
        probes = self.probes if slots is None else self._probes_for(k, candidates)
        while True:
            params.nprobe = probes
            scores, labels = self._ivf.search(q[None, :], k, params=params)
            found = labels[0] >= 0
            if found.sum() >= wanted or probes >= nlist:
                break
            probes = min(nlist, probes * 4)
        del selector, bitmap  # faiss holds raw pointers into them until here
        ids = self._ids
        return [(ids[slot], score)
                for slot, score in zip(labels[0][found].tolist(), scores[0][found].tolist(), strict=True)]

    def _with_threads(self, work: Any, *args: Any) -> Any:
        faiss = load_faiss()
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.threads)
        try:
            return work(*args)
        finally:
            faiss.omp_set_num_threads(before)

    def _add_chunk(self, ids: Sequence[str], matrix: FloatMatrix) -> None:
        self._remove_ids(ids)
        if self._ivf is None:
            start = len(self._ids)
            self._matrix = self._grow(self._matrix, start + len(ids))
            self._matrix[start:start + len(ids)] = matrix
            self._ids.extend(ids)
            self._slots.update(zip(ids, range(start, start + len(ids)), strict=True))
            return
        reused = [self._free.pop() for _ in range(min(len(ids), len(self._free)))]
        fresh = range(len(self._ids), len(self._ids) + len(ids) - len(reused))
        self._ids.extend([None] * len(fresh))
        slots = np.array([*reused, *fresh], dtype=np.int64)
        self._with_threads(self._ivf.add_with_ids, np.ascontiguousarray(matrix), slots)
        for paper_id, slot in zip(ids, slots.tolist(), strict=True):
            self._ids[slot] = paper_id
            self._slots[paper_id] = slot

    def _remove_ids(self, ids: Iterable[str]) -> None:
        slots = [s for s in (self._slots.pop(i, None) for i in ids) if s is not None]
        if not slots:
            return
        if self._ivf is not None:
            gone = np.array(slots, dtype=np.int64)
            removed = self._ivf.remove_ids(load_faiss().IDSelectorArray(gone))
            assert removed == len(slots), (removed, len(slots))
            for slot in slots:
                self._ids[slot] = None
            self._free.extend(slots)
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

    def _maybe_rebuild(self) -> None:
        """The rule of the module docstring: exact -> IVF at `exact_below`, back below half of it, and
        retraining when the size has changed by RETRAIN_FACTOR since the last training."""
        n = len(self._slots)
        if self._ivf is None:
            if n and n >= self.exact_below:
                self._rebuild(ivf=True)
        elif not n or n < self.exact_below // 2:
            self._rebuild(ivf=False)
        elif not self._bulk and (n > RETRAIN_FACTOR * self._trained_on or RETRAIN_FACTOR * n < self._trained_on):
            self._rebuild(ivf=True)

    def _live(self) -> Iterator[tuple[Slots, FloatMatrix]]:
        """The live slots and their vectors, a block at a time (views where possible, no full copy)."""
        if self._ivf is None:
            dense = self._dense()
            step = self._rows_per_chunk()
            for start in range(0, len(dense), step):
                yield np.arange(start, min(start + step, len(dense)), dtype=np.int64), dense[start:start + step]
            return
        faiss = load_faiss()
        lists = self._ivf.invlists
        for number in range(self._ivf.nlist):
            size = lists.list_size(number)
            if size:
                slots = faiss.rev_swig_ptr(lists.get_ids(number), size)
                codes = faiss.rev_swig_ptr(lists.get_codes(number), size * self.dim * 4)
                yield slots, codes.view(np.float32).reshape(size, self.dim)

    def _rebuild(self, *, ivf: bool) -> None:
        """Build the other structure from the live vectors: a freshly trained inverted file, or the dense
        matrix; the new one replaces the old when it is complete."""
        n = len(self._slots)
        if not ivf:
            matrix = np.empty((n, self.dim), dtype=np.float32)
            ids: list[str | None] = []
            for slots, vectors in self._live():
                matrix[len(ids):len(ids) + len(slots)] = vectors
                ids.extend(self._ids[s] for s in slots.tolist())
            self._matrix, self._ivf, self._trained_on = matrix, None, 0
            self._ids, self._free = ids, []
            self._slots = {i: s for s, i in enumerate(ids)}  # type: ignore[misc]
            return
        faiss = load_faiss()
        nlist = default_nlist(n)
        live = np.array(sorted(self._slots.values()), dtype=np.int64)
        rng = np.random.default_rng(_SEED)
        sample = np.sort(rng.choice(live, min(n, TRAIN_PER_LIST * nlist), replace=False))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = _SEED
        index.cp.max_points_per_centroid = TRAIN_PER_LIST  # already sampled: no second sample, no message
        training = np.ascontiguousarray(self._gather(sample))
        self._with_threads(index.train, training)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        for slots, vectors in self._live():
            self._with_threads(index.add_with_ids, np.ascontiguousarray(vectors), np.array(slots, dtype=np.int64))
        pairs = rng.integers(0, len(sample), (2, TUNE_QUERIES))
        tuned = self._with_threads(tune_nprobe, index, training[pairs[0]] + training[pairs[1]])
        self._matrix, self._ivf, self._trained_on, self._tuned_nprobe = None, index, n, tuned

    def _write_payload(self, write: Callable[[bytes], int]) -> None:
        """The vectors as the file holds them: float32 rows in exact mode, the faiss index in IVF mode."""
        if self._ivf is None:
            storage, step = self._dense(), self._rows_per_chunk()
            for start in range(0, len(storage), step):
                write(np.ascontiguousarray(storage[start:start + step], dtype="<f4").tobytes())
        else:
            faiss = load_faiss()
            faiss.write_index(self._ivf, faiss.PyCallbackIOWriter(write))

    @classmethod
    def _read(cls, handle: IO[bytes]) -> VectorIndex:
        header, ids = read_header(handle)
        nprobe = header["nprobe"]
        index = cls(int(header["dim"]), model=header["model"], exact_below=int(header["exact_below"]),
                    nprobe=int(nprobe) if nprobe else None, threads=int(header["threads"]))
        reader = open_payload(handle, header)
        if header["mode"] not in ("exact", "ivf"):
            raise StoreError(f"has an unknown layout {header['mode']!r}.")
        live = sum(i is not None for i in ids)
        if header["mode"] == "exact":
            if live != len(ids):
                raise StoreError("is damaged (free slots in an exact index).")
            raw = reader.read(len(ids) * index.dim * 4)
            index._matrix = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(len(ids), index.dim)
        else:
            faiss = load_faiss()
            ivf = faiss.read_index(faiss.PyCallbackIOReader(reader.read))
            if (not isinstance(ivf, faiss.IndexIVFFlat) or ivf.ntotal != live or ivf.d != index.dim
                    or ivf.direct_map.type != faiss.DirectMap.Hashtable):
                raise StoreError("is damaged (the inverted file does not match the id list).")
            index._ivf, index._matrix = ivf, None
            index._trained_on = int(header["trained_on"])
            index._tuned_nprobe = int(header["tuned_nprobe"])
            index._free = [s for s, i in enumerate(ids) if i is None]
        if reader.remaining:
            raise StoreError("is damaged (unexpected length).")
        index._ids = ids
        index._slots = {i: s for s, i in enumerate(ids) if i is not None}
        return index


def slot_bitmap(slots: Slots, size: int) -> npt.NDArray[np.uint8]:
    """A faiss IDSelectorBitmap's bits for `slots` (bit s of byte s >> 3, least significant first)."""
    marks = np.zeros(size, dtype=bool)
    marks[slots] = True
    return np.packbits(marks, bitorder="little")


def dot_rows(matrix: FloatMatrix, q: FloatMatrix) -> FloatMatrix:
    """`matrix @ q` on this thread. Not BLAS: OpenBLAS fans a matrix-vector product out to its threads,
    which was measured to stall for ~8 ms per call (against ~0.1 ms for 5,000 x 384) whenever the cores
    are busy, as they are with concurrent requests or an embedding job. einsum's own SIMD loop never does."""
    scores: FloatMatrix = np.einsum("ij,j->i", matrix, q)
    return scores

