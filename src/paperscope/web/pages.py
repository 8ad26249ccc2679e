"""Rendering pages: the context every template gets, and paper cards."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from paperscope.errors import DatabaseUnavailable
from paperscope.feed.trending import upvotes_of
from paperscope.models import Paper
from paperscope.store.accounts import User
from paperscope.store.summaries import PaperSummary
from paperscope.web.render import render
from paperscope.web.security import CSRF_FIELD, csrf_token, session_user, take_flashes
from paperscope.web.services import Services
from paperscope.web.topics import TopicBadge, topic_badges

if TYPE_CHECKING:
    from paperscope.jobs import JobStatus

THEMES = ("auto", "light", "dark")
NOTICE_COOKIE = "dismissed_notice"  # app.js sets it to the key of the notice its reader dismissed
OFFLINE_NOTICE_PAGES = ("/", "/submit")  # where adding papers starts, so where "No network" helps


@dataclass
class Card:
    """A paper as a card shows it: with its total upvotes, the viewer's vote and mark, its topic, how many
    comments everyone sees, and its LLM summary when it has one."""

    paper: Paper
    upvotes: int
    voted: bool = False
    saved: bool = False
    topic: TopicBadge | None = None
    score: float | None = None
    summary: PaperSummary | None = None
    comments: int = 0


def cards(services: Services, user: User | None, papers: Iterable[Paper],
          upvotes: dict[str, int] | None = None) -> list[Card]:
    """Cards for papers; `upvotes` (`feed.trending.total_upvotes` by id) is read when not given, the comment
    counts in one query."""
    papers = list(papers)
    ids = [p.id for p in papers]
    if upvotes is None:
        upvotes = upvotes_of(services.store, papers)
    voted: set[str] = set()
    saved: set[str] = set()
    if user is not None:
        voted = set(services.store.accounts.voted_ids(user.id)) & set(ids)
        saved = {pid for pid, state in services.store.accounts.library_states(user.id, ids).items()
                 if state == "saved"}
    badges = topic_badges(services.store, ids)
    summaries = services.store.summaries.of_papers(ids)
    comments = services.store.comment_counts(ids) if ids else {}
    return [Card(p, upvotes.get(p.id, 0), p.id in voted, p.id in saved, badges.get(p.id), summary=summaries.get(p.id),
                 comments=comments.get(p.id, 0)) for p in papers]


def theme(request: Request) -> str:
    chosen = request.cookies.get("theme", "auto")
    return chosen if chosen in THEMES else "auto"


def offline_notice(request: Request, job: JobStatus | None) -> str:
    """The key of the "No network" notice when this page shows it, else "": it shows on the pages where papers
    are added, until its reader dismisses it (a new problem is a new notice, shown again)."""
    if job is None or job.state != "offline" or request.url.path not in OFFLINE_NOTICE_PAGES:
        return ""
    key = hashlib.sha256("\n".join(job.problems).encode()).hexdigest()[:16]
    return "" if request.cookies.get(NOTICE_COOKIE) == key else key


def unread_notifications(services: Services, user: User | None) -> int:
    """The nav's count of the user's unread notifications; 0 for nobody signed in, or while the database is out."""
    if user is None:
        return 0
    try:
        return services.store.notifications.unread_count(user.id)
    except DatabaseUnavailable:
        return 0


def page(request: Request, services: Services, template: str, context: dict[str, Any] | None = None,
         status_code: int = 200) -> HTMLResponse:
    """A rendered page with what every page needs: the user and their unread notifications, CSRF token, theme and
    background status."""
    try:
        user = session_user(request, services)
    except DatabaseUnavailable:  # the error page of an outage still renders, as if signed out
        user = None
    jobs = services.jobs
    job = jobs.status if jobs is not None else None
    full: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "user": user,
        "unread_notifications": unread_notifications(services, user),
        "csrf_field": CSRF_FIELD,
        "csrf_token": lambda: csrf_token(request),  # called by forms only: no cookie for mere readers
        "theme": theme(request),
        "job": job,
        "offline_notice": offline_notice(request, job),
        "jobs_enabled": jobs is not None,
        "notes": services.notes,
        "flashes": take_flashes(request),
        "q": "",
    }
    full.update(context or {})
    return HTMLResponse(render(template, full), status_code=status_code)


def refusal_page(request: Request, services: Services, template: str, context: dict[str, Any],
                 refusal: HTTPException) -> HTMLResponse:
    """The form page again, with the refusal's message as its error, status and headers (a 429's
    `Retry-After`)."""
    response = page(request, services, template, {**context, "error": str(refusal.detail)},
                    status_code=refusal.status_code)
    response.headers.update(refusal.headers or {})
    return response
