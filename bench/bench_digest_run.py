"""Speed of a digest run: 100 users, one day's worth of new papers, the shipped ranker beside the baseline.

    nice -n 5 python bench/bench_digest_run.py [--users 100] [--before COMMIT]

A real `send_digests(dry_run=True)` over a SQLite store: the arXiv cs listings of 2025 weeks 12-21 are
ingested first (the history), then week 22's (the period: every user's digest ranks the papers stored
since). The vectors are copied from bench/.cache/web-cs.db (all-MiniLM-L6-v2 int8, as bench_recommend uses)
instead of embedding again. Users: 10 interests x 10, each with 10-30 saved papers of their category from
the history and 2-6 hidden ones of another, subscribed daily.

Printed, per user: the whole run (compose: read the user's marks, rank, render the e-mail) and the ranking
alone, for three rankers and the baseline, in the same run:
* `PerUserGraphRanker` (defined here): the same personalised PageRank as `GraphRanker`, but with the kNN graph
  of the library, hidden papers, background sample and candidates built from scratch for every user, and the
  background drawn per user: the straightforward form of the algorithm, the baseline of the shared graph;
* `GraphRanker`: the kNN lists of the period and of a once-drawn background shared by the run, the user's
  papers merged in;
* the fixed fusion of the linear SVM and that graph (the default mix of recommend/mix.py);
* the shipped per-user signal mix, twice: the first run chooses each user's mix from the library and stores it,
  the next reads it from the store (the libraries did not change);
* with `--tags N`, the shipped mix again with each library split into N tags and the digests subscribed `by_tag`
  (a section ranked from each tag's papers alone), beside the whole-library run before it;
* arxiv-sanity-lite's per-user LinearSVC on TF-IDF over the same corpus (bench_recommend.py).
Also how many of each user's 10 picks the shared graph and the shipped ranker share with the per-user graph.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from bench_recommend import MODEL, Papers, arxiv_sanity_scores, arxiv_sanity_tfidf, load_papers
from benchlib import ARXIV_CS, CACHE, WEB_DB, arguments, require_cache
from paperscope.config import Settings
from paperscope.digest import send_digests
from paperscope.ingest.pipeline import Ingester
from paperscope.recommend import GraphRanker, Recommender, Signals, default_ranker
from paperscope.recommend.rankers import Corpus, knn_graph
from paperscope.store import Store, open_store

HISTORY, PERIOD = range(12, 22), 22
INTERESTS = ("cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.RO", "eess.IV", "cs.GR", "cs.IR", "cs.CR", "cs.HC")


class Timed:
    """A ranker that adds up the time spent in its `scores`."""

    def __init__(self, ranker: Any) -> None:
        self.ranker, self.seconds, self.calls = ranker, 0.0, 0

    def scores(self, corpus: Any, signals: Signals) -> np.ndarray:
        started = time.perf_counter()
        try:
            return np.asarray(self.ranker.scores(corpus, signals))
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


class PerUserGraphRanker(GraphRanker):
    """`GraphRanker`'s contrast of two diffusions with the whole kNN graph built for each user: the library
    (and followed searches), the hidden papers, a background sample drawn for this user and the candidates.
    The baseline of the shared graph: the same walk, without reusing anything between users."""

    def __init__(self, max_candidates: int = 3000) -> None:
        super().__init__(max_candidates=max_candidates)

    def scores(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        if len(signals.candidates) > self.max_candidates:
            return self._shortlisted(corpus, signals)
        seed_vectors = self._seeds(corpus, signals)
        if len(seed_vectors) == 0:
            return np.zeros(len(signals.candidates))
        seed_tfidf = None
        if self.use_tfidf and corpus.tfidf is not None:
            extra = signals.query_tfidf if signals.query_tfidf is not None else sp.csr_matrix(
                (len(seed_vectors) - len(signals.positives), corpus.tfidf.shape[1]))
            seed_tfidf = sp.vstack([corpus.tfidf[signals.positives], extra], format="csr")
        background = self._user_background(corpus, signals)
        others = np.concatenate([signals.negatives, background, signals.candidates]).astype(np.int64)
        vectors = np.vstack([seed_vectors, corpus.vectors[others]])
        tfidf = None
        if seed_tfidf is not None and corpus.tfidf is not None:
            tfidf = sp.vstack([seed_tfidf, corpus.tfidf[others]], format="csr")
        graph = knn_graph(vectors, self.neighbours, self.sharpness, tfidf=tfidf)
        degree = np.asarray(graph.sum(axis=1)).ravel()
        inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        walk = sp.diags(inverse) @ graph  # row-stochastic transitions
        n_seeds, n_negative = len(seed_vectors), len(signals.negatives) + len(background)
        first_candidate = n_seeds + n_negative
        teleport = np.zeros(len(vectors))
        teleport[:n_seeds] = 1.0 / n_seeds
        positive = self._diffuse(walk, teleport)
        if n_negative == 0:
            return np.asarray((positive * inverse)[first_candidate:], dtype=np.float64)
        restart_negative = np.zeros(len(vectors))
        restart_negative[n_seeds:n_seeds + len(signals.negatives)] = self.hidden_weight
        restart_negative[n_seeds + len(signals.negatives):first_candidate] = 1.0
        negative = self._diffuse(walk, restart_negative / restart_negative.sum())
        share = positive / (positive + negative * n_seeds / n_negative + 1e-12)
        return np.asarray(share[first_candidate:], dtype=np.float64)

    def _user_background(self, corpus: Corpus, signals: Signals) -> np.ndarray:
        """A random sample of the papers that are none of this user's library, hidden papers or candidates."""
        taken = np.zeros(len(corpus.ids), dtype=bool)
        for rows in (signals.positives, signals.negatives, signals.candidates):
            taken[rows] = True
        pool = np.flatnonzero(~taken)
        rng = np.random.default_rng(self.seed)
        return rng.choice(pool, size=min(self.background, len(pool)), replace=False) if len(pool) else pool


