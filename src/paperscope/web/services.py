"""What the web app holds for its lifetime: settings, the store, one search engine, the trending feed
and the background jobs (or, beside a separate worker process, the status it publishes). Routes reach it
through the `ServicesDep` dependency (web/deps.py)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paperscope.config import Settings
from paperscope.embed.base import Embedder
from paperscope.feed.trending import TrendingFeed
from paperscope.index.search import Hit, Mode, SearchEngine
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store
from paperscope.web.topics import MapData

if TYPE_CHECKING:
    from paperscope.jobs import BackgroundJobs, WorkerStatus
    from paperscope.web.recommendations import RecommendationCache

log = logging.getLogger("paperscope.web")


class SearchService:
    """The app's one SearchEngine, shared by every request and the background jobs.

    Each search folds what the store gained since the last one into the indexes (`SearchEngine.refresh`).
    The engine itself is safe for concurrent use: queries are embedded side by side, refreshes and index
    look-ups take turns under its one lock. Nothing is rebuilt per request.
    """

    def __init__(self, store: Store, settings: Settings, embedder: Embedder | None = None, *,
                 writes_indexes: bool = True) -> None:
        self.engine = SearchEngine(store, settings, embedder=embedder, writes_indexes=writes_indexes)

    @property
    def embedder(self) -> Embedder:
        return self.engine.embedder

    def search(self, query: str, *, mode: Mode = "hybrid", limit: int = 10, offset: int = 0,
               filters: PaperFilter | None = None) -> list[tuple[Hit, Paper]]:
        hits = self.engine.search(query, mode=mode, limit=limit, offset=offset, filters=filters)
        return self.engine.papers(hits)

    def similar(self, paper_id: str, *, limit: int = 10) -> list[tuple[Hit, Paper]]:
        return self.engine.papers(self.engine.similar(paper_id, limit=limit))

    def refresh(self) -> tuple[int, int]:
        return self.engine.refresh()

    def sizes(self) -> tuple[int, int]:
        """How many papers the keyword and the vector index hold in this process, after a refresh."""
        return self.engine.sizes()


@dataclass
class Services:
    settings: Settings
    store: Store
    search: SearchService
    trending: TrendingFeed
    secret_key: str
    jobs: BackgroundJobs | WorkerStatus | None = None  # None: no background jobs at all
    notes: list[str] = field(default_factory=list)
    map_data: MapData = field(default_factory=MapData)
    recommendations: RecommendationCache | None = None  # None when the digest extra is not installed

    @classmethod
    def create(cls, settings: Settings, store: Store, *, embedder: Embedder | None = None,
               writes_indexes: bool = True) -> Services:
        notes = []
        secret_key = settings.secret_key
        if settings.has_placeholder_secret():
            # Only reachable in development (Settings refuses it in production): sign with a key of this
            # process, so a placeholder from an example never signs anything. The settings the app and its
            # background jobs read carry it too: the unsubscribe links of the digests they send verify here.
            secret_key = secrets.token_urlsafe(32)
            settings = settings.model_copy(update={"secret_key": secret_key})
            notes.append("PAPERSCOPE_SECRET_KEY is a placeholder, so sessions and the unsubscribe links of digests "
                         "are signed with a key that lasts until the server stops; set a random "
                         "PAPERSCOPE_SECRET_KEY to keep them.")
        search = SearchService(store, settings, embedder, writes_indexes=writes_indexes)
        return cls(settings=settings, store=store, search=search, trending=TrendingFeed(store),
                   secret_key=secret_key, notes=notes)
