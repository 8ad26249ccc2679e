"""Recommendation requests while the corpus is read again: the latency of a request that reads the corpus itself
(what every request after a change did when the recommender rebuilt under one lock) against a request served
from the previous snapshot while a background thread reads the next one (web/recommendations.py), and the
time to fold new vectors in against a full read.

    nice -n 5 python bench/bench_recommend_refresh.py [--new 200] [--requests 3]

Reads a copy of bench/.cache/web-cs.db (bench_web_load.py builds it: the arXiv cs listings embedded with the
default model), then stores `--new` papers more (copies of stored ones under new ids, with their vectors, as
an ingest and the background job's embedding would). One user with a library of five papers. Timed, in one run:

* full read: `Recommender.load_corpus()` (every vector, TF-IDF fit anew);
* fold: `load_corpus(previous)` after the new vectors were stored;
* request, reads the corpus: a request whose recommender must read the corpus first (the baseline);
* request, during a background read: requests to the web app's `RecommendationCache` while its refresh thread
  does a full read (the worst case: the fold is far shorter) and its warm-up, one after another until it ends;
* request, after the refresh: the requests on the new recommender, the first one included.

The user has had no digest, so every stored paper is a candidate: the heaviest ranking there is (the kNN graph
of 10,000 shortlisted papers), what "For you" and the private feed rank for a user without a subscription.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchlib import WEB_DB, arguments, percentile_ms, require_cache, speedup
from paperscope.config import Settings
from paperscope.models import Paper
from paperscope.recommend.engine import CorpusSnapshot, Recommender
from paperscope.store import Store, open_store
from paperscope.web.recommendations import RecommendationCache

LIBRARY = 5
LIMIT = 10


def _store_new_papers(store: Store, model: str, version: str, count: int) -> None:
    ids, vectors = store.load_embeddings(model)
    originals = store.get_papers(ids[:count])
    new = [Paper(id=f"2699.{n:05d}", title=p.title + " (revised)", abstract=p.abstract, authors=p.authors,
                 categories=p.categories) for n, p in enumerate(originals.values())]
    store.upsert_papers(new)
    store.save_embeddings(model, version, new, vectors[:len(new)])


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--new", type=int, default=200, help="papers stored after the first read")
    parser.add_argument("--requests", type=int, default=3, help="timed requests for the medians")
    args = parser.parse_args()
    source = require_cache(WEB_DB, "python bench/bench_web_load.py")
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "refresh.db"
        shutil.copy(source, database)
        settings = Settings(database_url=f"sqlite:///{database}")
        with open_store(settings.database_url) as store:
            run(store, settings, args.new, args.requests)


def run(store: Store, settings: Settings, new: int, requests: int) -> None:
    recommender = Recommender(store, settings)
    model, version = recommender.embedder.name, recommender.embedder.version
    user = store.accounts.create_user("bench@example.org")
    library = store.papers_added_since(None)[1000:1000 + LIBRARY]
    store.accounts.set_library_state(user.id, library, "saved")

    started = time.perf_counter()
    first = recommender.load_corpus()
    full_read = time.perf_counter() - started
    _store_new_papers(store, model, version, new)
    started = time.perf_counter()
    folded = recommender.load_corpus(first)
    fold = time.perf_counter() - started
    assert folded.folded == new and folded.vectorizer is first.vectorizer

    baseline = []
    for _ in range(requests):  # the recommender reads the corpus inside the request, as a rebuild did
        fresh = Recommender(store, settings)
        started = time.perf_counter()
        fresh.recommend(user.id, candidates=fresh.period_candidates(user.id), limit=LIMIT)
        baseline.append(time.perf_counter() - started)

    go = threading.Event()

    def full_read_when_told(recommender: Recommender, previous: CorpusSnapshot | None) -> CorpusSnapshot:
        if previous is None:
            return recommender.load_corpus()
        go.wait()
        return recommender.load_corpus(None)  # the slow way on purpose: a full read, not a fold

    cache = RecommendationCache(corpus_loader=full_read_when_told)
    entry = cache.for_store(store, settings)
    entry.recommender.use(first)  # the snapshot from before the new papers: the next request starts a refresh
    cache.recommend(store, settings, user.id, LIMIT)  # ranks on it (cold caches, untimed); the refresh waits
    during = []
    go.set()
    refresh_started = time.perf_counter()
    while True:
        started = time.perf_counter()
        cache.recommend(store, settings, user.id, LIMIT)
        during.append(time.perf_counter() - started)
        if entry.wait_for_refresh(0):
            break
    refresh = time.perf_counter() - refresh_started
    current = []
    for _ in range(requests):  # the first of them is the first on the new recommender, warmed by the refresh
        started = time.perf_counter()
        cache.recommend(store, settings, user.id, LIMIT)
        current.append(time.perf_counter() - started)

    print(f"{store.count_papers():,} papers, {new} new, library of {LIBRARY}, {LIMIT} recommendations")
    print(f"full read of the corpus: {full_read:.2f} s; fold of {new} new vectors: {fold:.3f} s "
          f"({speedup(full_read, fold)} faster)")
    print(f"background refresh (full read and warm-up) while requests ran: {refresh:.2f} s, {len(during)} requests "
          "served meanwhile")
    print("| request | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for name, times in (("reads the corpus itself (baseline)", baseline),
                        ("during a background full read", during), ("after the refresh (first one included)", current)):
        print(f"| {name} | {statistics.median(times) * 1000:.0f} | {percentile_ms(times, 95):.0f} | "
              f"{max(times) * 1000:.0f} |")


if __name__ == "__main__":
    main()
