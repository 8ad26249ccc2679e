"""Recommendations on a store of a million replicated papers: the bounded corpus beside the whole corpus.

    python bench/bench_recommend_scale.py [--n 1000000] [--sides bounded full] [--limit-gib 8]

The store: bench/.cache/scale-db-N.db (bench/make_scale_db.py: N replicated arXiv cs papers, 17k a week). Each
side gets a user of its own (made once; its stored signal mix is cleared at each run, so every run chooses it): 30
saved cs.CL papers from copy 10 of the source, long before the newest papers, and a weekly personal digest.

- bounded: `Recommender` as it ships: PAPERSCOPE_RECOMMEND_CORPUS_PAPERS at its default (50,000): the newest
  50,000 papers and every user's marked ones.
- full: the same code with the bound above the store's size, which is the whole-corpus path (every stored
  vector and a TF-IDF matrix of every title and abstract): what the recommender does with no bound.

Each side runs in a process of its own and is measured as the web app uses it: the first recommendation (loading
the corpus, the rankers' per-corpus work, the user's signal mix), then three more (the median), each with the
candidates the web route passes (`period_candidates`: the papers since the last digest, here every paper up to
the bound); then the user's weekly digest (`DigestComposer.compose`, the papers of the last week) twice (the
median). RSS is read after each step; peak RSS is the process's ru_maxrss. A side whose RSS passes --limit-gib,
or that runs past --timeout-min, is stopped and reported with the step it was in and its RSS then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import CACHE, arguments, require_cache

LIBRARY = 30


def rss_mib() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def watchdog(limit_mib: float, state: dict[str, Any], path: Path) -> None:
    """Stop this process (reporting so) when its RSS passes `limit_mib`; write `state`, with the RSS now and at
    its peak, to `path` every few seconds (what the parent reports of a side it had to stop)."""
    def watch() -> None:
        while True:
            state["rss_now_mib"] = rss_mib()
            state["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            path.write_text(json.dumps(state))
            if state["rss_now_mib"] > limit_mib:
                print(json.dumps({"error": f"RSS passed {limit_mib / 1024:.0f} GiB", **state}), flush=True)
                os._exit(3)
            time.sleep(2)
    threading.Thread(target=watch, daemon=True).start()


def bench_user(db: Path, side: str) -> str:
    """The side's user (made once): LIBRARY saved cs.CL papers of copy 10, a weekly personal digest."""
    from paperscope.store import open_store

    email = f"bench-scale-{side}@example.org"
    with open_store(str(db)) as store:
        if store.accounts.get_user_by_email(email) is None:
            with sqlite3.connect(db) as connection:
                library = [row[0] for row in connection.execute(
                    "SELECT id FROM papers WHERE id LIKE 's010-%' AND primary_category = 'cs.CL' ORDER BY id LIMIT ?",
                    (LIBRARY,))]
            user = store.accounts.create_user(email)
            store.accounts.set_library_state(user.id, library, "saved")
            store.digests.subscribe(user.id, kind="personal", frequency="weekly")
        user = store.accounts.get_user_by_email(email)
        assert user is not None
        store.accounts.save_signal_mix(user.id, "", {})  # no stored mix: each run chooses it again
    return email


