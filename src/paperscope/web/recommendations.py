"""The web app's recommender: one `Recommender` per store, shared by the routes that recommend (the "For you"
page, the private feed, /api/recommendations). Needs the digest extra (scikit-learn, scipy).

A request never waits for the corpus to be read again: it ranks with the recommender it finds, and when the
store has gained vectors or papers since that recommender's snapshot was read, one background thread makes
the next recommender: it loads the next snapshot (folding the new vectors in, recommend/engine.py), ranks for
the user whose request started the refresh, which builds the rankers' per-corpus work (the kNN graph of the
period's papers, the linear model's background features: seconds on a large store), and only then is swapped
in for the requests after it. Only the very first request of a store waits, as there is nothing older to serve.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from paperscope.config import Settings
from paperscope.errors import NothingToGoOn
from paperscope.recommend.engine import CorpusSnapshot, Recommendation, Recommender
from paperscope.store import Store

log = logging.getLogger("paperscope.web")

#: Loads a recommender's next corpus snapshot from the one it has (None the first time).
CorpusLoader = Callable[[Recommender, CorpusSnapshot | None], CorpusSnapshot]


def load_corpus(recommender: Recommender, previous: CorpusSnapshot | None) -> CorpusSnapshot:
    return recommender.load_corpus(previous)


class StoreRecommender:
    """The recommender of one store with its refreshes: at most one at a time, in the background."""

    def __init__(self, store: Store, settings: Settings, loader: CorpusLoader) -> None:
        self.recommender = Recommender(store, settings, refresh_on_read=False)
        self.loader = loader
        self._lock = threading.Lock()  # held for the first load and to start a refresh, never during one
        self._ranking = threading.Lock()  # one ranking at a time: the rankers' caches are built once, not twice
        self._refresh: threading.Thread | None = None

    def ready(self, user_id: int) -> Recommender:
        """A recommender with a snapshot to rank with now: the first one (loaded here), or the current one, with
        a refresh for `user_id` started in the background when the store has changed since it was read."""
        with self._lock:
            current = self.recommender
            snapshot = current.loaded
            if snapshot is None:
                current.use(self.loader(current, None))
            elif self._refresh is None and not current.is_current(snapshot):
                self._refresh = threading.Thread(target=self._refreshed, args=(current, user_id), daemon=True,
                                                 name="paperscope-recommend-refresh")
                self._refresh.start()
            return current

    def _refreshed(self, current: Recommender, user_id: int) -> None:
        try:
            fresh = Recommender(current.store, current.settings, embedder=current.embedder,
                                refresh_on_read=False)
            fresh.use(self.loader(fresh, current.loaded))
            _rank(fresh, user_id, 1)  # builds the rankers' work for the new corpus here, not in a request
            self.recommender = fresh
        except Exception:  # the requests keep the recommender they have; the next one tries again
            log.exception("refreshing the recommendations' corpus failed")
        finally:
            with self._lock:
                self._refresh = None

    def wait_for_refresh(self, timeout: float | None = None) -> bool:
        """Wait for a refresh under way to end; whether none is under way now."""
        refresh = self._refresh
        if refresh is not None:
            refresh.join(timeout)
        return self._refresh is None

    def recommend(self, user_id: int, limit: int, tag: str | None = None) -> list[Recommendation]:
        recommender = self.ready(user_id)
        with self._ranking:
            return _rank(recommender, user_id, limit, tag)


def _rank(recommender: Recommender, user_id: int, limit: int, tag: str | None = None) -> list[Recommendation]:
    try:
        return recommender.recommend(user_id, candidates=recommender.period_candidates(user_id), limit=limit,
                                     tag=tag)
    except NothingToGoOn:
        return []


class RecommendationCache:
    """One `StoreRecommender` per store, made on first use; safe across threads. `corpus_loader` reads a
    corpus snapshot (by default `Recommender.load_corpus`)."""

    def __init__(self, corpus_loader: CorpusLoader = load_corpus) -> None:
        self.corpus_loader = corpus_loader
        self._recommenders: dict[int, StoreRecommender] = {}
        self._lock = threading.Lock()

    def for_store(self, store: Store, settings: Settings) -> StoreRecommender:
        with self._lock:
            entry = self._recommenders.get(id(store))
            if entry is None or entry.recommender.store is not store:
                entry = self._recommenders[id(store)] = StoreRecommender(store, settings, self.corpus_loader)
            return entry

    def recommend(self, store: Store, settings: Settings, user_id: int, limit: int, tag: str | None = None
                  ) -> list[Recommendation]:
        """The user's picks among the papers new since their last digest (learnt from one `tag`'s papers alone
        when given: an `InputError` if the user has no such tag); [] when there is nothing to go on."""
        return self.for_store(store, settings).recommend(user_id, limit, tag)

    def wait_for_refresh(self, timeout: float | None = None) -> bool:
        """Wait for the refreshes under way to end; whether none is under way now."""
        with self._lock:
            entries = list(self._recommenders.values())
        return all(entry.wait_for_refresh(timeout) for entry in entries)
