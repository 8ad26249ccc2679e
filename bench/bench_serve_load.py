"""Mixed traffic on `paperscope serve --workers N`: PostgreSQL beside SQLite, in one run.

    nice -n 5 python bench/bench_serve_load.py [--duration 60] [--workers 2] [--connections 16]
    python bench/bench_serve_load.py --scale-db bench/.cache/latency-1000000.db   # RSS and search at 1M papers

The data is bench/bench_web_load.py's database (the 17,142 papers of ../shared/data/arxiv/cs plus the recorded
Hugging Face daily papers, embedded with the default model; built once and cached). For each backend the
benchmark makes a scratch copy (SQLite: the file; PostgreSQL: `paperscope db copy --to` into a private server
with PostgreSQL's default, durable settings, or --postgres-url), adds 50 users with API tokens, starts `paperscope
serve --workers N` (N web processes and the background worker) and runs wrk for --duration seconds with this mix
(a Lua script picks each request at random):

* 40 % `/`: the trending page;
* 25 % `/search?q=...`: the search page, hybrid, 24 queries;
* 25 % `/papers/{id}`: paper pages, 500 random papers;
* 10 % `PUT /api/papers/{id}/vote`: a vote (up or withdrawn) by one of the 50 users, with its API token.

Reported per backend: requests/s, latency p50/p95/p99 over the mix, errors (socket errors and non-2xx), and
the RSS of the server's processes; the baseline in the same run is the same server's static file
(`/static/style.css`) and, for PostgreSQL, SQLite's figures (ratio).

With --scale-db a database that already holds papers, vectors and indexes (bench_search_latency.py builds
one of 1M papers) is served by one web process without jobs; after a warm-up the benchmark reports the
server's RSS and the latency of `/api/search` (hybrid, one connection, the 300 SciFact queries that
bench_search_latency.py times in process) beside the static file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import psutil

from bench_web_load import LUA_DONE, QUERIES, build, env, run_wrk, serving, wrk
from benchlib import CACHE, SCIFACT, WEB_DB, arguments, postgres_databases

MIX = [("home", 40), ("search", 25), ("paper", 25), ("vote", 10)]
USERS = 50
PAPER_PAGES = 500
LUA = """
local home = {"/"}
local searches = {%(searches)s}
local papers = {%(papers)s}
local tokens = {%(tokens)s}
local kinds = {%(kinds)s}
math.randomseed(7)
request = function()
  local kind = kinds[math.random(#kinds)]
  if kind == "home" then return wrk.format("GET", "/") end
  if kind == "search" then return wrk.format("GET", searches[math.random(#searches)]) end
  local paper = papers[math.random(#papers)]
  if kind == "paper" then return wrk.format("GET", "/papers/" .. paper) end
  local up = math.random(2) == 1 and "true" or "false"
  return wrk.format("PUT", "/api/papers/" .. paper .. "/vote",
    {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)], ["Content-Type"] = "application/json"},
    '{"up": ' .. up .. '}')
end
"""


def mixed(papers: list[str], tokens: list[str]) -> str:
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    return LUA % {"searches": ", ".join(json.dumps(f"/search?q={quote_plus(q)}") for q in QUERIES),
                  "papers": ", ".join(json.dumps(p) for p in papers),
                  "tokens": ", ".join(json.dumps(t) for t in tokens),
                  "kinds": ", ".join(json.dumps(k) for k in kinds)} + LUA_DONE


def tree_rss_mib(process: subprocess.Popen[bytes]) -> tuple[float, int]:
    """RSS of the server and every process it started (web processes, worker), and how many there are."""
    parent = psutil.Process(process.pid)
    members = [parent, *parent.children(recursive=True)]
    return sum(p.memory_info().rss for p in members) / 2**20, len(members)


def server_env(index_dir: Path) -> dict[str, str]:
    """The index folder given to serve, no sources to ingest, the background worker on."""
    return {"PAPERSCOPE_INDEX_DIR": str(index_dir), "PAPERSCOPE_INGEST_SOURCES": "",
            "PAPERSCOPE_BACKGROUND_JOBS": "true"}


def prepare_accounts(database: str) -> tuple[list[str], list[str]]:
    """50 users with API tokens, and 500 random paper ids for the paper pages and votes."""
    from paperscope.store import open_store

    with open_store(database) as store:
        ids = sorted(p.id for p in store.iter_papers())
        tokens = []
        for n in range(USERS):
            user = store.accounts.create_user(f"load{n}@example.org")
            tokens.append(store.sessions.create_api_token(user.id, "load")[1])
    return random.Random(0).sample(ids, PAPER_PAGES), tokens


def warm_up(base: str, papers: list[str], processes: int) -> None:
    """Load the model, open the indexes and rank trending in every web process (new connections spread)."""
    for _ in range(4 * processes):
        for path in ["/", f"/search?q={quote_plus(QUERIES[0])}", f"/papers/{papers[0]}"]:
            httpx.get(base + path, timeout=120, headers={"Connection": "close"}).raise_for_status()


def measure_backend(name: str, database: str, index_dir: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    papers, tokens = prepare_accounts(database)
    with serving(database, CACHE / f"serve-load-{name.lower()}.log", "--workers", str(args.workers),
                 extra_env=server_env(index_dir)) as (base, server):
        warm_up(base, papers, args.workers)
        results = {"static": wrk(base, ["/static/style.css"], args.duration, args.connections),
                   "mixed": run_wrk(base, mixed(papers, tokens), args.duration, args.connections)}
        rss, count = tree_rss_mib(server)
        results["mixed"]["rss_mib"] = rss
        results["mixed"]["processes"] = count
        print(f"  {name}: {results['mixed']['rps']:.0f} req/s mixed, p95 {results['mixed']['p95']:.1f} ms, "
              f"{results['mixed']['errors']:.0f} errors, {count} processes {rss:,.0f} MiB", file=sys.stderr)
    return results


def mixed_load(args: argparse.Namespace) -> None:
    build()
    scratch = Path(tempfile.mkdtemp(prefix="paperscope-serve-load-"))
    source_index = WEB_DB.with_name(WEB_DB.name + ".index")
    results = {}
    try:
        sqlite_db = scratch / "sqlite" / "site.db"
        sqlite_db.parent.mkdir()
        shutil.copy(WEB_DB, sqlite_db)
        shutil.copytree(source_index, sqlite_db.parent / "index")
        results["SQLite"] = measure_backend("SQLite", str(sqlite_db), sqlite_db.parent / "index", args)
        with postgres_databases(args.postgres_url, ("bench_serve_load",)) as (url,):
            subprocess.run([sys.executable, "-m", "paperscope", "--db", str(WEB_DB), "db", "copy", "--to", url],
                           env=env(), check=True, capture_output=True)
            (scratch / "postgresql").mkdir()
            shutil.copytree(source_index, scratch / "postgresql" / "index")  # same papers, same times
            results["PostgreSQL"] = measure_backend("PostgreSQL", url, scratch / "postgresql" / "index", args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sqlite_rps = results["SQLite"]["mixed"]["rps"]
    print(f"\n`serve --workers {args.workers}` (+ the worker); wrk -t1 -c{args.connections} -d{args.duration}s; mix "
          + ", ".join(f"{w} % {k}" for k, w in MIX) + f"; {os.cpu_count()} cores\n")
    print("| backend | route | req/s | ratio to SQLite | ratio to static | p50 ms | p95 ms | p99 ms | requests | "
          "errors | RSS of all processes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, figures in results.items():
        for route, r in figures.items():
            rss = f"{r['rss_mib']:,.0f} MiB ({r['processes']:.0f})" if "rss_mib" in r else ""
            ratio = f"{r['rps'] / sqlite_rps:.2f}" if route == "mixed" else ""
            print(f"| {backend} | {route} | {r['rps']:.0f} | {ratio} | {r['rps'] / figures['static']['rps']:.2f} | "
                  f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['requests']:,.0f} | {r['errors']:.0f} | "
                  f"{rss} |")


def scale_queries(count: int = 300) -> list[str]:
    """The first 300 SciFact queries, as bench_search_latency.py uses them (the 24 short ones without SciFact)."""
    path = SCIFACT / "beir" / "queries.jsonl"
    if not path.exists():
        return QUERIES
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines][:count]


def scale(args: argparse.Namespace) -> None:
    database = Path(args.scale_db)
    index_dir = database.with_name(database.name + ".index")
    started = time.perf_counter()
    with serving(str(database), CACHE / "serve-scale.log", "--no-jobs", extra_env=server_env(index_dir)
                 ) as (base, server):
        ready = time.perf_counter() - started
        api = [f"/api/search?q={quote_plus(q)}&limit=10" for q in scale_queries()]
        for path in api:
            httpx.get(base + path, timeout=300).raise_for_status()
        papers = httpx.get(f"{base}/api/status", timeout=60).json()
        static = wrk(base, ["/static/style.css"], args.duration, 1)
        search = wrk(base, api, args.duration, 1)
        rss, count = tree_rss_mib(server)
    print(f"\n{papers['papers']:,} papers, vectors indexed {papers['vectors_indexed']:,}; serve ready in "
          f"{ready:.0f} s; RSS {rss:,.0f} MiB ({count} process); wrk -t1 -c1 -d{args.duration}s\n")
    print("| route | req/s | p50 ms | p95 ms | p99 ms | requests | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in (("baseline: /static/style.css", static), (f"/api/search (hybrid, {len(api)} queries)", search)):
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['requests']:,.0f} | "
              f"{r['errors']:.0f} |")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--duration", type=int, default=60, help="Seconds of load per measurement.")
    parser.add_argument("--workers", type=int, default=2, help="Web processes of serve.")
    parser.add_argument("--connections", type=int, default=16, help="Concurrent connections of wrk.")
    parser.add_argument("--postgres-url", help="A server where the benchmark may create a database.")
    parser.add_argument("--scale-db", help="Serve this database (with its index folder beside it) alone and report "
                        "RSS and search latency instead of the mixed load.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    if args.scale_db:
        scale(args)
    else:
        mixed_load(args)


if __name__ == "__main__":
    main()
