"""Scale: ingest a synthetic corpus of N papers (1M by default) into SQLite and PostgreSQL.

    python bench/bench_scale.py [--n 1000000] [--backends sqlite,postgresql] [--postgres-url URL]

The corpus: the 17,142 real papers of ../shared/data/arxiv/cs/*.jsonl replicated with new ids (each copy
`sNNN-<arXiv id>`) and perturbed text (10 % of the title's and the abstract's words dropped at random), as
one JSON Lines file cached in bench/.cache/. Each backend gets a fresh database; paperscope's ingest
(`Ingester`: parse, validate, merge, store in 2000-paper transactions) is timed, then the database size is
read. The baseline, in the same run and on the same server, is the fastest bulk load of the same records
into a bare table (id, title, abstract, authors, categories): `executemany` in one transaction on SQLite,
`COPY` on PostgreSQL. With --copy, `db copy` of the SQLite database into PostgreSQL is timed too.
Without --postgres-url a private PostgreSQL server with its default (durable)
settings is started in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import sqlalchemy as sa

from benchlib import ARXIV_CS, CACHE, arguments, postgres_databases, require
from paperscope.config import Settings
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store


def real_papers(folder: Path) -> list[dict[str, object]]:
    unique: dict[str, dict[str, object]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        with path.open("rb") as lines:
            for line in lines:
                record = orjson.loads(line)
                unique.setdefault(str(record["id"]), record)
    return list(unique.values())


def perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    kept = [w for w in words if rng.random() >= 0.1]
    return " ".join(kept or words)


def corpus(n: int, folder: Path) -> Path:
    """The cached synthetic corpus of n papers, generated on first use."""
    path = CACHE / f"scale-{n}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    papers = real_papers(folder)
    rng = random.Random(0)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        for number in range(n):
            copy, source = divmod(number, len(papers))
            record = dict(papers[source])
            record["id"] = f"s{copy:03d}-{record['id']}"
            record["title"] = perturb(str(record["title"]), rng)
            record["summary"] = perturb(str(record.get("summary") or ""), rng)
            out.write(orjson.dumps(record) + b"\n")
    partial.replace(path)
    return path


def records(path: Path) -> Iterator[tuple[str, str, str, str, str]]:
    with path.open("rb") as lines:
        for line in lines:
            r = orjson.loads(line)
            yield (r["id"], r["title"], r["summary"], json.dumps(r["authors"]), json.dumps(r["categories"]))


def baseline_sqlite(path: Path, db: Path) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE papers (id TEXT PRIMARY KEY, title TEXT, abstract TEXT, authors TEXT, "
                  "categories TEXT)")
    conn.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?)", records(path))
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def baseline_postgres(path: Path, url: str) -> float:
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE baseline_papers (id text PRIMARY KEY, title text, abstract text, "
                      "authors json, categories json)")
        with conn.cursor().copy("COPY baseline_papers FROM STDIN") as copy:
            for row in records(path):
                copy.write_row(row)
    return time.perf_counter() - start


def postgres_size(url: str, table_like: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        size = conn.execute(sa.text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public' "
            "AND c.relname LIKE :like"), {"like": table_like}).scalar_one()
    engine.dispose()
    return int(size)


def ingest(path: Path, database: str) -> tuple[float, int]:
    store = open_store(database)  # the schema is created before the clock starts
    start = time.perf_counter()
    report = Ingester(store, Settings(database_url=database)).ingest(str(path))
    elapsed = time.perf_counter() - start
    count = store.count_papers()
    store.close()
    assert report.rejected == 0, report.summary()
    return elapsed, count


def report(backend: str, n: int, ours: float, count: int, size: int, base: float, base_size: int) -> None:
    print(f"{backend}: paperscope ingest {count:,} papers in {ours:,.1f} s ({n / ours:,.0f} papers/s), "
          f"database {size / 2**20:,.0f} MiB")
    print(f"{backend}: baseline bulk load in {base:,.1f} s ({n / base:,.0f} papers/s), "
          f"bare table {base_size / 2**20:,.0f} MiB")
    print(f"{backend}: ratio paperscope / baseline speed {base / ours:.2f}; size {size / base_size:.2f}x")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="a server where the benchmark may create two databases")
    parser.add_argument("--copy", action="store_true", help="also time db copy of the SQLite database to PostgreSQL")
    args = parser.parse_args()
    started = time.perf_counter()
    path = corpus(args.n, require(ARXIV_CS))
    print(f"corpus: {args.n:,} papers, {path.stat().st_size / 2**20:,.0f} MiB of JSON Lines "
          f"({time.perf_counter() - started:.0f} s to prepare or load)", flush=True)
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        db = Path(tmp) / "scale.db"
        if "sqlite" in backends:
            ours, count = ingest(path, str(db))
            with sqlite3.connect(db) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = db.stat().st_size
            base = baseline_sqlite(path, Path(tmp) / "baseline.db")
            report("sqlite", args.n, ours, count, size, base, (Path(tmp) / "baseline.db").stat().st_size)
        if "postgresql" in backends:
            with postgres_databases(args.postgres_url) as (ours_url, base_url):
                ours, count = ingest(path, ours_url)
                size = postgres_size(ours_url, "%")
                base = baseline_postgres(path, base_url)
                report("postgresql", args.n, ours, count, size, base, postgres_size(base_url, "baseline_papers"))
                if args.copy and db.exists():
                    copy_to_postgres(db, ours_url, args.n, base)


def copy_to_postgres(db: Path, scratch_url: str, n: int, baseline_seconds: float) -> None:
    """`db copy` of the SQLite database into an empty PostgreSQL database, beside COPY of the raw records."""
    from paperscope.store.copy import copy_database

    engine = sa.create_engine(scratch_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:  # reuse the scratch database, emptied
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    start = time.perf_counter()
    copied = copy_database(str(db), scratch_url, batch_size=5000)
    seconds = time.perf_counter() - start
    print(f"db copy SQLite -> PostgreSQL: {copied.tables['papers']:,} papers in {seconds:,.1f} s "
          f"({n / seconds:,.0f} papers/s); ratio to COPY of the raw records {baseline_seconds / seconds:.2f}")


if __name__ == "__main__":
    main()
