"""Submitting a paper by arXiv id: its metadata comes from the arXiv API through the ingest code."""

from __future__ import annotations

from paperscope.errors import InputError, OfflineError, PaperscopeError
from paperscope.ids import parse_arxiv_id
from paperscope.ingest.arxiv_api import arxiv_items
from paperscope.ingest.pipeline import Ingester
from paperscope.store.accounts import User
from paperscope.store.submissions import Submission
from paperscope.text import plain_text
from paperscope.web.services import Services

# A person is waiting for the answer: fewer and shorter retries than a background crawl.
SUBMIT_RETRIES = 1
SUBMIT_TIMEOUT_SECONDS = 15.0


def normalise_submission(raw: str) -> str:
    """The arXiv id (without version) in an id or abs/pdf link; InputError says what is accepted."""
    parsed = parse_arxiv_id(raw.strip())
    if parsed is None:
        raise InputError(f"{raw.strip()[:100]!r} is not an arXiv id: give one such as 2503.11731, "
                         "2503.11731v2, hep-th/9901001 or an arxiv.org/abs/... link.")
    return parsed[0]


def submit_arxiv_paper(services: Services, user: User, raw_id: str) -> Submission:
    """Fetch the paper from arXiv, store it, and record the submission (also when the fetch failed)."""
    arxiv_id = normalise_submission(raw_id)
    settings = services.settings.model_copy(update={
        "http_retries": min(services.settings.http_retries, SUBMIT_RETRIES),
        "http_timeout_seconds": min(services.settings.http_timeout_seconds, SUBMIT_TIMEOUT_SECONDS)})
    store = services.store
    try:
        items = arxiv_items(f"id:{arxiv_id}", store, settings, limit=None)
        report = Ingester(store, settings).store_items(items)
    except OfflineError:
        return store.submissions.add(
            user.id, arxiv_id, paper_id=None, status="failed",
            message="arXiv could not be reached from this server (no network?), so the paper was not fetched. "
                    "Try again later, or ingest a saved file on the server: paperscope ingest FILE.")
    except PaperscopeError as exc:
        return store.submissions.add(user.id, arxiv_id, paper_id=None, status="failed",
                                     message=f"arXiv did not give the paper: {exc}")
    paper = store.get_paper(arxiv_id)
    if paper is None:
        reasons = "; ".join(p.message for p in report.problems[:3])
        return store.submissions.add(
            user.id, arxiv_id, paper_id=None, status="failed",
            message=f"arXiv has no paper {arxiv_id}" + (f" ({reasons})" if reasons else "") + ". Check the id.")
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    title = plain_text(paper.title)
    message = {"added": f"Added “{title}”.", "updated": f"Updated “{title}” from arXiv.",
               "unchanged": f"“{title}” was already here, unchanged."}[status]
    if report.added or report.updated:
        services.trending.invalidate()
        if services.jobs is not None:
            services.jobs.embed_soon()
    return store.submissions.add(user.id, arxiv_id, paper_id=paper.id, status=status, message=message)
