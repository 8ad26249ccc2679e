"""Ingest speed: paperscope's whole ingest path beside a bare json.loads + executemany baseline.

    python bench/bench_ingest.py [--repeat 3] [FILES...]

Defaults to every ../shared/data/arxiv/cs/*.jsonl file (daily-listing JSON Lines). Every side reads the
same lines into a fresh SQLite database in the same run; the best of --repeat runs of each is reported,
as records (input lines) per second, with our figure as a ratio of the baseline's. A third line, the
storage floor, puts the same rows into paperscope's own schema with no parsing, validation or merging:
the part of the gap that the schema (WAL, indexes, batched commits) and not the Python code costs.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

from benchlib import ARXIV_CS, arguments, require
from paperscope.config import Settings
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store


def baseline(files: list[Path], db: Path) -> float:
    """json.loads of every line, then one executemany into a bare table; returns seconds."""
    start = time.perf_counter()
    rows = []
    for path in files:
        with path.open("rb") as stream:
            for line in stream:
                record = json.loads(line)
                rows.append((record["id"], record["title"], record.get("summary") or record.get("abstract")))
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE papers (id TEXT PRIMARY KEY, title TEXT, abstract TEXT)")
    conn.executemany("INSERT OR REPLACE INTO papers VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def schema_floor(files: list[Path], db: Path) -> float:
    """json.loads, then executemany into paperscope's own schema (WAL, 2000-row transactions): storage alone."""
    open_store(str(db)).close()  # the schema, indexes and WAL mode paperscope uses
    start = time.perf_counter()
    now = "2026-01-01 00:00:00.000000"
    rows = {}
    for path in files:
        with path.open("rb") as stream:
            for line in stream:
                r = json.loads(line)
                rows[r["id"]] = (r["id"], r["title"], r["summary"], json.dumps(r["authors"]),
                                 json.dumps(r["categories"]), r["categories"][0], r["abs"], r["pdf"],
                                 r["comment"], '["jsonl"]', "[]", r["title"].lower(), r["authors"][0].lower(),
                                 now, now)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = ("INSERT INTO papers (id, title, abstract, authors, categories, primary_category, abs_url, pdf_url, "
           "comment, sources, ai_keywords, title_key, first_author_key, added_at, modified_at) "
           f"VALUES ({', '.join('?' * 15)})")
    values = list(rows.values())
    for chunk in range(0, len(values), 2000):
        conn.executemany(sql, values[chunk:chunk + 2000])
        conn.commit()
    conn.close()
    return time.perf_counter() - start


def paperscope_ingest(files: list[Path], db: Path) -> tuple[float, int]:
    """paperscope's ingest (parse, validate, merge, store) into a fresh database; returns seconds, papers."""
    store = open_store(str(db))  # creating the schema is not part of the measured ingest
    start = time.perf_counter()
    Ingester(store, Settings(database_url=str(db))).ingest(*map(str, files))
    elapsed = time.perf_counter() - start
    papers = store.count_papers()
    store.close()
    return elapsed, papers


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = args.files or sorted(require(ARXIV_CS).glob("*.jsonl"))
    lines = sum(1 for path in files for line in path.open("rb") if line.strip())
    ours, base, floor, papers = [], [], [], 0
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            base.append(baseline(files, Path(tmp) / f"baseline{run}.db"))
            floor.append(schema_floor(files, Path(tmp) / f"floor{run}.db"))
            seconds, papers = paperscope_ingest(files, Path(tmp) / f"ours{run}.db")
            ours.append(seconds)
    best_ours, best_base = min(ours), min(base)
    print(f"input: {len(files)} files, {lines} records, {papers} unique papers")
    print(f"paperscope ingest        {lines / best_ours:10,.0f} records/s  ({best_ours:.3f} s)")
    print(f"baseline loads+executemany {lines / best_base:8,.0f} records/s  ({best_base:.3f} s)")
    print(f"storage floor: loads+executemany into paperscope's schema {lines / min(floor):,.0f} records/s  "
          f"({min(floor):.3f} s)")
    print(f"ratio (paperscope / baseline): {best_base / best_ours:.2f}  (goal >= 0.50)")
    print(f"ratio (storage floor / baseline): {best_base / min(floor):.2f}  (the most any ingest into this "
          "schema could reach)")


if __name__ == "__main__":
    main()
