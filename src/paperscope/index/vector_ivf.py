"""How the vector index's inverted file is sized and tuned: the number of lists, the training sample, the
nprobe tuned on the data at each training, and the faiss import they rest on."""

from __future__ import annotations

import math
import os
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from paperscope.errors import MissingExtraError

__all__ = ["LISTS_PER_SQRT", "MIN_NPROBE", "MIN_TRAIN_PER_LIST", "PROBE_DIVISOR", "TARGET_RECALL", "TRAIN_PER_LIST",
           "TUNE_QUERIES", "default_nlist", "load_faiss", "tune_nprobe"]

#: Lists per square root of the number of vectors, and the fewest / most training points per list
#: (faiss warns below 39 per centroid; more than 64 buys little but costs k-means time).
LISTS_PER_SQRT: Final = 4
MIN_TRAIN_PER_LIST: Final = 39
TRAIN_PER_LIST: Final = 64
#: nprobe is tuned at each training: the fewest lists, from a floor of max(MIN_NPROBE, nlist / PROBE_DIVISOR)
#: up, at which TUNE_QUERIES probe queries (midpoints of two stored vectors) find TARGET_RECALL of their 10
#: true nearest neighbours. The floor is measured: real text queries need more lists than any probe made
#: from stored vectors (docs/benchmarks.md, "Vector index").
TARGET_RECALL: Final = 0.97
TUNE_QUERIES: Final = 256
MIN_NPROBE: Final = 64
PROBE_DIVISOR: Final = 32


def default_nlist(n: int) -> int:
    """How many IVF lists `n` vectors get: 4 * sqrt(n), but never under 39 training points a list."""
    return max(1, min(round(LISTS_PER_SQRT * math.sqrt(n)), n // MIN_TRAIN_PER_LIST))


def load_faiss() -> Any:
    """The faiss module; MissingExtraError when faiss-cpu is not installed.

    faiss's OpenMP threads wait for work asleep (OMP_WAIT_POLICY=PASSIVE, unless the environment says otherwise;
    its libgomp reads this once, when faiss is first imported): a hybrid search scans on faiss's threads while the
    keyword part and the web server run beside them, and threads spinning at faiss's barriers took the cores
    those need (docs/decisions/0135-threads-that-wait-asleep.md)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a dependency
        raise MissingExtraError(
            "The vector index needs the package 'faiss-cpu', which is not installed. "
            "Install it with: pip install faiss-cpu"
        ) from exc
    return faiss


def tune_nprobe(index: Any, queries: npt.NDArray[np.float32]) -> int:
    """The fewest lists to scan, from the floor up in steps of about 1.5x, at which `queries` find
    TARGET_RECALL of their 10 nearest neighbours; scanning every list is exact search, which gives the truth."""
    faiss = load_faiss()
    nlist = int(index.nlist)
    nprobe = min(nlist, max(MIN_NPROBE, math.ceil(nlist / PROBE_DIVISOR)))
    k = min(10, int(index.ntotal))
    norms = np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    queries = np.ascontiguousarray(queries / norms, dtype=np.float32)

    def neighbours(lists: int) -> npt.NDArray[np.int64]:
        params = faiss.SearchParametersIVF()
        params.nprobe = lists
        _, labels = index.search(queries, k, params=params)
        return labels  # type: ignore[no-any-return]

    truth = neighbours(nlist)
    while nprobe < nlist:
        found = neighbours(nprobe)
        hits = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist(), strict=True))
        if hits >= TARGET_RECALL * k * len(queries):
            return nprobe
        nprobe = math.ceil(nprobe * 1.5)
    return nlist
