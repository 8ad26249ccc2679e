"""JSON API of submissions: submit a paper by its id (arXiv, DOI, PubMed, OpenReview), and list yours."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from paperscope.errors import InputError
from paperscope.web.deps import RequiredApiUser, ServicesDep
from paperscope.web.moderation import refuse_blocked
from paperscope.web.schemas import ERROR_RESPONSES, ErrorBody, SubmissionIn, SubmissionOut
from paperscope.web.security import take_submission, too_many
from paperscope.web.submit import submit_paper

router = APIRouter(tags=["submissions"], responses=ERROR_RESPONSES)


@router.get("/submissions", response_model=list[SubmissionOut],
            summary="Your submissions, newest first")
def my_submissions(services: ServicesDep, user: RequiredApiUser) -> list[SubmissionOut]:
    return [SubmissionOut(id=s.id, arxiv_id=s.arxiv_id, paper_id=s.paper_id, status=s.status, message=s.message,
                          created_at=s.created_at) for s in services.store.submissions.by_user(user.id)]


@router.post("/submissions", response_model=SubmissionOut, status_code=201,
             summary="Submit a paper by arXiv id (its metadata is fetched from the arXiv API)",
             responses={429: {"model": ErrorBody, "description": "Too many submissions from this account or "
                                                                 "address this hour; see `Retry-After`"}})
async def submit(request: Request, services: ServicesDep, user: RequiredApiUser, body: SubmissionIn) -> SubmissionOut:
    refuse_blocked(user, "submit papers")
    if wait := await run_in_threadpool(take_submission, request, services, user):
        raise too_many("submissions from your account or address this hour", wait)
    try:
        s = await run_in_threadpool(submit_paper, services, user, body.arxiv_id)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    out = SubmissionOut(id=s.id, arxiv_id=s.arxiv_id, paper_id=s.paper_id, status=s.status, message=s.message,
                        created_at=s.created_at)
    if s.status == "failed":
        raise HTTPException(502, s.message)
    return out
