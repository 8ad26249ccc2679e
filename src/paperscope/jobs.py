"""Background work: one thread, inside `paperscope serve` or alone in `paperscope worker`.

Each day at PAPERSCOPE_INGEST_AT (local time), and at once when the database is empty, the thread
ingests PAPERSCOPE_INGEST_SOURCES (arXiv categories and Hugging Face daily papers by default), embeds
what is new, folds it into the search indexes and places the new papers into the topic map (building
the map when there is none or it is a week old: `index_papers` with `KEEP_MAP_CURRENT`, indexing.py).
Between runs it looks every PAPERSCOPE_JOBS_POLL_SECONDS for papers that others added (`paperscope
ingest`, a submission on any web process) and embeds and indexes them the same way, and it sends the
digests whose time has come and the e-mails of notifications whose users chose "immediate". With
PAPERSCOPE_LLM_URL set it also has new papers summarised (`summarise_soon`), in a thread of its own so that a slow
or failing model never holds up ingest, indexing or digests.

Requests keep being served meanwhile: the store commits a batch at a time, and the search engine, which
the thread shares with the web app inside `serve`, takes new papers in between searches (its one lock). The thread's
state (`status`) is what the pages show; when the thread runs in a worker process it is also written to a
small file in the index folder, which the web processes read (`WorkerStatus`). With no network the status
says so and how to ingest files instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperscope.config import Settings
from paperscope.errors import OfflineError, PaperscopeError
from paperscope.index.search import SearchEngine
from paperscope.indexing import KEEP_MAP_CURRENT, index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.ingest.remote import is_network_source, network_items
from paperscope.store import Store

log = logging.getLogger("paperscope.jobs")
STATUS_FILE = "worker-status.json"
SUMMARIES_RECHECK = 15 * 60.0  # seconds between passes of summaries when nothing changed and none is waiting
SUMMARIES_BACKOFF_MAX = 6 * 3600.0  # the longest wait after the summaries' endpoint failed
RETRY_DELIVERY_SECONDS = 300.0  # how often the loop retries outbox messages waiting after a failure, at most

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

    def to_json(self) -> dict[str, Any]:
        return {name: value.isoformat() if isinstance(value, dt.datetime) else value
                for name, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobStatus:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for moment in ("started_at", "finished_at", "next_run"):
            if values.get(moment):
                values[moment] = dt.datetime.fromisoformat(values[moment])
        return cls(**values)


class BackgroundJobs:
    """The daily ingest -> embed -> index (-> topics) cycle, the pick-up of papers added by others, and the
    digest schedule, in one daemon thread."""

    def __init__(self, settings: Settings, store: Store, engine: SearchEngine, *,
                 on_papers_changed: Callable[[], None] | None = None,
                 clock: Callable[[], dt.datetime] | None = None, status_file: Path | None = None) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine  # shared with the web app's searches when the jobs run inside `serve`
        self._on_papers_changed = on_papers_changed or (lambda: None)
        self._clock = clock or (lambda: dt.datetime.now().astimezone())
        self._status_file = status_file
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._embed_lock = threading.Lock()  # the cycle and a submission never embed the same papers twice
        self._status = JobStatus()
        self._thread: threading.Thread | None = None
        self._seen_change: dt.datetime | None = None
        self._recommender: Any = None
        self._summaries: threading.Thread | None = None
        self._summaries_seen_change: dt.datetime | None = None
        self._summaries_due = 0.0  # time.monotonic() after which a pass runs even when nothing changed
        self._summaries_blocked_until = 0.0  # after the endpoint failed: no pass before this, changes or not
        self._summaries_backoff = SUMMARIES_RECHECK
        self._last_delivery = float("-inf")  # when send_notification_mail last delivered the outbox

    @property
    def status(self) -> JobStatus:
        with self._lock:
            return dataclasses.replace(self._status, problems=list(self._status.problems))

    def _update(self, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._status, name, value)
        self._publish()

    def _publish(self) -> None:
        """Write the status for web processes in other processes to read (atomically)."""
        if self._status_file is None:
            return
        try:
            self._status_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._status_file.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.status.to_json()), encoding="utf-8")
            temporary.replace(self._status_file)
        except OSError as exc:
            log.warning("cannot write the worker status to %s: %s", self._status_file, exc)

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
        hours, minutes = (int(part) for part in self.settings.ingest_at.split(":"))
        candidate = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return candidate if candidate > now else candidate + dt.timedelta(days=1)

    def _loop(self) -> None:
        if self._guarded(self.store.count_papers) == 0 and self.settings.ingest_source_list():
            self.run_cycle()
        upcoming = self.next_run(self._clock())
        self._update(next_run=upcoming)
        while not self._stop.is_set():
            now = self._clock()
            wait = min(self.settings.jobs_poll_seconds, max((upcoming - now).total_seconds(), 0.0))
            woken = self._wake.wait(timeout=wait)
            if self._stop.is_set():
                return
            self._wake.clear()
            if woken or self._clock() >= upcoming:
                self.run_cycle()
                upcoming = self.next_run(self._clock())
                self._update(next_run=upcoming)
            else:
                self._guarded(self.pick_up_changes)
            self._guarded(self.send_due_digests)
            self._guarded(self.summarise_soon)

    def _guarded(self, step: Callable[[], Any]) -> Any:
        """Run one step; the thread outlives anything it meets (a database restart, a full disk)."""
        try:
            return step()
        except Exception as exc:  # noqa: BLE001
            log.warning("background step %s failed: %s", getattr(step, "__name__", step), exc)
            return None

    def run_cycle(self) -> JobStatus:
        """Ingest the configured sources, embed and index what is new; returns the final status."""
        sources = self.settings.ingest_source_list()
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

    def pick_up_changes(self) -> int:
        """Embed and index papers that others added or changed since the last look; returns how many
        were embedded. One indexed query when nothing changed."""
        latest = self.store.latest_modification_time()
        if latest is None or latest == self._seen_change:
            return 0
        embedded = self._embed()
        self._seen_change = latest
        return embedded

    def send_due_digests(self) -> int:
        """Send the digests and webhook messages whose time has come, and webhook retries that are due (nothing
        when no one subscribed); returns how many were sent."""
        try:
            from paperscope.digest import due_subscriptions, send_digests
            from paperscope.digest.channels import due_webhooks
            from paperscope.recommend import Recommender
        except ImportError:  # the digest extra is not installed: nobody can have subscribed
            return 0
        now = dt.datetime.now(dt.UTC)
        if not (due_subscriptions(self.store, now) or due_webhooks(self.store, now)
                or self.store.webhooks.deliverable(now)):
            return self.send_notification_mail()
        self.pick_up_changes()  # what was ingested since can be recommended
        self._recommender = self._recommender or Recommender(self.store, self.settings)
        report = send_digests(self.store, self.settings, recommender=self._recommender, update_index=False,
                              search=self.engine)
        for warning in report.warnings:
            log.warning("digests: %s", warning)
        for error in report.delivery.errors:
            log.warning("digest delivery: %s", error)
        for error in report.webhooks.delivery.errors:
            log.warning("webhook delivery: %s", error)
        return len(report.delivery.sent) + len(report.webhooks.delivery.sent)

    def summarise_soon(self) -> threading.Thread | None:
        """Start a pass of summaries (summaries/run.py) in a thread of its own, and return it, when
        PAPERSCOPE_LLM_URL is set, no pass runs, the endpoint is not in a backoff after failing, and papers changed
        since the last pass, the last pass left papers waiting, or SUMMARIES_RECHECK passed (failed papers come
        due). Without the setting nothing is read or called."""
        if not self.settings.llm_url or (self._summaries is not None and self._summaries.is_alive()):
            return None
        now = time.monotonic()
        if now < self._summaries_blocked_until:
            return None
        latest = self.store.latest_modification_time()
        if latest == self._summaries_seen_change and now < self._summaries_due:
            return None
        self._summaries_seen_change = latest
        self._summaries_due = now + SUMMARIES_RECHECK
        self._summaries = threading.Thread(target=self._summarise, name="paperscope-summaries", daemon=True)
        self._summaries.start()
        return self._summaries

    def _summarise(self) -> None:
        from paperscope.summaries import summarise_papers

        try:
            run = summarise_papers(self.store, self.settings, should_stop=self._stop.is_set)
        except Exception as exc:  # noqa: BLE001 - the thread outlives anything a pass meets
            log.warning("summaries: the pass failed: %s", exc)
            return
        if run.endpoint_problem is not None:
            self._summaries_blocked_until = time.monotonic() + self._summaries_backoff
            self._summaries_backoff = min(self._summaries_backoff * 2, SUMMARIES_BACKOFF_MAX)
            return
        self._summaries_backoff = SUMMARIES_RECHECK
        if run.full:  # more are waiting: the next look goes on
            self._summaries_due = 0.0
        if run.summarised:
            log.info("summaries: %d papers summarised", len(run.summarised))

    def send_notification_mail(self) -> int:
        """Queue the e-mails of notifications whose users chose "immediate" and deliver the outbox when that
        queued something, or every RETRY_DELIVERY_SECONDS while messages wait for a retry (the pace of a cron
        job running `digest send`, so an SMTP outage does not use up a message's attempts within a minute);
        returns how many messages were sent."""
        from paperscope.digest import deliver_outbox
        from paperscope.digest.notify_mail import queue_immediate_notifications

        now = self._clock()
        queued = queue_immediate_notifications(self.store, self.settings, now)
        retry_due = time.monotonic() - self._last_delivery >= RETRY_DELIVERY_SECONDS
        if not queued and not (retry_due and self.store.digests.deliverable(now)):
            return 0
        self._last_delivery = time.monotonic()
        report = deliver_outbox(self.store, self.settings)
        for error in report.errors:
            log.warning("notification delivery: %s", error)
        return len(report.sent)

    def _ingest(self, source: str) -> bool:
        """Ingest one source; True when the network could not be reached."""
        self._update(activity=f"ingesting {source}")
        ingester = Ingester(self.store, self.settings)
        try:
            if is_network_source(source):
                report = ingester.store_items(network_items(source, self.store, self.settings))
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
            self._on_papers_changed()
        return False

    def _embed(self) -> int:
        """Embed papers that have no vector yet, fold them into the search indexes and keep the topic map
        current (indexing.py); returns how many were embedded."""
        with self._embed_lock:
            report = index_papers(self.engine, topic_map=KEEP_MAP_CURRENT, check_versions=False,
                                  progress=self._embedding_progress,
                                  on_stage=lambda stage: self._update(activity=stage),
                                  should_stop=self._stop.is_set, clock=self._clock)
            if report.stopped:
                return report.embedded
            for problem in report.problems:
                self._fail(problem)
            self._on_papers_changed()
            self._update(activity="")
            return report.embedded

    def _embedding_progress(self, done: int, total: int) -> None:
        activity = f"embedding papers ({done} of {total})"
        if done:
            self._update(activity=activity, embedded=done)
        else:  # starting: `embedded` keeps the last run's count until this run has stored a batch
            self._update(activity=activity)

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
        self._publish()


class WorkerStatus:
    """The jobs as a web process sees them when they run in a separate `paperscope worker`: the status the
    worker last wrote. New papers (a submission) need no nudge: the worker picks them up by itself."""

    def __init__(self, status_file: Path, *, cache_seconds: float = 1.0) -> None:
        self.status_file = status_file
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, JobStatus] | None = None

    @property
    def status(self) -> JobStatus:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.cache_seconds:
            try:
                status = JobStatus.from_json(json.loads(self.status_file.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                status = JobStatus(activity="waiting for the worker (paperscope worker)")
            self._cached = (now, status)
        return self._cached[1]

    def start(self) -> None:
        """Nothing to start: the worker is its own process."""

    def stop(self, timeout: float = 10.0) -> None:
        """Nothing to stop."""

    def embed_soon(self) -> None:
        """Nothing to do: the worker looks for new papers every PAPERSCOPE_JOBS_POLL_SECONDS."""


def status_file(settings: Settings) -> Path:
    """Where a worker publishes its status: in the index folder, which the worker and web processes share."""
    return settings.resolved_index_dir() / STATUS_FILE
