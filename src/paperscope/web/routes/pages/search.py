"""`/search`: hybrid search with date, category and author filters and highlighted matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from paperscope.errors import InputError, SearchUnavailable
from paperscope.web.deps import CurrentUser, ServicesDep
from paperscope.web.exports import export_response, export_responses
from paperscope.web.hints import web_message
from paperscope.web.lookups import is_following
from paperscope.web.pages import cards, page
from paperscope.web.params import (
    AuthorQuery,
    CategoryQuery,
    DateFrom,
    DateTo,
    ModeQuery,
    SearchText,
    search_form,
)
from paperscope.web.services import Services

router = APIRouter(tags=["pages"])
PAGE_SIZE = 20
EXPORT_LIMIT = 200


@router.get("/search", response_class=HTMLResponse, summary="Search page")
def search_page(request: Request, services: ServicesDep, user: CurrentUser,
                q: SearchText = "", mode: ModeQuery = "hybrid", date_from: DateFrom = None, date_to: DateTo = None,
                category: CategoryQuery = None, author: AuthorQuery = None,
                page_number: Annotated[int, Query(alias="page", ge=1, le=500)] = 1) -> HTMLResponse:
    form = search_form(q, mode, date_from, date_to, category, author)
    offset = (page_number - 1) * PAGE_SIZE
    items: list[object] = []
    error = None
    has_more = False
    status = 200
    if form.q:
        try:
            results = services.search.search(form.q, mode=form.checked_mode(), limit=PAGE_SIZE + 1, offset=offset,
                                             filters=form.filters())
            hidden = set(services.store.accounts.library_ids(user.id, "hidden")) if user else set()
            has_more = len(results) > PAGE_SIZE
            items = list(cards(services, user, [p for _, p in results[:PAGE_SIZE] if p.id not in hidden]))
        except SearchUnavailable as exc:
            error, status = web_message(exc), 503
        except InputError as exc:
            error, status = str(exc), 400
    return page(request, services, "search.html", {
        "q": form.q, "mode": form.mode, "filters": form, "items": items, "offset": offset, "error": error,
        "has_more": has_more, "page_number": page_number, "query_string": form.query_string(),
        "any_filter": bool(form.date_from or form.date_to or form.category or form.author),
        "following": is_following(services, user.id if user else None, "query", form.q) if form.q else False},
        status_code=status)


ExportLimit = Annotated[int, Query(ge=1, le=EXPORT_LIMIT)]


def _export(services: Services, fmt: str, q: str, mode: str, date_from: str | None, date_to: str | None,
            category: str | None, author: str | None, limit: int) -> Response:
    form = search_form(q, mode, date_from, date_to, category, author)
    try:
        results = services.search.search(form.q, mode=form.checked_mode(), limit=limit, filters=form.filters())
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return export_response([p for _, p in results], fmt, "search")


@router.get("/search/bibtex", summary="BibTeX of a search result", response_class=Response,
            responses=export_responses("bibtex"))
def search_bibtex(services: ServicesDep, q: SearchText, mode: ModeQuery = "hybrid", date_from: DateFrom = None,
                  date_to: DateTo = None, category: CategoryQuery = None, author: AuthorQuery = None,
                  limit: ExportLimit = 50) -> Response:
    return _export(services, "bibtex", q, mode, date_from, date_to, category, author, limit)


@router.get("/search/csljson", summary="CSL-JSON of a search result", response_class=Response,
            responses=export_responses("csljson"))
def search_csl_json(services: ServicesDep, q: SearchText, mode: ModeQuery = "hybrid", date_from: DateFrom = None,
                    date_to: DateTo = None, category: CategoryQuery = None, author: AuthorQuery = None,
                    limit: ExportLimit = 50) -> Response:
    return _export(services, "csljson", q, mode, date_from, date_to, category, author, limit)


@router.get("/search/ris", summary="RIS of a search result", response_class=Response,
            responses=export_responses("ris"))
def search_ris(services: ServicesDep, q: SearchText, mode: ModeQuery = "hybrid", date_from: DateFrom = None,
               date_to: DateTo = None, category: CategoryQuery = None, author: AuthorQuery = None,
               limit: ExportLimit = 50) -> Response:
    return _export(services, "ris", q, mode, date_from, date_to, category, author, limit)
