"""JSON API of author records: one author with their papers here, and finding authors by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from paperscope.limits import AUTHOR_NAME
from paperscope.web.bounded import Bounded
from paperscope.web.deps import ServicesDep
from paperscope.web.lookups import papers_out
from paperscope.web.params import Limit, Offset, RecordId
from paperscope.web.schemas import ERROR_RESPONSES, AuthorOut, AuthorPage

router = APIRouter(tags=["authors"], responses=ERROR_RESPONSES)


@router.get("/authors", response_model=list[AuthorOut], summary="Authors whose name has these words")
def find_authors(services: ServicesDep, q: Annotated[str, Query(), Bounded(AUTHOR_NAME)],
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[AuthorOut]:
    return [AuthorOut.of(a) for a in services.store.authors.find_authors(q, limit=limit)]


@router.get("/authors/{author_id}", response_model=AuthorPage, summary="An author and their papers here")
def one_author(services: ServicesDep, author_id: RecordId, limit: Limit = 20, offset: Offset = 0) -> AuthorPage:
    author = services.store.authors.get_author(author_id)
    if author is None:
        raise HTTPException(404, f"There is no author {author_id}.")
    papers, total = services.store.authors.papers_of(author.id, limit=limit, offset=offset)
    return AuthorPage(author=AuthorOut.of(author), items=papers_out(services, papers), total=total, limit=limit,
                      offset=offset, next_offset=offset + limit if offset + limit < total else None)
