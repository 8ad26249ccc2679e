"""Search, memory, the listing and the database at 10M papers: one command, every step cached.

    python bench/bench_scale_serving.py --n 10000000          # the first run builds (hours), later ones measure
    python bench/bench_scale_serving.py --n 200000            # the same at a size that builds in minutes

1. The store: bench/.cache/scale-db-N.db, made by make_scale_db.py (replicated arXiv cs papers with their
   vectors; above 1M papers only the newest 1M keep their whole abstract, older ones its first sentence).
2. The indexes: the store's own index folder (scale-db-N.db.index/), filled by paperscope's SearchEngine
   (refresh_keyword, refresh_vectors: what `paperscope index` and the worker run), the two in parallel processes.
   Their time and peak RSS are kept in scale-db-N.build-keyword.json and scale-db-N.build-vectors.json. Above
   PAPERSCOPE_VECTOR_COMPRESS_ABOVE vectors the vector index is a compressed generation
   (index/vector_generation.py); one written by an older version is rewritten by the same refresh, as the worker
   does, and that rewrite's figures are kept in scale-db-N.rewrite-vectors.json.
3. Vector recall@10 against exact search over the generation's own float16 rows, on 546 real queries (300
   SciFact claims, the first sentences of the 246 abstracts of the newest arXiv cs listing), and the vector
   part's latency beside exact search's (the baseline, a numpy scan in chunks of the same rows).
4. Hybrid search in one process, query embedding included, p50 / p95 over the 546 query texts; baseline: the
   same steps with the exact scan as the vector part (on fewer queries: it takes seconds each at 10M). Beside it,
   the keyword part alone (BM25, 100 results), for the claims and the first sentences apart.
5. Web processes: `paperscope serve --no-jobs` started three times on the same store and index folder, each
   warmed by the 546 searches and the listing pages. From /proc/PID/smaps_rollup: the first one's RSS, and what
   each further one adds to the machine's memory (the growth of the processes' summed Pss; its own private pages
   beside); from /proc/PID/smaps, the first one's RSS by what is mapped (the index files by part, the keyword
   index's by tantivy's file kind).
6. The listing (newest first, one category, one month, a page at offset 10,000) and trending, over HTTP on the
   first process, p50 / p95, beside a static file served by the same process.
7. The size of the SQLite database and of its largest tables; with --postgres, the store copied into PostgreSQL by
   `db copy` and the size there (kept in scale-db-N.postgres.json).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench_vector_compressed import CLAIMS, exact_truth, real_query_texts
from bench_web_load import serving
from benchlib import CACHE, arguments, percentile_ms
from make_scale_db import build as build_store
from make_scale_db import scale_db_path

FULL_TEXT = 1_000_000  # above this many papers only the newest this many keep their whole abstract
PROCESSES = 3


def settings_for(db: Path) -> Any:
    from paperscope.config import Settings

    return Settings(database_url=f"sqlite:///{db}")


def build_part(db: str, part: str, out: Any) -> None:
    """Child process: one index filled from the store by paperscope's own refresh; sends (seconds, peak MiB)."""
    from paperscope.index.search import SearchEngine
    from paperscope.store import open_store

    path = Path(db)
    with open_store(f"sqlite:///{path}") as store:
        engine = SearchEngine(store, settings_for(path))
        started = time.perf_counter()
        count = engine.refresh_keyword() if part == "keyword" else engine.refresh_vectors()
        out.send({"part": part, "count": count, "seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def build_indexes(db: Path, parts: tuple[str, ...] = ("keyword", "vectors")) -> dict[str, Any]:
    """Both indexes, the parts not built yet built in parallel processes; their figures, each kept beside the
    store (scale-db-N.build-PART.json: a cached run reuses them)."""
    records = {part: db.with_suffix(f".build-{part}.json") for part in parts}
    running = [(part, *start_part(db, part)) for part, record in records.items() if not record.exists()]
    for part, receive, process in running:
        records[part].write_text(json.dumps(receive.recv(), indent=1))
        process.join()
    return {part: json.loads(record.read_text()) for part, record in records.items()}


def start_part(db: Path, part: str) -> tuple[Any, Any]:
    """`build_part` started in a spawned child; the end of the pipe its figures come through, and the child."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=build_part, args=(str(db), part, send))
    process.start()
    return receive, process


def rewrite_outdated(db: Path) -> dict[str, Any] | None:
    """When the cached generation was written with a layout or re-ranking depth this version no longer uses, the
    worker's rewrite (its next refresh keeps the coarse lists and writes new codes), run once in a child; its
    figures, kept in scale-db-N.rewrite-vectors.json."""
    from paperscope.index.vector_generation import Generation

    record = db.with_suffix(".rewrite-vectors.json")
    manifest = next(settings_for(db).resolved_index_dir().glob("vectors-*.manifest.json"), None)
    current = Generation(manifest) if manifest is not None else None
    if current is not None and current.outdated:
        receive, process = start_part(db, "vectors")
        figures = {**receive.recv(), "from": current.layout, "to": Generation(current.manifest_path).layout}
        process.join()
        record.write_text(json.dumps(figures, indent=1))
    return json.loads(record.read_text()) if record.exists() else None


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def memory_of(pid: int) -> dict[str, int]:
    """smaps_rollup figures of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        out[name.rstrip(":")] = int(value) // 1024
    return out


def search_in_process(db: Path, texts: list[str], baseline_queries: int) -> None:
    from paperscope.index.search import SearchEngine
    from paperscope.index.vector_ivf import load_faiss
    from paperscope.store import open_store

    with open_store(f"sqlite:///{db}") as store:
        engine = SearchEngine(store, settings_for(db), writes_indexes=False)
        engine.search(texts[0])  # warm: the model session, the index files
        hybrid = [timed(lambda t=text: engine.search(t, mode="hybrid", limit=10)) for text in texts]
        keyword = [timed(lambda t=text: engine.keyword.search(t, 100)) for text in texts]
        handle = engine.vectors
        print(f"vector index: {handle.index.describe()}")
        vectors = np.vstack([engine.embedder.embed_query(t) for t in texts]).astype(np.float32)
        ann = [timed(lambda v=v: handle.search(v, 100)) for v in vectors]
        faiss = load_faiss()
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        ann_one = [timed(lambda v=v: handle.search(v, 100)) for v in vectors]
        faiss.omp_set_num_threads(threads)
        found = [[pid for pid, _ in handle.search(v, 10)] for v in vectors]
        if not handle.compressed:
            print("the vector index is not compressed at this size: recall against exact is not measured")
            return
        generation = handle.index.base
        started = time.perf_counter()
        truth = exact_truth(generation.rows, vectors, 10)
        exact_batch = time.perf_counter() - started
        recall = np.mean([len(set(f) & {generation.id_of(int(s)) for s in t}) / 10
                          for f, t in zip(found, truth, strict=True)])
        brute = []
        for text in texts[:baseline_queries]:
            started = time.perf_counter()
            vector = engine.embedder.embed_query(text)
            engine.keyword.search(text, 100)
            exact_truth(generation.rows, vector[None, :].astype(np.float32), 100)
            brute.append(time.perf_counter() - started)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"hybrid search, query embedding included ({len(texts)} queries): p50 {percentile_ms(hybrid, 50):.1f} ms, "
          f"p95 {percentile_ms(hybrid, 95):.1f} ms")
    print(f"the same with the exact scan as the vector part ({len(brute)} queries): p50 {percentile_ms(brute, 50):.0f} "
          f"ms, p95 {percentile_ms(brute, 95):.0f} ms; p50 ratio "
          f"{percentile_ms(brute, 50) / percentile_ms(hybrid, 50):.0f}x")
    claims, sentences = keyword[:CLAIMS], keyword[CLAIMS:]
    print(f"the keyword part alone, 100 results: p50 {percentile_ms(keyword, 50):.1f} ms, p95 "
          f"{percentile_ms(keyword, 95):.1f} ms; the {len(claims)} SciFact claims p50 {percentile_ms(claims, 50):.1f} "
          f"ms, p95 {percentile_ms(claims, 95):.1f} ms; the {len(sentences)} arXiv first sentences p50 "
          f"{percentile_ms(sentences, 50):.1f} ms, p95 {percentile_ms(sentences, 95):.1f} ms")
    print(f"the vector part alone, 100 results: p50 {percentile_ms(ann, 50):.1f} ms, "
          f"p95 {percentile_ms(ann, 95):.1f} ms on faiss's {threads} threads, p50 {percentile_ms(ann_one, 50):.1f} ms, "
          f"p95 {percentile_ms(ann_one, 95):.1f} ms on one; "
          f"exact scan of all {len(generation.rows):,} rows for the {len(texts)} queries at once: {exact_batch:.0f} s")
    print(f"vector recall@10 against exact: {recall:.3f}")
    print(f"peak RSS of this process (the exact scan's chunks included): {peak:,.0f} MiB")


def http_latency(base: str, paths: list[str], repeat: int) -> tuple[float, float]:
    seconds = []
    with httpx.Client(base_url=base, timeout=120) as client:
        client.get(paths[0]).raise_for_status()
        for _ in range(repeat):
            for path in paths:
                started = time.perf_counter()
                client.get(path).raise_for_status()
                seconds.append(time.perf_counter() - started)
    return percentile_ms(seconds, 50), percentile_ms(seconds, 95)


def web_processes(db: Path, texts: list[str]) -> None:
    from contextlib import ExitStack
    from urllib.parse import quote_plus

    searches = [f"/api/search?q={quote_plus(t[:200])}" for t in texts]
    routes = {
        "static file (baseline)": ["/static/style.css"],
        "listing, newest first": ["/api/papers?limit=20"],
        "listing, one category": ["/api/papers?limit=20&category=cs.CL"],
        "listing, one month": ["/api/papers?limit=20&from=2020-03-01&to=2020-03-31"],
        "listing, offset 10,000": ["/api/papers?limit=20&offset=10000"],
        "trending": ["/api/trending"],
    }
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(timeout=60))
        bases, pids, pss_sum = [], [], []
        for number in range(PROCESSES):
            base, server = stack.enter_context(serving(str(db), CACHE / f"scale-serve-{number}.log", "--no-jobs",
                                                       "--no-access-log"))
            for path in searches + [p for paths in routes.values() for p in paths]:
                client.get(base + path).raise_for_status()
            bases.append(base)
            pids.append(server.pid)
            figures = [memory_of(pid) for pid in pids]
            pss_sum.append(sum(f["Pss"] for f in figures))
            own = figures[-1]
            added = pss_sum[-1] - (pss_sum[-2] if number else 0)
            print(f"web process {number + 1}: RSS {own['Rss']:,} MiB (anonymous {own['Anonymous']:,}), Pss "
                  f"{own['Pss']:,} MiB, private {own['Private_Clean'] + own['Private_Dirty']:,} MiB; the processes' "
                  f"summed Pss {pss_sum[-1]:,} MiB" + (f" (+{added:,} MiB)" if number else ""))
            if not number:
                print("  its RSS by mapping: " + ", ".join(f"{name} {mib:,} MiB"
                                                          for name, mib in rss_by_mapping(server.pid).items()))
        print("over HTTP on the first process (20 rounds):")
        for name, paths in routes.items():
            p50, p95 = http_latency(bases[0], paths, 20)
            print(f"  {name:<24} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")


