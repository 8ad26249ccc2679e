"""Embeddings stored as float16 against float32: SciFact search quality, and the database's size.

    python bench/bench_embedding_precision.py [--n 100000] [--backends sqlite,postgresql] [--postgres-url URL]

Quality, both in the same run: the SciFact corpus (../shared/data/scifact, 5,183 abstracts) is ingested with
paperscope's `Ingester` into two SQLite databases cached under bench/.cache/f16-scifact-*.db. Both get the same
MiniLM vectors (bench/.cache/scifact-citations-minilm.npy, bench_citations.py's, embedded once): one keeps them as
float32 rows, as a paperscope before float16 storage wrote them (the baseline); the other is a copy converted
with `Store.convert_embeddings` (what `paperscope db convert-embeddings` runs), so it reads float16 rows. Each
database answers the 300 test queries through `SearchEngine` (its own vector and keyword indexes, built from the
store) in semantic and hybrid mode: nDCG@10 and Recall@100 side by side, and how many of the float32 database's
top 10 the float16 one returns too (the vector index's recall of float16 against float32).

Size: --n vectors (the SciFact ones, repeated with a little noise and scaled to unit length) stored for as many
minimal papers, once as float32 rows and once with `save_embeddings` (float16), on each backend: the bytes of
the embeddings table with its indexes (SQLite's dbstat; PostgreSQL's pg_total_relation_size), per 100,000
vectors. Without --postgres-url a private PostgreSQL server is started (benchlib.postgres_databases).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from benchlib import CACHE, SCIFACT, arguments, postgres_databases, require, require_cache
from ir_metrics import mean, ndcg_at_k, read_qrels, recall_at_k
from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.schema import embeddings
from paperscope.store.sql import SQLStore

MODEL = "minilm"
VECTORS = CACHE / "scifact-citations-minilm.npy"  # SciFact's corpus in corpus.jsonl order (bench_citations.py)


def store_as_float32(store: Store, papers: list[Paper], vectors: np.ndarray, model: str, version: str) -> None:
    """Rows as a paperscope before float16 storage wrote them: float32 bytes, vector_dtype left to its default."""
    assert isinstance(store, SQLStore)
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        for start in range(0, len(papers), 5000):
            conn.execute(embeddings.insert(), [
                {"paper_id": p.id, "model": model, "model_version": version, "content_hash": p.content_hash,
                 "vector": np.asarray(v, dtype="<f4").tobytes(), "created_at": now}
                for p, v in zip(papers[start:start + 5000], vectors[start:start + 5000], strict=True)])


def scifact_databases() -> tuple[Path, Path]:
    """(float32 database, float16 database) of SciFact with the cached vectors; built once."""
    float32, float16 = CACHE / "f16-scifact-float32.db", CACHE / "f16-scifact-float16.db"
    if float32.exists() and float16.exists():
        return float32, float16
    corpus = [json.loads(line) for line in require(SCIFACT / "corpus.jsonl").open(encoding="utf-8")]
    vectors = np.load(require_cache(VECTORS, "python bench/bench_citations.py --no-recommend"))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    for path in (float32, float16):
        path.unlink(missing_ok=True)
        shutil.rmtree(Path(f"{path}.index"), ignore_errors=True)
    settings = Settings(database_url=str(float32), embedding_model=MODEL)
    with open_store(str(float32)) as store:
        Ingester(store, settings).ingest(str(SCIFACT / "corpus.jsonl"))
        stored = {p.id: p for p in store.iter_papers()}
        papers = [stored[str(doc["id"])] for doc in corpus]
        embedder = SearchEngine(store, settings).embedder
        store_as_float32(store, papers, vectors, embedder.name, embedder.version)
    shutil.copyfile(float32, float16)
    with open_store(str(float16)) as store:
        started = time.perf_counter()
        converted = store.convert_embeddings()
        print(f"convert_embeddings: {converted} vectors in {time.perf_counter() - started:.2f} s")
    return float32, float16


def quality(split: str) -> None:
    qrels = read_qrels(require(SCIFACT / "beir" / "qrels" / f"{split}.tsv"))
    queries = {str(q["_id"]): q["text"] for q in map(json.loads, (SCIFACT / "beir" / "queries.jsonl").open())
               if str(q["_id"]) in qrels}
    runs: dict[str, dict[str, list[str]]] = {}
    for dtype, db in zip(("float32", "float16"), scifact_databases(), strict=True):
        with open_store(str(db)) as store:
            engine = SearchEngine(store, Settings(database_url=str(db), embedding_model=MODEL))
            for mode in ("semantic", "hybrid"):
                runs[f"{mode}, {dtype} rows"] = {
                    q: [hit.id for hit in engine.search(text, mode=mode, limit=100)]  # type: ignore[arg-type]
                    for q, text in queries.items()}
    print(f"SciFact {split}: {len(queries)} queries, model {MODEL}")
    print(f"{'run':28} {'nDCG@10':>8} {'R@100':>7} {'top 10 shared with float32':>27}")
    for name, run in runs.items():
        baseline = runs[name.replace("float16", "float32")]
        shared = mean([len(set(run[q][:10]) & set(baseline[q][:10])) / max(1, len(baseline[q][:10]))
                       for q in queries])
        print(f"{name:28} {mean([ndcg_at_k(run[q], rel, 10) for q, rel in qrels.items()]):8.4f} "
              f"{mean([recall_at_k(run[q], rel, 100) for q, rel in qrels.items()]):7.4f} {shared:27.4f}")


def minimal_papers(store: Store, n: int) -> list[Paper]:
    """n bare papers written straight into the papers table (the size measured is the embeddings table's)."""
    assert isinstance(store, SQLStore)
    from paperscope.store.schema import papers as papers_table

    made = [Paper(id=f"f16-{i:08d}", title=f"Paper {i}") for i in range(n)]
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(papers_table.insert(), [
                {"id": p.id, "title": p.title, "abstract": "", "authors": [], "categories": [], "sources": [],
                 "ai_keywords": [], "ids": [], "title_key": p.title.lower(), "first_author_key": "",
                 "content_hash": p.content_hash, "added_at": now, "modified_at": now}
                for p in made[start:start + 5000]])
    return made


def embeddings_bytes(store: Store) -> int:
    assert isinstance(store, SQLStore)
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return int(conn.execute(sa.text(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                "(SELECT name FROM sqlite_schema WHERE tbl_name = 'embeddings')")).scalar_one())
        return int(conn.execute(sa.text("SELECT pg_total_relation_size('embeddings')")).scalar_one())


def sizes(n: int, databases: dict[str, tuple[str, str]]) -> None:
    base = np.load(require_cache(VECTORS, "python bench/bench_citations.py --no-recommend")).astype(np.float32)
    rng = np.random.default_rng(0)
    vectors = base[np.arange(n) % len(base)] + rng.normal(0, 0.01, (n, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    print(f"\nembeddings table with its indexes, {n:,} vectors of {base.shape[1]} dimensions")
    print(f"{'backend':12} {'float32 rows':>14} {'float16 rows':>14} {'per 100k: float32':>18} "
          f"{'float16':>9} {'ratio':>6}")
    for backend, (float32_url, float16_url) in databases.items():
        measured = {}
        for dtype, url in (("float32", float32_url), ("float16", float16_url)):
            with open_store(url) as store:
                made = minimal_papers(store, n)
                if dtype == "float32":
                    store_as_float32(store, made, vectors, MODEL, "1")
                else:
                    for start in range(0, n, 5000):
                        store.save_embeddings(MODEL, "1", made[start:start + 5000], vectors[start:start + 5000])
                measured[dtype] = embeddings_bytes(store)
        per = {k: v * 100_000 / n / 2**20 for k, v in measured.items()}
        print(f"{backend:12} {measured['float32'] / 2**20:11,.1f} MiB {measured['float16'] / 2**20:11,.1f} MiB "
              f"{per['float32']:14,.1f} MiB {per['float16']:5,.1f} MiB "
              f"{measured['float16'] / measured['float32']:6.2f}")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="vectors stored for the size measurement")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="a server where the benchmark may create two databases")
    parser.add_argument("--split", default="test", choices=["test", "train"])
    args = parser.parse_args()
    quality(args.split)
    backends = args.backends.split(",")
    databases: dict[str, tuple[str, str]] = {}
    folder = CACHE / "f16-size"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if "sqlite" in backends:
        databases["SQLite"] = (str(folder / "float32.db"), str(folder / "float16.db"))
    try:
        if "postgresql" in backends:
            with postgres_databases(args.postgres_url, ("bench_f16_float32", "bench_f16_float16")) as (a, b):
                sizes(args.n, databases | {"PostgreSQL": (a, b)})
        else:
            sizes(args.n, databases)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