def build_store(db: Path, papers: Papers) -> tuple[dt.datetime, int]:
    """Ingest the history, then the period, and copy their vectors; returns when the period began."""
    files = sorted(ARXIV_CS.glob("*.jsonl"))
    week = {p: dt.date.fromisoformat(p.stem).isocalendar()[1] for p in files}
    settings = Settings(database_url=str(db), embedding_model="minilm-int8")
    with open_store(str(WEB_DB)) as source:
        version = source.embedding_models()[MODEL]["versions"][0]
        ids, vectors = source.load_embeddings(MODEL)
    row = {paper_id: i for i, paper_id in enumerate(ids)}
    with open_store(str(db)) as store:
        ingester = Ingester(store, settings)
        ingester.ingest(*[str(p) for p in files if week[p] in HISTORY])
        start = dt.datetime.now(dt.UTC)
        time.sleep(0.01)
        ingester.ingest(*[str(p) for p in files if week[p] == PERIOD])
        stored = store.get_papers([i for i in papers.ids if i in row])
        batch = list(stored.values())
        for first in range(0, len(batch), 2000):
            part = batch[first:first + 2000]
            store.save_embeddings(MODEL, str(version), part, vectors[[row[p.id] for p in part]])
        return start, store.count_papers()


def add_users(db: Path, papers: Papers, per_interest: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    rng = np.random.default_rng(seed)
    history = [r for r in range(len(papers.ids)) if papers.week[r] in HISTORY]
    users = []
    with open_store(str(db)) as store:
        for interest in INTERESTS:
            liked = [r for r in history if interest in papers.categories[r]]
            for n in range(per_interest):
                library = rng.choice(liked, size=min(int(rng.integers(10, 31)), len(liked)), replace=False)
                other = INTERESTS[(INTERESTS.index(interest) + 1 + n % (len(INTERESTS) - 1)) % len(INTERESTS)]
                dislikes = [r for r in history
                            if other in papers.categories[r] and interest not in papers.categories[r]]
                hidden = rng.choice(dislikes, size=min(int(rng.integers(2, 7)), len(dislikes)), replace=False)
                user = store.accounts.create_user(f"{interest.replace('.', '-')}-{n}@example.org")
                store.accounts.set_library_state(user.id, [papers.ids[r] for r in library], "saved")
                store.accounts.set_library_state(user.id, [papers.ids[r] for r in hidden], "hidden")
                store.digests.subscribe(user.id, hour=7)
                users.append((user.email, [papers.ids[r] for r in library]))
    return users


def tag_users(store: Store, users: list[tuple[str, list[str]]], tags: int) -> None:
    """Split each user's library into `tags` tags, round robin, and subscribe them by tag."""
    for email, library in users:
        user = store.accounts.require_user(email)
        for k in range(tags):
            store.accounts.tag_papers(user.id, library[k::tags], f"interest-{k}")
        store.digests.subscribe(user.id, hour=7, by_tag=True)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--users", type=int, default=100, help="users in all (split over 10 interests)")
    parser.add_argument("--tags", type=int, default=0, help="also run digests by tag, each library split into "
                        "this many tags")
    args = parser.parse_args()
    require_cache(WEB_DB, "python bench/bench_web_load.py --duration 1")
    papers = load_papers()
    with tempfile.TemporaryDirectory(dir=CACHE) as folder:
        db = Path(folder) / "digest-run.db"
        started = time.perf_counter()
        period_start, total = build_store(db, papers)
        users = add_users(db, papers, max(1, args.users // len(INTERESTS)))
        print(f"store: {total} papers, {len(users)} users, built in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        settings = Settings(database_url=str(db), embedding_model="minilm-int8")
        now = period_start + dt.timedelta(days=1)  # a first daily digest covers the day before: the period
        picks: dict[str, dict[str, list[str]]] = {}
        rows: list[tuple[str, float, float | None]] = []
        with open_store(str(db)) as store:
            recommender = Recommender(store, settings)
            started = time.perf_counter()
            corpus = recommender.corpus
            corpus_seconds = time.perf_counter() - started
            period = store.papers_added_since(period_start)
            print(f"\ncorpus {len(corpus.ids)} papers (TF-IDF and vectors, once per run: {corpus_seconds:.1f} s); "
                  f"period: {len(period)} papers; {len(users)} users\n")
            for name, ranker in (("baseline: the graph ranker, graph built per user", PerUserGraphRanker()),
                                 ("the graph ranker, graph shared by the run", GraphRanker()),
                                 ("fixed fusion of the linear SVM and the shared graph (the default mix)",
                                  default_ranker())):
                timed = Timed(ranker)
                recommender.ranker = timed  # type: ignore[assignment]
                started = time.perf_counter()
                report = send_digests(store, settings, now=now, dry_run=True, recommender=recommender,
                                      update_index=False)
                seconds = time.perf_counter() - started
                picks[name] = {d.recipient: d.paper_ids for d in report.composed}
                assert len(report.composed) == len(users), (len(report.composed), report.nothing_new[:3])
                rows.append((name, seconds / len(users), timed.seconds / max(timed.calls, 1)))
            recommender.ranker = None  # each user's own signal mix, as shipped: chosen, then read from the store
            for name in ("shipped: per-user signal mix, first run (each mix chosen from the library and stored)",
                         "shipped: per-user signal mix, next run (the stored mixes)"):
                started = time.perf_counter()
                report = send_digests(store, settings, now=now, dry_run=True, recommender=recommender,
                                      update_index=False)
                seconds = time.perf_counter() - started
                picks[name] = {d.recipient: d.paper_ids for d in report.composed}
                rows.append((name, seconds / len(users), None))
            if args.tags:
                tag_users(store, users, args.tags)
                started = time.perf_counter()
                report = send_digests(store, settings, now=now, dry_run=True, recommender=recommender,
                                      update_index=False)
                seconds = time.perf_counter() - started
                sections = sum(len(d.by_tag) for d in report.composed) / max(len(report.composed), 1)
                rows.append((f"shipped, by tag: a section for each of {args.tags} tags ({sections:.1f} with papers "
                             f"per digest; ratio to the next run: {seconds / len(users) / rows[-1][1]:.2f})",
                             seconds / len(users), None))
            # The baseline ranks the same users among the same period, with its own TF-IDF of the corpus.
            texts = [f"{p.title} {p.abstract or ''}" for p in store.get_papers(corpus.ids).values()]
            started = time.perf_counter()
            tfidf = arxiv_sanity_tfidf(texts)
            tfidf_seconds = time.perf_counter() - started
            candidates = corpus.rows(period)
            started = time.perf_counter()
            for _email, library in users:
                arxiv_sanity_scores(tfidf, Signals(corpus.rows(library), np.zeros(0, dtype=np.int64), candidates))
            baseline = (time.perf_counter() - started) / len(users)
        print("| ranker | whole run, s/user | ranking, s/user | ratio to baseline's ranking |")
        print("| --- | ---: | ---: | ---: |")
        for name, per_user, ranking in rows:
            if ranking is None:  # the mix's choice and ranking are not timed apart
                print(f"| {name} | {per_user:.3f} | | |")
            else:
                print(f"| {name} | {per_user:.3f} | {ranking:.3f} | {ranking / baseline:.2f} |")
        print(f"| baseline: arxiv-sanity-lite (tf-idf + LinearSVC) | | {baseline:.3f} | 1.00 |")
        print(f"\nbaseline TF-IDF of the corpus (once per run): {tfidf_seconds:.1f} s")
        rebuilt, graph, fixed, mixed = (picks[name] for name, _, _ in rows[:4])
        for label, other in (("the shared graph", graph), ("the fixed fusion", fixed), ("the per-user mix", mixed)):
            same = [len(set(rebuilt[u]) & set(other[u])) / max(len(other[u]), 1) for u in other]
            print(f"picks {label} shares with the graph built per user: {np.mean(same):.2f} of each digest")


if __name__ == "__main__":
    main()
