"""JSON API: papers, similar papers, votes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from paperscope.errors import InputError, PaperscopeError
from paperscope.ingest.fields import parse_date
from paperscope.models import Paper
from paperscope.store import PaperFilter
from paperscope.web.deps import RequiredApiUser, ServicesDep
from paperscope.web.hints import web_message
from paperscope.web.routes.papers import get_paper
from paperscope.web.schemas import ErrorBody, Page, PaperOut, ScoredPaper, VoteIn, VoteOut
from paperscope.web.services import Services

ERRORS = {400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 404: {"model": ErrorBody},
          422: {"model": ErrorBody}, 503: {"model": ErrorBody}}
router = APIRouter(prefix="/api", tags=["papers"], responses=ERRORS)  # type: ignore[arg-type]

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip")]


def papers_out(services: Services, papers: list[Paper]) -> list[PaperOut]:
    local = services.store.accounts.vote_counts([p.id for p in papers])
    base = services.settings.base_url
    return [PaperOut.of(p, (p.upvotes or 0) + local.get(p.id, 0), base) for p in papers]


def filters_of(date_from: str | None, date_to: str | None, category: str | None, author: str | None
               ) -> PaperFilter:
    try:
        return PaperFilter(published_from=parse_date(date_from), published_to=parse_date(date_to),
                           category=category or None, author=author or None)
    except ValueError as exc:
        raise HTTPException(400, f"from/to must be dates as YYYY-MM-DD: {exc}") from None


@router.get("/papers", response_model=Page[PaperOut], summary="Papers, newest first")
def list_papers(services: ServicesDep, limit: Limit = 20, offset: Offset = 0,
                date_from: Annotated[str | None, Query(alias="from")] = None,
                date_to: Annotated[str | None, Query(alias="to")] = None,
                category: str | None = None, author: str | None = None) -> Page[PaperOut]:
    papers, total = services.store.list_papers(filters_of(date_from, date_to, category, author),
                                               limit=limit, offset=offset)
    following = offset + limit if offset + limit < total else None
    return Page[PaperOut](items=papers_out(services, papers), total=total, limit=limit, offset=offset,
                          next_offset=following)


@router.get("/papers/{paper_id:path}/similar", response_model=Page[ScoredPaper], summary="Similar papers")
def similar_papers(services: ServicesDep, paper_id: str,
                   limit: Annotated[int, Query(ge=1, le=100)] = 10) -> Page[ScoredPaper]:
    paper = get_paper(services, paper_id)
    try:
        results = services.search.similar(paper.id, limit=limit)
    except PaperscopeError as exc:
        raise HTTPException(503, web_message(exc)) from None
    outs = papers_out(services, [p for _, p in results])
    return Page[ScoredPaper](items=[ScoredPaper(score=round(h.score, 6), paper=o)
                                    for (h, _), o in zip(results, outs, strict=True)],
                             total=len(outs), limit=limit, offset=0, next_offset=None)


@router.put("/papers/{paper_id:path}/vote", response_model=VoteOut, summary="Upvote (or withdraw with up=false)")
def vote(services: ServicesDep, user: RequiredApiUser, paper_id: str, body: VoteIn) -> VoteOut:
    paper = get_paper(services, paper_id)
    try:
        if services.store.accounts.vote(user.id, paper.id, up=body.up):
            services.trending.record_vote(paper.id, 1 if body.up else -1)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    local = services.store.accounts.vote_counts([paper.id]).get(paper.id, 0)
    return VoteOut(paper_id=paper.id, voted=body.up, upvotes=(paper.upvotes or 0) + local)


@router.get("/votes", response_model=list[str], summary="Ids of the papers you upvoted, newest first")
def my_votes(services: ServicesDep, user: RequiredApiUser) -> list[str]:
    return services.store.accounts.voted_ids(user.id)


@router.get("/papers/{paper_id:path}", response_model=PaperOut, summary="One paper")
def one_paper(services: ServicesDep, paper_id: str) -> PaperOut:
    return papers_out(services, [get_paper(services, paper_id)])[0]