def run_side(db: Path, side: str, limit_gib: float) -> dict[str, Any]:
    from paperscope.config import Settings
    from paperscope.digest.compose import DigestComposer
    from paperscope.recommend import Recommender
    from paperscope.store import open_store

    email = bench_user(db, side)
    settings = Settings(database_url=str(db), embedding_model="minilm",
                        **({"recommend_corpus_papers": 10**12} if side == "full" else {}))
    result: dict[str, Any] = {"side": side, "bound": settings.recommend_corpus_papers, "rss_start_mib": rss_mib(),
                              "step": "first recommendation", "since": time.time()}
    watchdog(limit_gib * 1024, result, state_path(db, side))
    with open_store(str(db)) as store:
        user = store.accounts.get_user_by_email(email)
        assert user is not None
        recommender = Recommender(store, settings, refresh_on_read=False)

        def recommend() -> list[Any]:
            return recommender.recommend(user.id, candidates=recommender.period_candidates(user.id), limit=10)

        started = time.perf_counter()
        first = recommend()
        result["first_seconds"] = time.perf_counter() - started
        result["corpus_papers"] = len(recommender.corpus.ids)
        result["rss_after_first_mib"] = rss_mib()
        result["step"] = "later recommendations"
        times = []
        for _ in range(3):
            started = time.perf_counter()
            again = recommend()
            times.append(time.perf_counter() - started)
        result["recommend_seconds"] = statistics.median(times)
        result["rss_after_recommend_mib"] = rss_mib()
        result["top10"] = [r.id for r in again]
        result["first_top10"] = [r.id for r in first]
        result["step"] = "digests"
        subscription = store.digests.get_subscription(user.id)
        assert subscription is not None
        newest = max(store.paper_dates(store.papers_added_since(None, limit=1)).values())
        now = dt.datetime.combine(newest, dt.time(23, 0), tzinfo=dt.UTC)
        composer = DigestComposer(store, settings, recommender)
        times = []
        for _ in range(2):
            started = time.perf_counter()
            digest = composer.compose(subscription, now, None)
            times.append(time.perf_counter() - started)
        result["digest_seconds"] = statistics.median(times)
        result["digest_papers"] = len(digest.personal) if digest else 0
        result["digest_ids"] = [p.id for p in digest.personal] if digest else []
    result["rss_end_mib"] = rss_mib()
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def state_path(db: Path, side: str) -> Path:
    return db.with_suffix(f".recommend-{side}.json")


def child(db: Path, side: str, limit_gib: float, timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run([sys.executable, __file__, "--child", side, str(db), str(limit_gib)], check=False,
                              stdout=subprocess.PIPE, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    except subprocess.TimeoutExpired:
        state: dict[str, Any] = json.loads(state_path(db, side).read_text())
        return {**state, "error": f"stopped after {timeout / 60:.0f} min, during the {state['step']}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sides", nargs="+", default=["bounded", "full"], choices=["bounded", "full"])
    parser.add_argument("--limit-gib", type=float, default=8.0)
    parser.add_argument("--timeout-min", type=float, default=20.0, help="Stop a side after this many minutes.")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, db, limit = args.child
        print(json.dumps(run_side(Path(db), side, float(limit))))
        return
    db = require_cache(CACHE / f"scale-db-{args.n}.db", f"python bench/make_scale_db.py --n {args.n}")
    results = {}
    for side in args.sides:
        result = results[side] = child(db, side, args.limit_gib, args.timeout_min * 60)
        if "error" in result:
            print(f"{side} (bound {result['bound']:,}): did not finish: {result['error']}; RSS then "
                  f"{result['rss_now_mib']:,.0f} MiB, peak {result['peak_mib']:,.0f} MiB")
            continue
        print(f"{side} (bound {result['bound']:,}): corpus {result['corpus_papers']:,} papers; first "
              f"recommendation {result['first_seconds']:.1f} s (RSS {result['rss_after_first_mib']:,.0f} MiB), "
              f"then {result['recommend_seconds'] * 1000:,.0f} ms (median of 3); weekly digest "
              f"{result['digest_seconds']:.2f} s ({result['digest_papers']} papers); RSS at the end "
              f"{result['rss_end_mib']:,.0f} MiB, peak {result['peak_mib']:,.0f} MiB")
    bounded, full = results.get("bounded"), results.get("full")
    if bounded and full and "error" not in bounded and "error" not in full:
        same_digest = len(set(bounded["digest_ids"]) & set(full["digest_ids"]))
        print(f"bounded / full: {bounded['peak_mib'] / full['peak_mib']:.2f}x the peak RSS, "
              f"{bounded['first_seconds'] / full['first_seconds']:.2f}x the first recommendation's time, "
              f"{bounded['recommend_seconds'] / full['recommend_seconds']:.2f}x a later one's, "
              f"{bounded['digest_seconds'] / full['digest_seconds']:.2f}x the digest's; "
              f"{same_digest} of {len(full['digest_ids'])} digest papers the same")


if __name__ == "__main__":
    main()
