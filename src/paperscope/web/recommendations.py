"""The web app's recommender: one `Recommender` per store, shared by the routes that recommend (the "For you"
page, the private feed, /api/recommendations). Needs the digest extra (scikit-learn, scipy)."""

from __future__ import annotations

import threading

from paperscope.config import Settings
from paperscope.errors import NothingToGoOn
from paperscope.recommend.engine import Recommendation, Recommender
from paperscope.store import Store


class RecommendationCache:
    """One Recommender per store, built once and refreshed when the store changes; safe across threads."""

    def __init__(self) -> None:
        self._recommenders: dict[int, Recommender] = {}
        self._lock = threading.Lock()

    def recommend(self, store: Store, settings: Settings, user_id: int, limit: int) -> list[Recommendation]:
        """The user's picks among the papers new since their last digest; [] when there is nothing to go on."""
        with self._lock:
            recommender = self._recommenders.get(id(store))
            if recommender is None or recommender.store is not store:
                recommender = self._recommenders[id(store)] = Recommender(store, settings)
            try:
                return recommender.recommend(user_id, candidates=recommender.period_candidates(user_id),
                                             limit=limit)
            except NothingToGoOn:
                return []
