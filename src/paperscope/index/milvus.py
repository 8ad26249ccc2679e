"""Search on Milvus: the keyword (BM25) and the vector ranking from one collection, with the filters as Milvus
filter expressions, for a deployment that outgrows one machine (`PAPERSCOPE_SEARCH_URL`).

One collection per database and embedding model holds a row per paper: its id, `text` (title and abstract as
stemmed words, which Milvus turns into a BM25 sparse vector itself: `Function(type=BM25)`), the paper's vector
in `dense` (zeros and `embedded == false` until it has one, so keyword search sees every paper), and the filter
fields: `published` (YYYYMMDD, 0 when unknown), `categories` (an array) and `authors` (each author's normalised
name words, `| mathilde caron | huaisong zhang |`).

Words are lower-cased, stripped of the keyword index's stop words and stemmed (Snowball English, as the keyword
index's `en_stem`) here, for documents and queries alike, and not by a Milvus analyzer: Milvus Lite accepts only
the `standard` and `jieba` tokenizers and ignores the `stemmer` filter (decision 0120), so analysing in
paperscope gives the same terms on Lite and on a server.

The filters are expressions on those fields: a date range, `array_contains(categories, ...)`, and for an
author filter `authors like "% WORD%"` for each of its words. That matches a word start on any author: exact
for a one-word filter ("caron"); for several words ("caron, m") it can also pass a paper where the words name
different authors, so `needs_check` tells the engine to confirm those hits with the store.

Only a process that writes the indexes (the worker, `paperscope index`, a single `serve`) calls `sync`, which
upserts the papers changed and the vectors stored since the watermarks kept in the collection's properties;
every other process only queries. `MilvusIndex.connect` opens one client per address and process.
docs/decisions/0120-search-on-milvus.md says why the fusion stays in paperscope.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paperscope.config import default_index_dir, milvus_uri
from paperscope.errors import ConfigError, SearchUnavailable, require_extra
from paperscope.ids import author_words
from paperscope.index.keyword import _STOPWORDS, ParsedQuery
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store

MAX_ID_CHARS = 1024
MAX_TEXT_BYTES = 65_535  # Milvus's largest VARCHAR; a longer abstract is cut
MAX_CATEGORIES = 256
MAX_CATEGORY_CHARS = 200  # as the store's filter tables (store/filters.py INDEXED_CHARS)
SYNC_BATCH = 1000
CONNECT_TIMEOUT_SECONDS = 10
# On a server the dense index is AUTOINDEX (HNSW), which explores at least this many candidates and twice those
# asked for: Lite's HNSW at its default of 64, under the 100 a search asks for, cost 0.003 nDCG@10 on SciFact
# against exact search. In Lite (tests, one machine) it is FLAT, exact: its filtered HNSW search missed papers.
MIN_EF = 200
BM25_K1, BM25_B = 1.2, 0.75  # the keyword index's (tantivy's) parameters
_WATERMARKS = "paperscope.watermarks"
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}  # over words already analysed (`analysed`)
MAX_WORD_CHARS = 40  # longer tokens are dropped, as tantivy's tokenizer does
_TOKEN = re.compile(r"[^\W_]+")

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def collection_name(database_url: str, model: str) -> str:
    """The collection of one database and model: the same on every machine that opens the database (a server
    database is named by what identifies it, as its index folder is; a SQLite file by its absolute path)."""
    if "://" not in database_url or database_url.startswith("sqlite:"):
        path = database_url.removeprefix("sqlite:///")
        identity = str(Path(path).resolve()) if path != "sqlite://" else database_url
    else:
        identity = default_index_dir(database_url).name  # host, port, database, options: no password or driver
    digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9]+", "_", model).strip("_")[:60]
    return f"paperscope_{slug}_{digest}"


@dataclass(frozen=True)
class MilvusFilter:
    """A PaperFilter as a Milvus expression; `matches_nothing` when no paper can pass (text no store holds, an
    author filter without a letter or digit); `needs_check` when the hits must still be confirmed by the store
    (an author filter of several words)."""

    expression: str = ""
    matches_nothing: bool = False
    needs_check: bool = False


def milvus_filter(filters: PaperFilter | None) -> MilvusFilter:
    """The filters (date range, category, author) as one Milvus filter expression (module docstring)."""
    if not filters:
        return MilvusFilter()
    parts: list[str] = []
    if filters.published_from:
        parts.append(f"published >= {_day_number(filters.published_from)}")
    if filters.published_to:
        parts.append(f"(published > 0 and published <= {_day_number(filters.published_to)})")
    texts = [text for text in (filters.category, filters.author) if text]
    if any(not _storable(text) for text in texts):
        return MilvusFilter(matches_nothing=True)
    if filters.category:
        parts.append(f"array_contains(categories, {_literal(filters.category[:MAX_CATEGORY_CHARS])})")
    needs_check = False
    if filters.author:
        words = author_words(filters.author)
        if not words:
            return MilvusFilter(matches_nothing=True)
        parts += [f"authors like {_literal('% ' + _like_escaped(word) + '%')}" for word in words]
        needs_check = len(words) > 1
    return MilvusFilter(" and ".join(parts), needs_check=needs_check)


def keyword_query_text(parsed: ParsedQuery) -> str:
    """What the BM25 side searches for: the query's words, its phrases' words and its prefixes as words
    (Milvus's full-text search has no phrase or prefix query), analysed as the documents are."""
    words = parsed.words + [word for phrase in parsed.phrases for word in phrase] + parsed.prefixes
    return analysed(" ".join(words))


def analysed(text: str) -> str:
    """The words of `text` as the BM25 side indexes them: lower-cased, stop words dropped, stemmed."""
    stemmer = _stemmer()
    words = [word for word in _TOKEN.findall(text.lower()) if len(word) <= MAX_WORD_CHARS and word not in _STOPWORDS]
    return " ".join(stemmer.stemWords(words))


_stemmers = threading.local()


def _stemmer() -> Any:
    """One Snowball English stemmer per thread (a PyStemmer object is not thread-safe)."""
    if not hasattr(_stemmers, "english"):
        stemmer_module = require_extra("Stemmer", "milvus", "Search on Milvus (PAPERSCOPE_SEARCH_URL)")
        _stemmers.english = stemmer_module.Stemmer("english")
    return _stemmers.english


class MilvusIndex:
    """The collection of one database and embedding model on a Milvus server or in a Milvus Lite file."""

    def __init__(self, search_url: str, database_url: str, model: str, dim: int) -> None:
        try:
            self.uri = milvus_uri(search_url)
        except ValueError as exc:
            raise ConfigError(f"{exc}.") from exc
        self.lite = not self.uri.startswith(("http://", "https://", "tcp://"))  # a file: Milvus Lite
        self.name = collection_name(database_url, model)
        self.model, self.dim = model, dim
        self.client = self.connect(self.uri)
        self._ready = False

    @staticmethod
    def connect(uri: str) -> Any:
        """One client per address in this process (Milvus Lite runs one server per file)."""
        with _clients_lock:
            if uri not in _clients:
                pymilvus = require_extra("pymilvus", "milvus", "Search on Milvus (PAPERSCOPE_SEARCH_URL)")
                try:
                    _clients[uri] = pymilvus.MilvusClient(uri, timeout=CONNECT_TIMEOUT_SECONDS)
                except pymilvus.MilvusException as exc:
                    if uri.startswith("/"):
                        raise SearchUnavailable(
                            f"Milvus Lite could not open {uri} ({exc.message}): it serves one process at a time, "
                            "and another may have the file open. Several processes (web processes beside a worker) "
                            "need a Milvus server: set PAPERSCOPE_SEARCH_URL=http://HOST:19530.") from exc
                    raise SearchUnavailable(f"Milvus at {uri} did not answer ({exc.message}); check "
                                            "PAPERSCOPE_SEARCH_URL and that the server runs.") from exc
            return _clients[uri]

    @staticmethod
    def release(search_url: str) -> None:
        """Close this process's client for PAPERSCOPE_SEARCH_URL and, for a Milvus Lite file, stop the Lite
        server this process runs on it, which frees the file for another process (Lite serves one at a time).
        Indexes opened on it before must not be used afterwards."""
        uri = milvus_uri(search_url)
        with _clients_lock:
            client = _clients.pop(uri, None)
        if client is None:
            return
        client.close()
        if uri.startswith("/"):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(uri)

    # The collection ---------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the collection (with its BM25 function and indexes) when it does not exist, and load it."""
        if self._ready:
            return
        if not self.client.has_collection(self.name):
            self._create()
        self.client.load_collection(self.name)
        self._ready = True

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False, description=f"paperscope papers, {self.model}")
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_CHARS)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                         analyzer_params=ANALYZER)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("embedded", DataType.BOOL)
        schema.add_field("published", DataType.INT32)
        schema.add_field("categories", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_CATEGORIES,
                         max_length=MAX_CATEGORY_CHARS * 4)
        schema.add_field("authors", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
        schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                     input_field_names=["text"], output_field_names=["sparse"]))
        indexes = self.client.prepare_index_params()
        indexes.add_index("dense", index_type="FLAT" if self.lite else "AUTOINDEX", metric_type="IP")
        indexes.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        self.client.create_collection(self.name, schema=schema, consistency_level="Strong")
        # Not waited for: the collection is empty, and waiting asks for a timestamp Milvus Lite does not serve.
        self.client.create_index(self.name, indexes, sync=False)

    def drop(self) -> None:
        """Remove the collection (a rebuild starts here); the next `sync` fills a new one from the store."""
        if self.client.has_collection(self.name):
            self.client.drop_collection(self.name)
        self._ready = False

    def count(self, *, embedded_only: bool = False) -> int:
        """How many papers the collection holds (with a vector only, with `embedded_only`)."""
        with answering(self.uri):
            self.ensure()
            rows = self.client.query(self.name, filter="embedded == true" if embedded_only else "",
                                     output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    # Writing (the worker) -----------------------------------------------------------------------

    def watermarks(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(papers, vectors): when the newest change the collection holds was stored."""
        self.ensure()
        properties = self.client.describe_collection(self.name).get("properties") or {}
        marks = json.loads(properties.get(_WATERMARKS, "{}"))
        papers, vectors = marks.get("papers"), marks.get("vectors")
        return (dt.datetime.fromisoformat(papers) if papers else None,
                dt.datetime.fromisoformat(vectors) if vectors else None)

    def _save_watermarks(self, papers: dt.datetime | None, vectors: dt.datetime | None) -> None:
        marks = {"papers": papers.isoformat() if papers else None, "vectors": vectors.isoformat() if vectors else None}
        self.client.alter_collection_properties(self.name, properties={_WATERMARKS: json.dumps(marks)})

    def sync(self, store: Store) -> tuple[int, int]:
        """Upsert the papers changed and the vectors stored since the watermarks; returns (papers, vectors)
        written, a re-embedded paper counting in both.

        A first fill writes each paper once, with its vector. Later, re-embedded papers come first, then the
        changed papers not written already; then papers merged away are deleted. Milvus Lite scores BM25 with
        each segment's own statistics, so rows written later (a segment of their own) would rank by other term
        weights than the rest: on Lite a sync that changes a filled collection then writes every paper again,
        which puts them all in one new segment (up to Lite's 100,000 rows a segment) while searches go on."""
        filled = self.lite and self.watermarks()[0] is not None
        written = self._sync(store)
        if filled and any(written):
            self._sync(store, everything=True)
        return written

    def _sync(self, store: Store, *, everything: bool = False) -> tuple[int, int]:
        papers_mark, vectors_mark = (None, None) if everything else self.watermarks()
        vectors_latest = store.latest_embedding_time(self.model)
        written: set[str] = set()
        vectors_written = 0
        if papers_mark is not None and vectors_latest is not None and (
                vectors_mark is None or vectors_latest > vectors_mark):
            for ids, block in store.iter_embeddings(self.model, since=vectors_mark, until=vectors_latest):
                found = store.get_papers(ids)
                rows = [self._row(found[pid], vector) for pid, vector in zip(ids, block, strict=True)
                        if pid in found]
                self._upsert(rows)
                written.update(row["id"] for row in rows)
                vectors_written += len(rows)
        papers_written = len(written)  # each row written holds the paper's text too
        latest = papers_mark
        for batch, batch_latest in store.papers_modified_since(papers_mark, batch_size=SYNC_BATCH):
            todo = [paper for paper in batch if paper.id not in written]
            vectors = store.get_embeddings([paper.id for paper in todo], self.model)
            self._upsert([self._row(paper, vectors.get(paper.id)) for paper in todo])
            papers_written += len(todo)
            if papers_mark is None:
                vectors_written += sum(1 for paper in todo if paper.id in vectors)
            latest = batch_latest
        removed = self._remove_merged_away(store) if papers_written else 0
        if papers_written or vectors_written or removed:
            # Sealed segments search through their indexes; rows left in memory are scanned one by one (Milvus
            # Lite converts each to a dict on every search: 1 s per query at 5,000 papers).
            self.client.flush(self.name)
        if latest != papers_mark or vectors_latest != vectors_mark:
            self._save_watermarks(latest, vectors_latest if vectors_latest is not None else vectors_mark)
        return papers_written, vectors_written

    def _remove_merged_away(self, store: Store) -> int:
        """Delete the rows of papers the store no longer holds (merged into another under a new id). The store
        keeps no list of them: when the collection holds more papers than the store, its ids are read in
        batches and checked against the store."""
        if self.count() <= store.count_papers():
            return 0
        removed = 0
        iterator = self.client.query_iterator(self.name, batch_size=SYNC_BATCH, filter="", output_fields=["id"])
        try:
            while batch := iterator.next():
                ids = [str(row["id"]) for row in batch]
                gone = sorted(set(ids) - set(store.get_papers(ids)))
                if gone:
                    self.client.delete(self.name, filter=f"id in {_literal_list(gone)}")
                    removed += len(gone)
        finally:
            iterator.close()
        return removed

    def _upsert(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.ensure()
            self.client.upsert(self.name, rows)

    def _row(self, paper: Paper, vector: np.ndarray | None) -> dict[str, Any]:
        dense = np.zeros(self.dim, dtype=np.float32) if vector is None else _unit(vector)
        categories = list(dict.fromkeys(c[:MAX_CATEGORY_CHARS] for c in paper.categories))[:MAX_CATEGORIES]
        return {"id": paper.id, "text": _cut_bytes(analysed(f"{paper.title} {paper.abstract}"), MAX_TEXT_BYTES),
                "dense": dense.tolist(), "embedded": vector is not None,
                "published": _day_number(paper.published) if paper.published else 0,
                "categories": categories, "authors": _cut_bytes(authors_field(paper.authors), MAX_TEXT_BYTES)}

    # Searching (any process) --------------------------------------------------------------------

    def keyword_search(self, parsed: ParsedQuery, k: int, where: MilvusFilter) -> list[tuple[str, float]]:
        """The BM25 ranking of the query's words among the papers passing `where`: (id, score), best first."""
        text = keyword_query_text(parsed)
        if not text or where.matches_nothing:
            return []
        with answering(self.uri):
            self.ensure()
            found = self.client.search(self.name, data=[text], anns_field="sparse", limit=k, filter=where.expression,
                                       search_params={"metric_type": "BM25"}, output_fields=[])
        # A server gives BM25 scores as they are, Milvus Lite negated (best first either way); a score is >= 0.
        return _ranked([(str(hit["id"]), abs(float(hit["distance"]))) for hit in found[0]])

    def vector_search(self, vector: np.ndarray, k: int, where: MilvusFilter) -> list[tuple[str, float]]:
        """The papers with a vector closest to `vector` (inner product) among those passing `where`."""
        if where.matches_nothing:
            return []
        expression = "embedded == true" + (f" and {where.expression}" if where.expression else "")
        with answering(self.uri):
            self.ensure()
            found = self.client.search(self.name, data=[_unit(vector).tolist()],
                                       anns_field="dense", limit=k, filter=expression,
                                       search_params={"metric_type": "IP", "params": {"ef": max(2 * k, MIN_EF)}},
                                       output_fields=[])
        return _ranked([(str(hit["id"]), float(hit["distance"])) for hit in found[0]])


@contextlib.contextmanager
def answering(uri: str) -> Iterator[None]:
    """Milvus failing to answer (down, unreachable, refusing) as SearchUnavailable, which the web app and the
    command line report as a temporary state."""
    from pymilvus import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise SearchUnavailable(f"Milvus at {uri} did not answer ({exc.message}); check PAPERSCOPE_SEARCH_URL "
                                "and that the server runs.") from exc


def _ranked(hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Best first, papers of equal score by id: Milvus orders ties as its segments happen to fall, and a page
    (an offset) must continue the ranking of the page before it."""
    return sorted(hits, key=lambda hit: (-hit[1], hit[0]))


def authors_field(authors: Iterable[str]) -> str:
    """The `authors` field: each author's normalised name words between bars, `| mathilde caron | ... |`."""
    names = [" ".join(author_words(name)) for name in authors]
    return "| " + " | ".join(name for name in names if name) + " |"


def _day_number(day: dt.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _storable(text: str) -> bool:
    """What the store can hold (no NUL, no lone surrogate): other text matches no stored paper."""
    return "\x00" not in text and not any(0xD800 <= ord(ch) < 0xE000 for ch in text)


def _like_escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _literal(text: str) -> str:
    """A Milvus string literal (double quotes; backslash and quote escaped; control characters as spaces)."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal_list(texts: Iterable[str]) -> str:
    return "[" + ", ".join(_literal(text) for text in texts) + "]"


def _cut_bytes(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    return text if len(encoded) <= limit else encoded[:limit].decode("utf-8", errors="ignore")


def _unit(vector: np.ndarray) -> np.ndarray:
    """`vector` as float32 of unit length: inner products are then cosines, as in the embedded index (stored
    vectors are float16, a little off unit length)."""
    dense = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(dense))
    return dense / np.float32(norm) if norm > 0 else dense
