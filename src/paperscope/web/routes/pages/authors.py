"""`/authors`: author records (authors that sources name by an id), their papers here, and following them;
`/authors?q=` finds them by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from paperscope.limits import AUTHOR_NAME
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CurrentUser, ServicesDep
from paperscope.web.lookups import is_following
from paperscope.web.pages import cards, page
from paperscope.web.params import Offset, RecordId

router = APIRouter(tags=["authors"])
PAGE = 50


@router.get("/authors", response_class=HTMLResponse, summary="Find authors by name")
def find(request: Request, services: ServicesDep,
         q: Annotated[str, Query(), Bounded(AUTHOR_NAME)] = "") -> HTMLResponse:
    found = services.store.authors.find_authors(q) if q.strip() else []
    return page(request, services, "authors.html", {"q": q, "authors": found})


@router.get("/authors/{author_id}", response_class=HTMLResponse, summary="An author's page")
def author_page(request: Request, services: ServicesDep, user: CurrentUser, author_id: RecordId,
                offset: Offset = 0) -> HTMLResponse:
    author = services.store.authors.get_author(author_id)
    if author is None:
        raise HTTPException(404, f"There is no author {author_id}; find authors at /authors.")
    papers, total = services.store.authors.papers_of(author.id, limit=PAGE, offset=offset)
    return page(request, services, "author.html", {
        "author": author, "items": cards(services, user, papers), "total": total, "offset": offset,
        "next_offset": offset + PAGE if offset + PAGE < total else None,
        "following": is_following(services, user.id if user else None, "author_id", author.id)})
