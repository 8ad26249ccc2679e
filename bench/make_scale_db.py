"""A SQLite database of N replicated real papers with their vectors, for the benchmarks at 1M and 10M papers.

    python bench/make_scale_db.py --n 1000000        # -> bench/.cache/scale-db-1000000.db (kept, reused)
    python bench/make_scale_db.py --n 10000000 --full-text 1000000

The source: the 17k arXiv cs papers of bench/.cache/web-cs.db with their all-MiniLM-L6-v2 vectors (made by
bench/bench_web_load.py). Copy r of a paper gets the id `sNNN-<arXiv id>`, its title's and abstract's words with
10 % dropped at random, and its vector plus noise drawn from the real embeddings' own covariance, renormalised
(bench_vector.py's "real" set). Copy r is added to the store r weeks after copy 0 (published that day, its
vector stored the same minute), so the database spans N / 17k weeks of papers, about 2,400 a day, and "the
papers of the last week" is one copy of the source.

The database is created with paperscope's migrations (the store's own schema); the rows are then written with
plain INSERTs in large transactions (papers, their categories, their vectors as float16 blobs, as the store
writes them), not through the Ingester, whose rate bench/bench_scale.py measures. Author-word rows (the author
filter's index) are not written. With --full-text M only the newest M papers keep their whole abstract and older
ones its first sentence: 10M papers with --full-text 1000000 took 32 minutes and 23.8 GiB. The build stops,
deleting what it wrote, when the disk would keep less than 25 GB free.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import CACHE, arguments, require_cache

SOURCE = CACHE / "web-cs.db"
MODEL = "all-MiniLM-L6-v2/onnx-int8"
START = dt.datetime(2015, 1, 5, 8, 0, 0)  # copy 0's day; copy r comes r weeks later
DROP = 0.1  # share of a title's and an abstract's words dropped in a copy
KEEP_FREE = 25 * 10**9  # bytes of disk the build leaves to others


def scale_db_path(n: int) -> Path:
    return CACHE / f"scale-db-{n}.db"


def unit_rows(X: np.ndarray) -> np.ndarray:
    X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    return X


def perturb(words: list[str], rng: np.random.Generator) -> str:
    kept = [w for w, keep in zip(words, rng.random(len(words)) >= DROP, strict=True) if keep]
    return " ".join(kept or words)


def first_sentence(words: list[str]) -> list[str]:
    for k, word in enumerate(words):
        if word.endswith(".") and k >= 8:
            return words[:k + 1]
    return words


def build(n: int, path: Path, full_text: int | None = None) -> None:
    from paperscope.store import open_store

    require_cache(SOURCE, "python bench/bench_web_load.py")
    source = sqlite3.connect(f"file:{SOURCE}?mode=ro", uri=True)
    columns = [row[1] for row in source.execute("PRAGMA table_info(papers)")]
    rows = source.execute(f"SELECT {', '.join(columns)} FROM papers ORDER BY id").fetchall()
    with open_store(f"sqlite:///{SOURCE}") as source_store:  # reads float16 and float32 rows alike
        vectors = dict(zip(*source_store.load_embeddings(MODEL), strict=True))
    model_version = source.execute("SELECT model_version FROM embeddings LIMIT 1").fetchone()[0]
    rows = [row for row in rows if row[0] in vectors]
    categories = {}
    for paper_id, category in source.execute("SELECT paper_id, category FROM paper_categories"):
        categories.setdefault(paper_id, []).append(category)
    base = unit_rows(np.vstack([vectors[row[0]] for row in rows]).astype(np.float32))
    _, singular, vt = np.linalg.svd(base - base.mean(axis=0), full_matrices=False)
    noise_sd = (singular / np.sqrt(len(base) - 1)).astype(np.float32)
    at = {name: k for k, name in enumerate(columns)}
    words = [(str(row[at["title"]]).split(), str(row[at["abstract"]]).split()) for row in rows]
    short = [first_sentence(abstract) for _, abstract in words]

    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    open_store(str(partial)).close()  # the schema, by paperscope's migrations
    out = sqlite3.connect(partial, isolation_level=None)
    out.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;")
    insert_paper = f"INSERT INTO papers ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    rng = np.random.default_rng(0)
    copies = -(-n // len(rows))
    written = 0
    started = time.perf_counter()
    for copy in range(copies):
        if shutil.disk_usage(path.parent).free < KEEP_FREE:
            out.close()
            partial.unlink()
            raise SystemExit(f"stopped at {written:,} papers: less than {KEEP_FREE / 1e9:.0f} GB of disk left free")
        take = min(len(rows), n - written)
        whole = full_text is None or n - written <= full_text
        day = START + dt.timedelta(weeks=copy)
        noise = (rng.standard_normal((take, len(noise_sd)), dtype=np.float32) * noise_sd) @ vt.astype(np.float32)
        copy_vectors = unit_rows(base[:take] + noise).astype("<f2")  # the store's STORED_DTYPE
        papers, paper_categories, embeddings = [], [], []
        for k in range(take):
            row = list(rows[k])
            source_id = row[at["id"]]
            paper_id = f"s{copy:03d}-{source_id}"
            added = (day + dt.timedelta(seconds=k)).isoformat(sep=" ")
            row[at["id"]] = paper_id
            row[at["title"]] = perturb(words[k][0], rng)
            row[at["abstract"]] = perturb(words[k][1] if whole else short[k], rng)
            row[at["published"]] = day.date().isoformat()
            row[at["added_at"]] = row[at["modified_at"]] = added
            papers.append(row)
            paper_categories += [(paper_id, category) for category in categories.get(source_id, ())]
            embeddings.append((paper_id, MODEL, model_version, row[at["content_hash"]] or "0" * 40,
                               copy_vectors[k].tobytes(), "float16", added))
        out.execute("BEGIN")
        out.executemany(insert_paper, papers)
        out.executemany("INSERT INTO paper_categories (paper_id, category) VALUES (?, ?)", paper_categories)
        out.executemany("INSERT INTO embeddings (paper_id, model, model_version, content_hash, vector, vector_dtype, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", embeddings)
        out.execute("COMMIT")
        written += take
        if copy % 10 == 0 or written == n:
            rate = written / (time.perf_counter() - started)
            print(f"{written:,} papers written ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    out.execute("ANALYZE")
    out.close()
    partial.rename(path)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--full-text", type=int, help="Only the newest this many papers keep their whole abstract.")
    args = parser.parse_args()
    path = scale_db_path(args.n)
    if path.exists():
        print(f"{path} exists (delete it to make it anew)")
        return
    started = time.perf_counter()
    build(args.n, path, args.full_text)
    print(f"{path}: {args.n:,} papers in {time.perf_counter() - started:.0f} s, "
          f"{path.stat().st_size / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
