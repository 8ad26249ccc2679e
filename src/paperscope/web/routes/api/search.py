"""JSON API of search: hybrid, keyword or semantic search with date, category and author filters."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from paperscope.errors import InputError, SearchUnavailable
from paperscope.web.deps import ApiUser, ServicesDep
from paperscope.web.hints import web_message
from paperscope.web.lookups import papers_out
from paperscope.web.params import (
    AuthorQuery,
    CategoryQuery,
    DateFrom,
    DateTo,
    Limit,
    ModeQuery,
    Offset,
    SearchText,
    search_form,
)
from paperscope.web.schemas import ERROR_RESPONSES, SearchHitOut, SearchPage

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)


@router.get("/search", response_model=SearchPage, summary="Hybrid, keyword or semantic search")
def search(services: ServicesDep, user: ApiUser, q: SearchText, mode: ModeQuery = "hybrid", limit: Limit = 20,
           offset: Offset = 0, date_from: DateFrom = None, date_to: DateTo = None, category: CategoryQuery = None,
           author: AuthorQuery = None) -> SearchPage:
    form = search_form(q, mode, date_from, date_to, category, author)
    try:
        results = services.search.search(form.q, mode=form.checked_mode(), limit=limit + 1, offset=offset,
                                         filters=form.filters())
    except SearchUnavailable as exc:
        raise HTTPException(503, web_message(exc)) from None
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    shown = results[:limit]
    outs = papers_out(services, [p for _, p in shown])
    items = [SearchHitOut(score=round(h.score, 6), keyword_rank=h.keyword_rank, semantic_rank=h.semantic_rank,
                          paper=o) for (h, _), o in zip(shown, outs, strict=True)]
    return SearchPage(query=form.q, mode=form.mode, items=items, total=None, limit=limit, offset=offset,
                      next_offset=offset + limit if len(results) > limit else None)
