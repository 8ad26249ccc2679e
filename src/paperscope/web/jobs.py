"""Background work while `paperscope serve` runs: one thread, never in the way of requests.

Each day at PAPERSCOPE_INGEST_AT (local time), and at once when the database is empty, the thread
ingests PAPERSCOPE_INGEST_SOURCES (arXiv categories and Hugging Face daily papers by default), embeds
what is new, folds it into the search indexes, places the new papers into the topic map (building the map
when there is none or it is a week old) and asks the trending feed to rank again. Requests keep
being served meanwhile: the store commits a batch at a time and the search indexes take new papers in
under their own lock. Pages show what the thread is doing (`status`); with no network it says so and
how to ingest files instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from paperscope.embed.base import document_text
from paperscope.errors import OfflineError, PaperscopeError
from paperscope.ingest.pipeline import Ingester, is_network_source
from paperscope.ingest.remote import network_items
from paperscope.web.services import Services

log = logging.getLogger("paperscope.web.jobs")
EMBED_BATCH = 64
MIN_PAPERS_FOR_MAP = 200  # fewer papers make a map of a handful of topics that says little
MAP_REBUILD_AFTER = dt.timedelta(days=7)  # a weekly rebuild is what surfaces emerging topics


@dataclass
class JobStatus:
    """What the background thread is doing or last did, for the pages to show."""

    state: str = "idle"  # idle, running, done, offline, failed
    activity: str = ""
    added: int = 0
    embedded: int = 0
    problems: list[str] = field(default_factory=list)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    next_run: dt.datetime | None = None


class BackgroundJobs:
    """The daily ingest -> embed -> index (-> topics) cycle, in one daemon thread."""

    def __init__(self, services: Services, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.services = services
        self._clock = clock or (lambda: dt.datetime.now().astimezone())
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._embed_lock = threading.Lock()  # the cycle and a submission never embed the same papers twice
        self._status = JobStatus()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> JobStatus:
        with self._lock:
            return dataclasses.replace(self._status, problems=list(self._status.problems))

    def _update(self, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._status, name, value)

    def start(self) -> None:
        """Start the thread: a first ingest now when the database is empty, then one a day."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="paperscope-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_now(self) -> None:
        """Ask the thread to run the cycle now (used by tests and the status page)."""
        self._wake.set()

    def next_run(self, now: dt.datetime) -> dt.datetime:
        """The next daily run at PAPERSCOPE_INGEST_AT, local time."""
        hours, minutes = (int(part) for part in self.services.settings.ingest_at.split(":"))
        candidate = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return candidate if candidate > now else candidate + dt.timedelta(days=1)

    def _loop(self) -> None:
        if self.services.store.count_papers() == 0 and self.services.settings.ingest_source_list():
            self.run_cycle()
        while not self._stop.is_set():
            now = self._clock()
            upcoming = self.next_run(now)
            self._update(next_run=upcoming)
            if self._wake.wait(timeout=max((upcoming - now).total_seconds(), 0.0)) and self._stop.is_set():
                return
            self._wake.clear()
            if not self._stop.is_set():
                self.run_cycle()

    def run_cycle(self) -> JobStatus:
        """Ingest the configured sources, embed and index what is new; returns the final status."""
        sources = self.services.settings.ingest_source_list()
        self._update(state="running", activity="starting", added=0, embedded=0, problems=[],
                     started_at=self._clock(), finished_at=None)
        offline = False
        try:
            for source in sources:
                if self._stop.is_set():
                    break
                if offline and is_network_source(source):
                    continue
                offline = self._ingest(source) or offline
            self._embed()
            if offline:
                self._update(state="offline")
            else:
                self._update(state="failed" if self.status.problems else "done")
        except Exception as exc:  # the thread must survive anything one cycle meets
            log.exception("background cycle failed")
            self._fail(f"The background job stopped: {exc}")
        self._update(activity="", finished_at=self._clock())
        return self.status

    def _ingest(self, source: str) -> bool:
        """Ingest one source; True when the network could not be reached."""
        services = self.services
        self._update(activity=f"ingesting {source}")
        ingester = Ingester(services.store, services.settings)
        try:
            if is_network_source(source):
                report = ingester.store_items(network_items(source, services.store, services.settings))
            else:
                report = ingester.ingest(source)
        except OfflineError as exc:
            self._fail(str(exc))
            return True
        except PaperscopeError as exc:
            self._fail(f"{source}: {exc}")
            return False
        for message in report.failed_sources:
            self._fail(message)
        with self._lock:
            self._status.added += report.added + report.updated
        if report.added or report.updated:
            services.trending.invalidate()
        return False

    def _embed(self) -> None:
        """Embed papers that have no vector yet, then fold them into the search indexes."""
        with self._embed_lock:
            self._embed_pending()

    def _embed_pending(self) -> None:
        services = self.services
        store = services.store
        embedder = services.search.embedder
        total = store.count_papers_to_embed(embedder.name)
        if total:
            done = 0
            for batch in store.papers_to_embed(embedder.name, batch_size=EMBED_BATCH):
                if self._stop.is_set():
                    return
                self._update(activity=f"embedding papers ({done} of {total})")
                store.save_embeddings(embedder.name, embedder.version, batch,
                                      embedder.embed([document_text(p) for p in batch]))
                done += len(batch)
                self._update(embedded=done)
        self._update(activity="updating the search indexes")
        services.search.refresh()
        self._update_topics()
        services.trending.invalidate()

    def _update_topics(self) -> None:
        """Place new papers into the topic map; build the map when there is none or it is a week old."""
        try:
            from paperscope.topics.build import assign_new, build_map
        except ImportError:  # the topics extra is not installed: topic pages say how to get a map
            return
        store = self.services.store
        model = self.services.search.embedder.name
        current = store.topics.current_map()
        stale = current is not None and self._clock() - current.built_at > MAP_REBUILD_AFTER
        if current is None or current.model != model or stale:
            if store.count_papers() < MIN_PAPERS_FOR_MAP:
                return
            self._update(activity="building the topic map")
            try:
                build_map(store, self.services.settings, model_name=model)
            except PaperscopeError as exc:
                self._fail(f"The topic map could not be built: {exc}")
            return
        self._update(activity="placing new papers into the topic map")
        assign_new(store, model_name=model)

    def embed_soon(self) -> None:
        """Embed and index new papers (a submission) in a short-lived thread of its own."""
        threading.Thread(target=self._embed_quietly, name="paperscope-embed", daemon=True).start()

    def _embed_quietly(self) -> None:
        try:
            self._embed()
        except Exception:
            log.exception("embedding a submission failed")
        self._update(activity="")

    def _fail(self, message: str) -> None:
        log.warning("%s", message)
        with self._lock:
            self._status.problems.append(message)