#: tantivy's files in a segment, by their suffix (the keyword index's part of a process's RSS, split by kind).
KEYWORD_FILES = {".idx": "postings", ".pos": "positions", ".term": "term dictionary", ".store": "doc store",
                 ".fieldnorm": "field norms", ".fast": "fast fields"}


def rss_by_mapping(pid: int) -> dict[str, int]:
    """A process's RSS in MiB by what is mapped: the index files by part (the keyword index's by tantivy's file
    kind), the database, the rest."""
    kinds = {".codes.faiss": "vector codes", ".rows.f16": "float16 rows", ".npy": "vector ids", ".db": "database"}
    out: dict[str, int] = {}
    name = "anonymous and libraries"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header line
            path = fields[5] if len(fields) > 5 else ""
            if "/keyword/" in path:
                name = f"keyword {KEYWORD_FILES.get(Path(path).suffix, 'other files')}"
            else:
                name = next((kind for part, kind in kinds.items() if part in path), "anonymous and libraries")
        elif fields[0] == "Rss:":
            out[name] = out.get(name, 0) + int(fields[1])
    return {kind: kib // 1024 for kind, kib in sorted(out.items(), key=lambda item: -item[1])}


def database_size(db: Path) -> None:
    print(f"SQLite database: {db.stat().st_size / 2**30:.1f} GiB")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            tables = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
                                  ).fetchall()
        except sqlite3.OperationalError:
            return  # this SQLite has no dbstat
    for name, size in tables:
        print(f"  {name:<36} {size / 2**30:6.2f} GiB")


