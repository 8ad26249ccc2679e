"""One pass of summaries: the papers waiting (newest first, at most PAPERSCOPE_LLM_SUMMARIES_PER_RUN), each
sent to the model at PAPERSCOPE_LLM_URL and its answer stored when it is one sentence and three key phrases.

Failures are of two kinds. An answer about one paper that is unusable (not the JSON asked for, several
sentences, a request the endpoint refuses as malformed or too long) counts against that paper: it is tried
again after RETRY_AFTER, then four and sixteen times that, and given up after MAX_ATTEMPTS. An endpoint that
cannot be reached, times out, keeps failing or refuses the key says nothing about the paper: the pass stops
there without counting it, and the caller (the background jobs) waits before the next pass.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from paperscope.config import Settings
from paperscope.errors import ConfigError, SourceError, UnusableSummary
from paperscope.llm import ChatClient
from paperscope.models import Paper
from paperscope.store import Store
from paperscope.summaries.answer import MAX_TOKENS, Summary, parse_answer, prompt

log = logging.getLogger("paperscope.summaries")

RETRY_AFTER = dt.timedelta(hours=1)
MAX_ATTEMPTS = 4
PAPER_SPECIFIC_STATUS = frozenset({400, 413, 422})  # the request about this paper was refused, not the caller
RETRIES = 2  # per request; a pass stops at an endpoint that keeps failing anyway


@dataclass
class SummaryRun:
    """What one pass did."""

    summarised: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # paper id -> why its answer was not kept
    endpoint_problem: str | None = None  # the endpoint failed: the pass stopped there
    waiting: int = 0  # papers the pass found to summarise
    limit: int = 0  # the most it would take

    @property
    def full(self) -> bool:
        """Whether the pass took as many papers as it could, so that more may be waiting."""
        done = len(self.summarised) + len(self.refused)
        return self.endpoint_problem is None and done >= self.waiting >= self.limit > 0


def require_llm(settings: Settings) -> str:
    """PAPERSCOPE_LLM_URL; ConfigError saying what to set when it is not set."""
    if not settings.llm_url:
        raise ConfigError("Summaries need an OpenAI-compatible chat endpoint: set PAPERSCOPE_LLM_URL (and "
                          "PAPERSCOPE_LLM_MODEL, PAPERSCOPE_LLM_API_KEY if needed).")
    return settings.llm_url


def summary_client(settings: Settings) -> ChatClient:
    """The chat client of PAPERSCOPE_LLM_URL; ConfigError when it is not set."""
    return ChatClient(require_llm(settings), settings.llm_model, api_key=settings.llm_api_key,
                      timeout=settings.llm_timeout_seconds, retries=min(settings.http_retries, RETRIES),
                      backoff=settings.http_backoff_seconds, settings_prefix="PAPERSCOPE_LLM", max_tokens=MAX_TOKENS)


def summarise(client: ChatClient, paper: Paper) -> Summary:
    """The model's summary of one paper, checked (summaries.answer); SourceError when there is none."""
    return parse_answer(client.complete(prompt(paper)))


def summarise_papers(store: Store, settings: Settings, *, limit: int | None = None, any_age: bool = False,
                     client: ChatClient | None = None, should_stop: Callable[[], bool] | None = None,
                     clock: Callable[[], dt.datetime] | None = None) -> SummaryRun:
    """Summarise up to `limit` (default PAPERSCOPE_LLM_SUMMARIES_PER_RUN) waiting papers, newest first: those
    published within PAPERSCOPE_LLM_SUMMARY_DAYS, or of any age and undated ones with `any_age`. ConfigError
    when PAPERSCOPE_LLM_URL is not set (nothing is called then)."""
    own_client = client is None
    chat = client or summary_client(settings)
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    since = None if any_age else now.date() - dt.timedelta(days=settings.llm_summary_days)
    limit = limit or settings.llm_summaries_per_run
    ids = store.summaries.pending(limit=limit, published_since=since, now=now)
    run = SummaryRun(waiting=len(ids), limit=limit)
    try:
        found = store.get_papers(ids)
        for paper_id in ids:
            paper = found.get(paper_id)
            if paper is None:
                continue
            if should_stop is not None and should_stop():
                break
            try:
                summary = summarise(chat, paper)
            except SourceError as exc:
                if not _about_the_paper(exc):
                    run.endpoint_problem = str(exc)
                    log.warning("summaries: %s", exc)
                    break
                run.refused[paper.id] = str(exc)
                _count_failure(store, paper.id, chat.model, str(exc), now)
                continue
            store.summaries.save(paper.id, summary.text, summary.key_phrases, chat.model)
            run.summarised.append(paper.id)
    finally:
        if own_client:
            chat.close()
    return run


def _about_the_paper(exc: SourceError) -> bool:
    """Whether a failure is about the paper asked about (counted against it) rather than the endpoint."""
    if isinstance(exc, UnusableSummary):
        return True
    response = exc.response
    if not isinstance(response, httpx.Response):
        return False  # unreachable, timed out, gave up after retries
    return response.status_code < 400 or response.status_code in PAPER_SPECIFIC_STATUS


def _count_failure(store: Store, paper_id: str, model: str, error: str, now: dt.datetime) -> None:
    attempts = store.summaries.failed_attempts(paper_id) + 1
    retry_at = now + RETRY_AFTER * 4 ** (attempts - 1) if attempts < MAX_ATTEMPTS else None
    store.summaries.record_failure(paper_id, model, error, retry_at=retry_at)
