"""The vector index of a large set: a memory-mapped compressed generation plus a small exact delta in memory.

    index = CompressedVectorIndex(Generation(manifest_path))   # maps the files; nothing is copied
    index.add(ids, vectors)                                     # into the delta: overrides the generation
    index.search(query_vector, 10, allowed={"2503.11731"})      # [(id, cosine), ...] best first

Search asks the generation's inverted file (compressed codes, index/vector_generation.py) for `rerank`
candidates, reads their full vectors from the memory-mapped float16 rows and re-scores them: the scores
returned are cosines of the float16 vectors (within ~1e-3 of float32 ones). The delta (a `VectorIndex`, exact
while small) holds the vectors added after the generation was written; an id in the delta, or removed, is
masked in the generation, so a re-embedded paper never shows twice or with its old vector. Its results and the
generation's are merged by score.

A search scans the query's nearest lists, `nprobe` of them or fewer: it stops at CODE_BUDGET times the codes that
many lists of average size hold (`Generation.lists_to_scan`), so a query whose nearest lists are the crowded ones
costs about what a typical query costs (docs/decisions/0139-code-budget-per-query.md).

`allowed` filters: a set small enough (up to EXACT_ALLOWED vectors of the generation) is scored exactly from
the float16 rows; a larger one goes to faiss as a bitmap over slots, with more lists scanned the fewer pass.

Per process this costs the delta and, per search, the pages it touches; the codes, rows and ids are mapped
files shared by every process on the machine. Thread safety: none of its own, as for `VectorIndex`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from paperscope.index.vector import VectorIndex, dot_rows, slot_bitmap
from paperscope.index.vector_generation import CODE_BUDGET, Generation, probes_for
from paperscope.index.vector_ivf import load_faiss

__all__ = ["EXACT_ALLOWED", "CompressedVectorIndex"]

#: An `allowed` filter that passes at most this many of the generation's vectors is scored exactly from the
#: float16 rows (about 5 ms at 20,000 rows), never through the codes.
EXACT_ALLOWED: Final = 20_000

FloatMatrix = npt.NDArray[np.float32]
Slots = npt.NDArray[np.int64]


class CompressedVectorIndex:
    """Cosine search over a mapped generation and an in-memory delta (see the module docstring). An `allowed`
    filter passing at most `exact_allowed` of the generation's vectors is scored exactly; `code_budget` is
    `Generation.lists_to_scan`'s (None: a search scans all its nprobe nearest lists, the benchmarks' baseline)."""

    def __init__(self, generation: Generation, *, exact_allowed: int = EXACT_ALLOWED,
                 code_budget: float | None = CODE_BUDGET) -> None:
        self.base = generation
        self.exact_allowed = exact_allowed
        self.code_budget = code_budget
        self.dim = generation.dim
        self.model = generation.model
        self.delta = VectorIndex(generation.dim, model=generation.model)
        self._masked: set[int] = set()  # generation slots overridden by the delta or removed
        self._masked_array: Slots | None = None

    # ------------------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self.base.count - len(self._masked) + len(self.delta)

    def __contains__(self, paper_id: object) -> bool:
        if not isinstance(paper_id, str):
            return False
        return paper_id in self.delta or bool(len(self._live_slots([paper_id])))

    @property
    def uses_ann(self) -> bool:
        return True

    @property
    def delta_size(self) -> int:
        """How many vectors differ from the generation: added or replaced ones (in the delta) and removed ones."""
        return len(self.delta) + len(self._masked - set(self._delta_base_slots()))

    def ids(self) -> list[str]:
        """The ids in the index, in no particular order (reads every id of the generation)."""
        masked = self._masked
        base = [self.base.id_of(s) for s in range(self.base.count) if s not in masked]
        return base + self.delta.ids()

    def describe(self) -> str:
        return (f"compressed generation {self.base.number}: {self.base.layout} x {self.base.count:,}, "
                f"nprobe={self.base.nprobe}, re-ranking {self.base.rerank}; delta {len(self.delta):,}")

    def vector(self, paper_id: str) -> FloatMatrix | None:
        """The stored (unit) vector of `paper_id` as float32 (float16 precision from the generation), or None."""
        found = self.delta.vector(paper_id)
        if found is not None:
            return found
        slots = self._live_slots([paper_id])
        if not len(slots):
            return None
        row: FloatMatrix = self.base.vectors(slots)[0]
        return row

    def search(self, query: npt.ArrayLike, k: int,
               allowed: AbstractSet[str] | None = None) -> list[tuple[str, float]]:
        """The `k` ids nearest to `query` by cosine similarity, with their scores, best first; with `allowed`,
        only those ids."""
        q = np.array(query, dtype=np.float32).reshape(-1)
        if q.shape != (self.dim,):
            raise ValueError(f"query must have dimension {self.dim}, got shape {q.shape}")
        q /= max(float(np.linalg.norm(q)), 1e-12)
        if k <= 0:
            return []
        hits = self.delta.search(q, k, allowed) if len(self.delta) else []
        if self.base.count:
            if allowed is None:
                hits += self._search_base(q, k, None)
            else:
                slots = self._live_slots(allowed)
                if len(slots) <= self.exact_allowed:
                    hits += self._score(q, k, np.sort(slots))
                else:
                    hits += self._search_base(q, k, slots)
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    # ------------------------------------------------------------------------------------------ updates

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add or replace the vectors of `ids` (in the delta; the generation's vectors of those ids are masked)."""
        self.delta.add(ids, vectors)
        self._mask(ids)

    def add_many(self, batches: Iterable[tuple[Sequence[str], npt.ArrayLike]]) -> int:
        """Add batches of (ids, vectors) as `add` does; returns how many vectors came."""
        count = 0
        for ids, vectors in batches:
            self.add(ids, vectors)
            count += len(ids)
        return count

    def remove(self, ids: Iterable[str]) -> None:
        """Remove `ids` from the index; ids that are not in it are ignored."""
        ids = [ids] if isinstance(ids, str) else list(ids)
        self.delta.remove(ids)
        self._mask(ids)

    # ------------------------------------------------------------------------------------------ internals

    def _mask(self, ids: Iterable[str]) -> None:
        slots = self.base.slots_of(ids)
        if len(slots):
            self._masked.update(slots.tolist())
            self._masked_array = None

    def _delta_base_slots(self) -> Slots:
        return self.base.slots_of(self.delta.ids()) if len(self.delta) else np.empty(0, dtype=np.int64)

    def _live_slots(self, ids: Iterable[str]) -> Slots:
        slots = self.base.slots_of(ids)
        if self._masked and len(slots):
            slots = slots[~np.isin(slots, self._masked_slots())]
        return slots

    def _masked_slots(self) -> Slots:
        if self._masked_array is None:
            self._masked_array = np.fromiter(self._masked, dtype=np.int64, count=len(self._masked))
        return self._masked_array

    def _score(self, q: FloatMatrix, k: int, slots: Slots) -> list[tuple[str, float]]:
        """Exact scores of `slots` (sorted, for locality in the file) from the full vectors; the best k."""
        if not len(slots):
            return []
        scores = dot_rows(self.base.vectors(slots), q)
        top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return list(zip(self.base.ids_of(slots[top]), scores[top].tolist(), strict=True))

    def _search_base(self, q: FloatMatrix, k: int, allowed_slots: Slots | None) -> list[tuple[str, float]]:
        """The generation's best k: `rerank` candidates from the codes, re-scored from the full vectors."""
        faiss = load_faiss()
        params = faiss.SearchParametersIVF()
        keep: list[Any] = []  # faiss keeps raw pointers: these must outlive the search
        if allowed_slots is not None:
            packed = slot_bitmap(allowed_slots, self.base.count)
            selector = faiss.IDSelectorBitmap(self.base.count, faiss.swig_ptr(packed))
            keep += [packed, selector]
            params.nprobe = probes_for(self.base, len(allowed_slots))
        else:
            params.nprobe = self.base.nprobe
            if self._masked:
                masked = self._masked_slots()
                inner = faiss.IDSelectorBatch(len(masked), faiss.swig_ptr(masked))
                selector = faiss.IDSelectorNot(inner)
                keep += [masked, inner, selector]
        if keep:
            params.sel = selector
        depth = max(self.base.rerank, k)
        query = np.ascontiguousarray(q.reshape(1, -1))
        lists, closeness = self.base.lists_to_scan(query, int(params.nprobe), budget=self.code_budget)
        distances = np.empty((1, depth), dtype=np.float32)
        labels = np.empty((1, depth), dtype=np.int64)
        self.base.ivf.search_preassigned_c(1, faiss.swig_ptr(query), depth, faiss.swig_ptr(lists),
                                           faiss.swig_ptr(closeness), faiss.swig_ptr(distances),
                                           faiss.swig_ptr(labels), False, params)
        candidates = labels[0][labels[0] >= 0]
        return self._score(q, k, np.sort(candidates))