def postgres_size(db: Path, url: str | None) -> None:
    """The store copied into PostgreSQL by `db copy` (paperscope's own command), and the size of each table there
    beside SQLite's (dbstat); once, the figures kept in scale-db-N.postgres.json."""
    import sqlalchemy as sa

    from benchlib import postgres_databases
    from paperscope.store.copy import copy_database

    record = db.with_suffix(".postgres.json")
    if not record.exists():
        with postgres_databases(url, ("bench_scale_serving",)) as (target,):
            started = time.perf_counter()
            copied = copy_database(str(db), target, batch_size=5000)
            seconds = time.perf_counter() - started
            engine = sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.connect() as conn:
                tables = dict(conn.execute(sa.text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'")).all())
                total = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
            engine.dispose()
        record.write_text(json.dumps({"seconds": seconds, "papers": copied.tables.get("papers", 0),
                                      "database": int(total), "tables": {k: int(v) for k, v in tables.items()}}))
    figures = json.loads(record.read_text())
    print(f"PostgreSQL (db copy of the store: {figures['papers']:,} papers in {figures['seconds']:,.0f} s): "
          f"{figures['database'] / 2**30:.1f} GiB; largest tables with their indexes and TOAST:")
    for name, size in sorted(figures["tables"].items(), key=lambda item: -item[1])[:6]:
        print(f"  {name:<36} {size / 2**30:6.2f} GiB")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--baseline-queries", type=int, default=5, help="Queries for the exact-scan baseline.")
    parser.add_argument("--skip", nargs="*", default=[], choices=["search", "web", "size"])
    parser.add_argument("--postgres", nargs="?", const="private", metavar="URL",
                        help="Also copy the store into PostgreSQL and report its size (a private server unless URL).")
    args = parser.parse_args()
    db = scale_db_path(args.n)
    if not db.exists():
        started = time.perf_counter()
        build_store(args.n, db, FULL_TEXT if args.n > FULL_TEXT else None)
        print(f"store built in {time.perf_counter() - started:.0f} s")
    for part, figures in build_indexes(db).items():
        print(f"index {part}: {figures['count']:,} papers in {figures['seconds']:.0f} s, peak RSS "
              f"{figures['peak_mib']:,.0f} MiB")
    rewrite = rewrite_outdated(db)
    if rewrite is not None:
        change = f"from {rewrite['from']} to {rewrite['to']}" if rewrite["from"] != rewrite["to"] else \
            f"{rewrite['to']}, re-ranking depth changed"
        print(f"vector index rewritten ({change}; coarse lists kept) by the worker's refresh: "
              f"{rewrite['seconds']:.0f} s, peak RSS {rewrite['peak_mib']:,.0f} MiB")
    texts = real_query_texts()
    if "search" not in args.skip:
        search_in_process(db, texts, args.baseline_queries)
    if "web" not in args.skip:
        web_processes(db, texts)
    if "size" not in args.skip:
        database_size(db)
    if args.postgres:
        postgres_size(db, None if args.postgres == "private" else args.postgres)


if __name__ == "__main__":
    main()
