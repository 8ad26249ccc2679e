"""JSON API of papers: listing, one paper, similar papers, and votes on papers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from paperscope.errors import InputError, PaperscopeError
from paperscope.filter_input import parse_paper_filter
from paperscope.models import Paper
from paperscope.web.deps import ApiUser, RequiredApiUser, ServicesDep
from paperscope.web.hints import web_message
from paperscope.web.lookups import get_paper, papers_out
from paperscope.web.params import (
    AuthorQuery,
    CategoryQuery,
    DateFrom,
    DateTo,
    Limit,
    Offset,
    PaperIdPath,
)
from paperscope.web.schemas import ERROR_RESPONSES, Page, PaperOut, ScoredPaper, VoteIn, VoteOut
from paperscope.web.services import Services
from paperscope.web.votes import cast_vote

router = APIRouter(tags=["papers"], responses=ERROR_RESPONSES)


@router.get("/papers", response_model=Page[PaperOut], summary="Papers, newest first",
            description="Papers newest first (by publication date, then by when they were added), with the date, "
                        "category and author filters. `total` counts the matches up to "
                        "PAPERSCOPE_LISTING_COUNT_LIMIT (10,000 by default) or the page's offset + limit if that "
                        "is more; past it `total_is_lower_bound` is true: more papers than `total` match.")
def list_papers(services: ServicesDep, limit: Limit = 20, offset: Offset = 0,
                date_from: DateFrom = None, date_to: DateTo = None, category: CategoryQuery = None,
                author: AuthorQuery = None) -> Page[PaperOut]:
    try:
        filters = parse_paper_filter(date_from=date_from, date_to=date_to, category=category, author=author)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    listing = services.store.list_papers(filters, limit=limit, offset=offset,
                                         count_limit=services.settings.listing_count_limit)
    return _page(services, listing.papers, listing.total, limit, offset, more=listing.total_is_lower_bound)


@router.get("/papers/{paper_id:path}/similar", response_model=Page[ScoredPaper], summary="Similar papers")
def similar_papers(services: ServicesDep, paper_id: PaperIdPath,
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


@router.get("/papers/{paper_id:path}/references", response_model=Page[PaperOut],
            summary="The papers it cites that are stored here, newest first")
def references(services: ServicesDep, paper_id: PaperIdPath, limit: Limit = 20, offset: Offset = 0) -> Page[PaperOut]:
    paper = get_paper(services, paper_id)
    return _page(services, *services.store.cited_papers(paper.id, limit=limit, offset=offset), limit, offset)


@router.get("/papers/{paper_id:path}/citations", response_model=Page[PaperOut],
            summary="The papers stored here that cite it, newest first")
def citations(services: ServicesDep, paper_id: PaperIdPath, limit: Limit = 20, offset: Offset = 0) -> Page[PaperOut]:
    paper = get_paper(services, paper_id)
    return _page(services, *services.store.citing_papers(paper.id, limit=limit, offset=offset), limit, offset)


def _page(services: Services, papers: list[Paper], total: int, limit: int, offset: int, *, more: bool = False
          ) -> Page[PaperOut]:
    """A page of papers; `more`: more than `total` match (the count stopped there, past this page)."""
    following = offset + limit if more or offset + limit < total else None
    return Page[PaperOut](items=papers_out(services, papers), total=total, total_is_lower_bound=more, limit=limit,
                          offset=offset, next_offset=following)


@router.put("/papers/{paper_id:path}/vote", response_model=VoteOut, summary="Upvote (or withdraw with up=false)")
def vote(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath, body: VoteIn) -> VoteOut:
    paper = get_paper(services, paper_id)
    try:
        upvotes = cast_vote(services, user, paper, up=body.up)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    return VoteOut(paper_id=paper.id, voted=body.up, upvotes=upvotes)


@router.get("/votes", response_model=list[str], summary="Ids of the papers you upvoted, newest first")
def my_votes(services: ServicesDep, user: RequiredApiUser) -> list[str]:
    return services.store.accounts.voted_ids(user.id)


@router.get("/papers/{paper_id:path}", response_model=PaperOut, summary="One paper")
def one_paper(services: ServicesDep, user: ApiUser, paper_id: PaperIdPath) -> PaperOut:
    return papers_out(services, [get_paper(services, paper_id, user)])[0]
