"""Search over the stored papers: keyword, semantic and hybrid, plus "similar papers".

`SearchEngine` keeps the two indexes current with the store: `refresh()` (run before every search) folds in
what the store already has: papers changed since the keyword index's watermark, and vectors stored since the
vector index was saved. It is cheap when nothing changed, so a search always sees every paper that has been
indexed. Embedding papers is indexing.py's job (`index_papers`, which then calls `refresh`).

One engine serves any number of threads at once (the web app's request threads and its background jobs)
with one lock of its own: refreshes and index look-ups take turns under it, while queries are embedded (the
slow step) outside it, side by side. Neither index locks anything itself.
docs/decisions/0021-one-lock-strategy-for-search.md says why.

With several processes on one database (`serve --workers N` beside `paperscope worker`) only the
worker writes the index folder. The web processes' engines are made with `writes_indexes=False`: their
refresh reloads the keyword index the worker committed and adds new stored vectors to their vector index in
memory. From PAPERSCOPE_VECTOR_COMPRESS_ABOVE vectors that index is a compressed generation of files the worker
writes and every process memory-maps, sharing one copy of it (VectorIndexHandle); each process then holds in
memory only the vectors stored since the generation was written.

With PAPERSCOPE_SEARCH_URL set, both rankings come from a Milvus collection instead (index/milvus.py), the filters
applied there; a process that writes the indexes syncs it from the store in `refresh()`, the others only query it.
The fusion below is the same on either.

Vectors of one embedding model only ever meet vectors of the same model: the vector index records
its model, and a different configured model means a different index file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from paperscope.config import Settings
from paperscope.embed.base import Embedder
from paperscope.errors import IndexBusy, InputError, NotEmbedded, StoreError
from paperscope.index.hybrid import DEFAULT_DEPTH, Fusion, reciprocal_rank_fusion
from paperscope.index.keyword import KeywordIndex, parse_user_query
from paperscope.index.milvus import milvus_filter
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store

if TYPE_CHECKING:
    from paperscope.index.milvus import MilvusIndex

log = logging.getLogger(__name__)

Mode = Literal["keyword", "semantic", "hybrid"]
MODES: tuple[Mode, ...] = ("keyword", "semantic", "hybrid")
MAX_QUERY_CHARS = 10_000
CANDIDATES = DEFAULT_DEPTH  # each list contributes at least this many candidates to a fusion without a tuning
TUNING_RECHECK_SECONDS = 60.0  # how often an engine looks for a new tuning another process stored
# A filter at least this share of the papers pass is applied to rankings made without it, this many times deeper
# than the fusion needs (SearchEngine._post_filtered); a narrower one restricts the rankings to its ids.
BROAD_SHARE = 0.15
OVERFETCH = 10


SIMILAR_DEPTH = 100  # how deep `similar` reads the vector ranking and the citation ties it fuses


@dataclass
class Hit:
    """One search result: the paper id, its fused score, and its rank in each list (1-based)."""

    id: str
    score: float
    keyword_rank: int | None = None
    semantic_rank: int | None = None


#: The threads a hybrid search runs its keyword part on, beside the semantic part (shared by every engine; a thread
#: starts on the first such search).
_SIDE_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="paperscope-keyword")


class SearchEngine:
    """Keyword, semantic and hybrid search and "similar papers" over one store."""

    def __init__(self, store: Store, settings: Settings, *, embedder: Embedder | None = None,
                 index_dir: Path | None = None, writes_indexes: bool = True) -> None:
        self.store = store
        self.settings = settings
        self.index_dir = index_dir or settings.resolved_index_dir()
        self.writes_indexes = writes_indexes
        self._embedder = embedder
        self._keyword: KeywordIndex | None = None
        self._vectors: VectorIndexHandle | None = None
        self._milvus: MilvusIndex | None = None
        # The engine's one lock: loading a component, refreshing an index and looking a query up in the indexes
        # take turns (a refresh reads a watermark, folds in what is newer and moves it on; neither index is safe
        # for concurrent use on its own). Embedding a query, the slow step, happens outside it.
        self._lock = threading.RLock()
        self._fusion: Fusion | None = None
        self._fusion_checked = -math.inf

    # Components, created on first use -------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from paperscope.embed import get_embedder

                    self._embedder = get_embedder(self.settings.embedding_model)
        return self._embedder

    @property
    def keyword(self) -> KeywordIndex:
        if self._keyword is None:
            with self._lock:
                if self._keyword is None:
                    self._keyword = KeywordIndex(self.index_dir / "keyword", replace_other_format=self.writes_indexes)
        return self._keyword

    @property
    def vectors(self) -> VectorIndexHandle:
        if self._vectors is None:
            with self._lock:
                if self._vectors is None:
                    embedder = self.embedder
                    self._vectors = VectorIndexHandle(
                        self.index_dir, embedder.name, embedder.version, embedder.dim,
                        compress_above=self.settings.vector_compress_above)
        return self._vectors

    @property
    def milvus(self) -> MilvusIndex:
        """The Milvus collection searched instead of the embedded indexes when PAPERSCOPE_SEARCH_URL is set."""
        if self._milvus is None:
            with self._lock:
                if self._milvus is None:
                    from paperscope.index.milvus import MilvusIndex

                    embedder, url = self.embedder, self.settings.search_url
                    if not url:
                        raise InputError("PAPERSCOPE_SEARCH_URL is not set: search runs on the embedded indexes.")
                    self._milvus = MilvusIndex(url, self.settings.database_url, embedder.name, embedder.dim)
        return self._milvus

    # Keeping the indexes current -------------------------------------------------------------

    def refresh(self) -> tuple[int, int]:
        """Fold papers and vectors already in the store into the indexes; returns how many of each. On Milvus
        only a process that writes the indexes does (`sync`); the others have nothing to fold in."""
        with self._lock:
            if self.settings.search_url:
                return self.milvus.sync(self.store) if self.writes_indexes else (0, 0)
            return self.refresh_keyword(), self.refresh_vectors()

    def clear(self) -> None:
        """Empty both indexes (a rebuild starts here); the next refresh fills them again from the store."""
        with self._lock:
            if self.settings.search_url:
                self.milvus.drop()
                return
            self.keyword.clear()
            self.vectors.clear()

    def sizes(self, *, refresh: bool = True) -> tuple[int, int]:
        """How many papers keyword search and semantic search reach in this process (after a refresh, with
        `refresh`)."""
        if refresh:
            self.refresh()
        if self.settings.search_url:
            return self.milvus.count(), self.milvus.count(embedded_only=True)
        return len(self.keyword), len(self.vectors)

    def refresh_keyword(self) -> int:
        """Fold the papers changed since the keyword index's watermark into it; returns how many (0 without
        `writes_indexes`, which only reloads what the writer committed)."""
        with self._lock:
            return self._refresh_keyword()

    def refresh_vectors(self) -> int:
        """Fold the vectors stored since the vector index's watermark into it; returns how many."""
        with self._lock:
            return self.vectors.refresh(self.store, save=self.writes_indexes)

    def _refresh_keyword(self) -> int:
        index = self.keyword
        if not self.writes_indexes:
            index.reload()
            return 0
        since = dt.datetime.fromisoformat(index.watermark) if index.watermark else None
        count = 0
        latest = None
        try:
            for batch, batch_latest in self.store.papers_modified_since(since, batch_size=2000):
                index.add(batch)
                count += len(batch)
                latest = batch_latest
        except IndexBusy:
            # Another process (paperscope index, a worker) is writing the index and will fold these papers
            # in itself: read what it has committed instead of failing the search.
            index.reload()
            return 0
        if latest is not None:
            index.commit(latest.isoformat())
        return count

    # Fusion -------------------------------------------------------------------------------

    def fusion(self) -> Fusion:
        """How hybrid search fuses: the fusion tuned on this instance's papers for the engine's model
        (index/tuning.py) when there is one and PAPERSCOPE_SEARCH_TUNING is on, else the fixed one of the settings.
        The stored tuning is read again every TUNING_RECHECK_SECONDS (the worker may store a new one)."""
        from paperscope.index.tuning import fixed_fusion, load_tuning

        if not self.settings.search_tuning:
            return fixed_fusion(self.settings)
        now = time.monotonic()
        if self._fusion is None or now - self._fusion_checked > TUNING_RECHECK_SECONDS:
            tuning = load_tuning(self.store)
            usable = tuning is not None and tuning.model == self.embedder.name
            self._fusion = tuning.fusion if tuning is not None and usable else fixed_fusion(self.settings)
            self._fusion_checked = now
        return self._fusion

    def use_fusion(self, fusion: Fusion | None) -> None:
        """Search with `fusion` from now on (None: read the stored tuning again on the next search)."""
        self._fusion, self._fusion_checked = fusion, (time.monotonic() if fusion is not None else -math.inf)

    # Searching ----------------------------------------------------------------------------

    def search(self, query: str, *, mode: Mode = "hybrid", limit: int = 10, offset: int = 0,
               filters: PaperFilter | None = None) -> list[Hit]:
        """Ranked hits for a query; raises InputError for an unusable query or mode."""
        if mode not in MODES:
            raise InputError(f"Unknown search mode {mode!r}; use one of: {', '.join(MODES)}.")
        query = clean_query(query)
        if not query:
            raise InputError("The query is empty; type some words to search for.")
        if limit < 1 or offset < 0:
            raise InputError("The limit must be at least 1 and the offset at least 0.")
        filters = filters or PaperFilter()
        fusion = self.fusion() if mode == "hybrid" else None
        depths = ((max(fusion.keyword_depth, offset + limit), max(fusion.semantic_depth, offset + limit))
                  if fusion is not None else (max(CANDIDATES, offset + limit),) * 2)
        if self.settings.search_url:
            keyword_hits, semantic_hits = self._milvus_ranked(query, mode, depths, filters)
        else:
            keyword_hits, semantic_hits = self._embedded_ranked(query, mode, depths, filters)
        fused = fusion.fuse(keyword_hits, semantic_hits) if fusion is not None else keyword_hits or semantic_hits
        hidden = self.store.moderation.hidden_paper_ids()  # papers an admin hid: never a result
        fused = [(pid, score) for pid, score in fused if pid not in hidden] if hidden else fused
        keyword_ids = [pid for pid, _ in keyword_hits]
        semantic_ids = [pid for pid, _ in semantic_hits]
        keyword_rank = {pid: rank for rank, pid in enumerate(keyword_ids, 1)}
        semantic_rank = {pid: rank for rank, pid in enumerate(semantic_ids, 1)}
        return [Hit(pid, score, keyword_rank.get(pid), semantic_rank.get(pid))
                for pid, score in fused[offset:offset + limit]]

    def _embedded_ranked(self, query: str, mode: Mode, depths: tuple[int, int], filters: PaperFilter
                         ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The keyword and the semantic ranking from the embedded indexes, each to its depth, filtered."""
        semantic = mode != "keyword"
        # Embedded before the lock is taken (the slow step, which requests do side by side); inside it only when
        # this search's refresh brings the first vectors.
        query_vector = self.embedder.embed_query(query) if semantic and len(self.vectors) else None
        with self._lock:
            if mode != "semantic":
                self.refresh_keyword()
            if semantic:
                self._require_vectors(mode)
                if query_vector is None and len(self.vectors):
                    query_vector = self.embedder.embed_query(query)
            broad = False
            if filters:  # how many papers pass it, counted up to BROAD_SHARE of those searched
                searched = max(len(self.keyword) if mode != "semantic" else 0, len(self.vectors) if semantic else 0)
                enough = max(1, math.ceil(BROAD_SHARE * searched))
                matches = self.store.count_filter_matches(filters, at_most=enough)
                if not matches:
                    return [], []
                broad = matches >= enough
            lists = self._post_filtered(query, mode, depths, filters, query_vector) if broad else None
            if lists is None:
                allowed = self.store.filter_ids(filters) if filters else None
                lists = self._ranked(query, mode, depths, allowed, query_vector)
        return lists

    def _milvus_ranked(self, query: str, mode: Mode, depths: tuple[int, int], filters: PaperFilter
                       ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The keyword and the semantic ranking from Milvus, each to its depth, the filters applied there
        (index/milvus.py)."""
        index = self.milvus
        if self.writes_indexes:
            with self._lock:
                index.sync(self.store)
        where = milvus_filter(filters)
        fetch = tuple(depth * OVERFETCH if where.needs_check else depth for depth in depths)
        keyword_hits = index.keyword_search(parse_user_query(query), fetch[0], where) if mode != "semantic" else []
        semantic_hits: list[tuple[str, float]] = []
        if mode != "keyword" and not where.matches_nothing:
            semantic_hits = index.vector_search(self.embedder.embed_query(query), fetch[1], where)
            if not semantic_hits and mode == "semantic" and not index.count(embedded_only=True) \
                    and self.store.count_papers() > 0:
                raise NotEmbedded(
                    f"No paper is embedded with {self.embedder.name} yet, so semantic search has nothing to "
                    "search; run: paperscope index")
        if where.needs_check:  # several author words: confirm they name one author (MilvusFilter)
            passing = self.store.passing_filters(filters, {pid for pid, _ in keyword_hits + semantic_hits})
            keyword_hits = [hit for hit in keyword_hits if hit[0] in passing][:depths[0]]
            semantic_hits = [hit for hit in semantic_hits if hit[0] in passing][:depths[1]]
        return keyword_hits, semantic_hits

    def _ranked(self, query: str, mode: Mode, depths: tuple[int, int], allowed: set[str] | None,
                query_vector: np.ndarray | None) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The keyword and the semantic ranking, each to its depth (empty when the mode does not ask for it). Both
        together run side by side, the keyword one on a thread of its own (tantivy and faiss let go of the GIL)."""
        keyword = mode != "semantic"
        vector = query_vector if mode != "keyword" and len(self.vectors) else None
        pending = _SIDE_THREADS.submit(self.keyword.search, parse_user_query(query), depths[0], allowed) \
            if keyword and vector is not None else None
        semantic_hits = self.vectors.search(vector, depths[1], allowed) if vector is not None else []
        if pending is not None:
            return pending.result(), semantic_hits
        keyword_hits = self.keyword.search(parse_user_query(query), depths[0], allowed) if keyword else []
        return keyword_hits, semantic_hits

    def _post_filtered(self, query: str, mode: Mode, depths: tuple[int, int], filters: PaperFilter,
                       query_vector: np.ndarray | None
                       ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]] | None:
        """For a filter that many papers pass (a large category): the rankings without it, OVERFETCH times
        deeper, keeping the hits that pass. Collecting the ids of half a million papers to restrict the
        indexes to would cost far more. None when too few hits passed to fill a ranking (the collected ids
        then decide)."""
        deeper = (depths[0] * OVERFETCH, depths[1] * OVERFETCH)
        rankings = self._ranked(query, mode, deeper, None, query_vector)
        passing = self.store.passing_filters(filters, {pid for hits in rankings for pid, _ in hits})
        kept = tuple([hit for hit in hits if hit[0] in passing][:depth]
                     for hits, depth in zip(rankings, depths, strict=True))
        if any(len(hits) == deep and len(some) < depth
               for hits, some, deep, depth in zip(rankings, kept, deeper, depths, strict=True)):
            return None  # the filter passes many papers, but few of those the query ranks first
        return kept[0], kept[1]

    def _require_vectors(self, mode: Mode) -> None:
        self.refresh_vectors()
        if len(self.vectors) == 0 and self.store.count_papers() > 0 and mode == "semantic":
            raise NotEmbedded(
                f"No paper is embedded with {self.embedder.name} yet, so semantic search has nothing to "
                "search; run: paperscope index")

    def similar(self, paper_id: str, *, limit: int = 10) -> list[Hit]:
        """Papers closest to a stored paper, from its stored embedding (itself excluded)."""
        paper = self.store.get_paper(paper_id)
        if paper is None:
            raise InputError(f"No paper with id {paper_id!r} is stored; check the id (paperscope search "
                             "finds ids).")
        vector = self.store.get_embedding(paper.id, self.embedder.name)
        if vector is None:
            raise NotEmbedded(f"Paper {paper.id} has no embedding from {self.embedder.name} yet; run: "
                              "paperscope index")
        neighbours = [pid for pid, _ in self.store.citation_neighbours(paper.id, limit=SIMILAR_DEPTH)]
        depth = max(limit, SIMILAR_DEPTH) if neighbours else limit
        hidden = self.store.moderation.hidden_paper_ids()  # papers an admin hid: never a neighbour
        if self.settings.search_url:
            self.refresh()
            found = self.milvus.vector_search(vector, depth + 1 + len(hidden), milvus_filter(None))
        else:
            with self._lock:
                self.refresh_vectors()
                found = self.vectors.search(vector, depth + 1 + len(hidden))
        hits = [(pid, score) for pid, score in found if pid != paper.id and pid not in hidden]
        neighbours = [pid for pid in neighbours if pid not in hidden]
        semantic_rank = {pid: rank for rank, (pid, _) in enumerate(hits, 1)}
        if neighbours:  # ties by citation lift a paper as a second ranking does in hybrid search (decision 0077)
            hits = reciprocal_rank_fusion([[pid for pid, _ in hits], neighbours], k=self.settings.rrf_k)
        return [Hit(pid, score, semantic_rank=semantic_rank.get(pid)) for pid, score in hits[:limit]]

    def papers(self, hits: list[Hit]) -> list[tuple[Hit, Paper]]:
        """The stored papers of hits, in order (a hit whose paper has since been merged away is dropped)."""
        found = self.store.get_papers([h.id for h in hits])
        return [(h, found[h.id]) for h in hits if h.id in found]


class VectorIndexHandle:
    """The vector index of one embedding model, saved in the index folder and refreshed from the store.

    Below `compress_above` vectors it is a `VectorIndex` in memory, saved to one file with, beside it, a small
    JSON file keeping the watermark: when the newest vector it holds was stored. A refresh adds only vectors
    stored after it (new papers and re-embedded ones).

    From `compress_above` vectors it is a `CompressedVectorIndex`: a generation of read-only files that the
    writing process (`save=True`, the worker) writes and every process maps (index/vector_generation.py), named
    by a manifest that also holds the generation's watermark, plus an exact in-memory delta of the vectors stored
    after it. Every refresh looks at the manifest (one stat) and, when the writer has replaced it, opens the new
    generation and refills the delta from the store. The writer writes a new generation when the delta has
    grown past `delta_limit` (docs/decisions/0122-vector-generations-and-atomic-switch.md). The engine calls
    it under its lock.
    """

    #: A new generation once the delta holds this share of the generation's vectors, or DELTA_MAX of them.
    DELTA_SHARE = 0.05
    DELTA_MAX = 50_000

    def __init__(self, index_dir: Path, model: str, version: str, dim: int, *,
                 compress_above: int = 200_000) -> None:
        safe = re.sub(r"[^\w.-]+", "_", model)
        self.path = index_dir / f"vectors-{safe}.bin"
        self.meta_path = index_dir / f"vectors-{safe}.json"
        self.manifest_path = index_dir / f"vectors-{safe}.manifest.json"
        self.model, self.version, self.dim = model, version, dim
        self.compress_above = compress_above
        self._manifest_stamp: tuple[int, int, int] | None = None
        self.index, self.watermark = self._load()

    @property
    def compressed(self) -> bool:
        from paperscope.index.vector_compressed import CompressedVectorIndex

        return isinstance(self.index, CompressedVectorIndex)

    def _load(self) -> tuple[Any, dt.datetime | None]:
        """The current generation, else the saved index, with its watermark; a fresh index (filled from the store
        by the next refresh) when there is none, or when it cannot be used: written by another version, damaged,
        another model. The vectors themselves are all in the store, so nothing is lost by building it again."""
        from paperscope.index.vector import VectorIndex

        if self.manifest_path.exists():
            opened = self._open_generation()
            if opened is not None:
                return opened
        if self.path.exists() and self.meta_path.exists():
            try:
                meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
                loaded = VectorIndex.load(self.path)
            except (StoreError, ValueError) as exc:
                log.warning("%s Building it again from the vectors stored in the database.", exc)
                return self._new_index(), None
            if loaded.model == self.model and meta.get("model") == self.model:
                mark = meta.get("watermark")
                return loaded, dt.datetime.fromisoformat(mark) if mark else None
        return self._new_index(), None

    def _open_generation(self) -> tuple[Any, dt.datetime | None] | None:
        """The current generation, with an empty delta, and its watermark; None when it cannot be used."""
        from paperscope.index.vector_compressed import CompressedVectorIndex
        from paperscope.index.vector_generation import Generation

        for _ in range(3):  # the writer may switch generations between our reading the manifest and the files
            stamp = self._stamp()
            try:
                generation = Generation(self.manifest_path)
            except StoreError as exc:
                if stamp != self._stamp():
                    continue
                log.warning("%s Building it again from the vectors stored in the database.", exc)
                self._manifest_stamp = stamp
                return None
            self._manifest_stamp = stamp
            if generation.model != self.model or generation.dim != self.dim:
                return None
            mark = generation.watermark
            return CompressedVectorIndex(generation), dt.datetime.fromisoformat(mark) if mark else None
        return None

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self.manifest_path.stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _new_index(self) -> Any:
        from paperscope.index.vector import VectorIndex

        return VectorIndex(self.dim, model=self.model)

    def clear(self) -> None:
        from paperscope.index.vector_generation import Generation

        if self.manifest_path.exists():
            try:
                for path in Generation(self.manifest_path).files():
                    path.unlink(missing_ok=True)
            except StoreError:
                pass
            self.manifest_path.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)
        self.index, self.watermark = self._new_index(), None
        self._manifest_stamp = None

    def refresh(self, store: Store, *, save: bool = True) -> int:
        """Add the vectors stored since the watermark; with `save` (the one process that writes the indexes),
        write the index when anything changed: the whole file below `compress_above` vectors, a new generation
        from the store when the delta is due for one above it. Without `save` the new vectors stay in memory,
        and a generation the writer switched to is opened."""
        if not save and self._stamp() != self._manifest_stamp and self.manifest_path.exists():
            opened = self._open_generation()
            if opened is not None:
                self.index, self.watermark = opened
        latest = store.latest_embedding_time(self.model)
        if save and latest is not None and self.compressed and self.index.base.outdated:
            # written with a layout or re-ranking depth this version no longer uses: rewritten (keeping its
            # coarse lists), with the vectors stored since the watermark
            before = len(self.index)
            return max(0, self._write_generation(store, latest) - before)
        if latest is None or (self.watermark is not None and latest <= self.watermark):
            return 0
        if save and not self.compressed and len(self.index) == 0:
            stored = store.embedding_models().get(self.model, {}).get("count", 0)
            if stored >= self.compress_above:  # straight to a generation: never the whole set in memory
                return self._write_generation(store, latest)
        added: int = self.index.add_many(store.iter_embeddings(self.model, since=self.watermark, until=latest))
        self.watermark = latest
        if not save:
            return added
        if len(self.index) >= self.compress_above and (not self.compressed or self._delta_due()):
            self._write_generation(store, latest)
            return added
        if self.compressed:
            return added
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index.save(self.path)
        temporary = self.meta_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"model": self.model, "version": self.version,
                                         "watermark": latest.isoformat()}), encoding="utf-8")
        temporary.replace(self.meta_path)
        return added

    def _delta_due(self) -> bool:
        base = self.index.base.count
        return bool(self.index.delta_size >= min(self.DELTA_MAX, max(1.0, self.DELTA_SHARE * base)))

    def _write_generation(self, store: Store, latest: dt.datetime) -> int:
        """Write a new generation of every vector stored up to `latest`, switch to it, drop the single file."""
        from paperscope.index.vector_generation import write_generation

        write_generation(self.manifest_path, store.iter_embeddings(self.model, until=latest), dim=self.dim,
                         model=self.model, watermark=latest.isoformat())
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)
        opened = self._open_generation()
        if opened is None:
            raise StoreError(f"The vector index generation just written to {self.manifest_path} cannot be opened.")
        self.index, self.watermark = opened
        self.index.add_many(store.iter_embeddings(self.model, since=self.watermark))
        return len(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def search(self, vector: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        results: list[tuple[str, float]] = self.index.search(vector, k, allowed)
        return results


def clean_query(query: str) -> str:
    """The query without control characters, cut to MAX_QUERY_CHARS."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query[:MAX_QUERY_CHARS])
    return " ".join(cleaned.split())
