"""Submitting a paper by an id: an arXiv id or link, a DOI, a PubMed id or an OpenReview forum link. Its
metadata comes from the service that id belongs to (arXiv, Crossref, PubMed, OpenReview) through the ingest code."""

from __future__ import annotations

from paperscope.errors import InputError, OfflineError, PaperscopeError
from paperscope.ids import MAX_ID_CHARS, parse_paper_ref, split_ref
from paperscope.ingest.pipeline import Ingester
from paperscope.ingest.remote import network_items
from paperscope.store.accounts import User
from paperscope.store.submissions import Submission
from paperscope.text import plain_text
from paperscope.web.services import Services

# A person is waiting for the answer: fewer and shorter retries than a background crawl.
SUBMIT_RETRIES = 1
SUBMIT_TIMEOUT_SECONDS = 15.0

# The kind of a submitted id -> (the network source that fetches it, the service's name).
FETCHERS = {"arxiv": ("arxiv:id:{}", "arXiv"), "doi": ("doi:{}", "Crossref"), "pmid": ("pubmed:id:{}", "PubMed"),
            "openreview": ("openreview:forum:{}", "OpenReview")}
ACCEPTED = ("an arXiv id or link (2503.11731, arxiv.org/abs/...), a DOI (10.1038/..., doi.org/...), a PubMed id "
            "(pmid:34265844, pubmed.ncbi.nlm.nih.gov/...) or an OpenReview link (openreview.net/forum?id=...)")


def normalise_submission(raw: str) -> str:
    """The reference ("kind:value") a submitted id or link names; InputError says what is accepted."""
    ref = parse_paper_ref(raw.strip())
    if ref is None or split_ref(ref)[0] not in FETCHERS:
        raise InputError(f"{raw.strip()[:100]!r} is not an id paperscope can fetch: give {ACCEPTED}.")
    if len(ref) > MAX_ID_CHARS:
        raise InputError(f"The id {ref[:80]!r} is longer than {MAX_ID_CHARS} characters; ingest the paper on the "
                         "server instead: paperscope ingest doi:...")
    return ref


def submit_paper(services: Services, user: User, raw_id: str) -> Submission:
    """Fetch the paper from its service, store it, and record the submission (also when the fetch failed)."""
    ref = normalise_submission(raw_id)
    kind, value = split_ref(ref)
    source, service = FETCHERS[kind]
    submitted = value if kind == "arxiv" else ref  # arXiv ids are written bare everywhere else
    settings = services.settings.model_copy(update={
        "http_retries": min(services.settings.http_retries, SUBMIT_RETRIES),
        "http_timeout_seconds": min(services.settings.http_timeout_seconds, SUBMIT_TIMEOUT_SECONDS)})
    store = services.store
    try:
        items = network_items(source.format(value), store, settings)
        report = Ingester(store, settings).store_items(items)
    except OfflineError:
        return store.submissions.add(
            user.id, submitted, paper_id=None, status="failed",
            message=f"{service} could not be reached from this server (no network?), so the paper was not fetched. "
                    "Try again later, or ingest a saved file on the server: paperscope ingest FILE.")
    except PaperscopeError as exc:
        return store.submissions.add(user.id, submitted, paper_id=None, status="failed",
                                     message=f"{service} did not give the paper: {exc}")
    paper = store.get_paper(ref)
    if paper is None:
        reasons = "; ".join(p.message for p in report.problems[:3])
        return store.submissions.add(
            user.id, submitted, paper_id=None, status="failed",
            message=f"{service} has no paper {submitted}" + (f" ({reasons})" if reasons else "") + ". Check the id.")
    if store.moderation.is_paper_hidden(paper.id):
        return store.submissions.add(user.id, submitted, paper_id=None, status="failed",
                                     message=f"A moderator hid {submitted} on this site, so it is not shown here.")
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    title = plain_text(paper.title)
    message = {"added": f"Added “{title}”.", "updated": f"Updated “{title}” from {service}.",
               "unchanged": f"“{title}” was already here, unchanged."}[status]
    if report.added or report.updated:
        services.trending.invalidate()
        if services.jobs is not None:
            services.jobs.embed_soon()
    return store.submissions.add(user.id, submitted, paper_id=paper.id, status=status, message=message)
