"""`/submit`: add a paper by its id (arXiv id, DOI, PubMed id, OpenReview link), its metadata fetched from
that service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from paperscope.errors import InputError
from paperscope.limits import ARXIV_ID
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep
from paperscope.web.moderation import blocked_refusal
from paperscope.web.pages import page, refusal_page
from paperscope.web.security import take_submission, too_many
from paperscope.web.submit import submit_paper

router = APIRouter(tags=["submissions"])


@router.get("/submit", response_class=HTMLResponse, summary="Submission form")
def submit_form(request: Request, services: ServicesDep, user: CurrentUser) -> HTMLResponse:
    return page(request, services, "submit.html", {"error": None, "submission": None, "arxiv_id": ""})


@router.post("/submit", response_class=HTMLResponse, dependencies=[CsrfChecked], summary="Submit a paper")
async def submit(request: Request, services: ServicesDep, user: RequiredUser,
                 arxiv_id: Annotated[str, Form(), Bounded(ARXIV_ID)]) -> HTMLResponse:
    if (blocked := blocked_refusal(user, "submit papers")) is not None:
        return refusal_page(request, services, "submit.html", {"submission": None, "arxiv_id": arxiv_id}, blocked)
    if wait := await run_in_threadpool(take_submission, request, services, user):
        return refusal_page(request, services, "submit.html", {"submission": None, "arxiv_id": arxiv_id},
                            too_many("submissions from your account or address this hour", wait))
    try:
        submission = await run_in_threadpool(submit_paper, services, user, arxiv_id)
    except InputError as exc:
        return page(request, services, "submit.html", {"error": str(exc), "submission": None,
                                                       "arxiv_id": arxiv_id}, status_code=400)
    status = 502 if submission.status == "failed" else 200
    return page(request, services, "submit.html", {"error": submission.message if status != 200 else None,
                                                   "submission": submission if status == 200 else None,
                                                   "arxiv_id": arxiv_id}, status_code=status)
