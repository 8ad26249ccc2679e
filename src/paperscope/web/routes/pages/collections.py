"""Collections: create, read (the owner's, or anyone's public ones), edit, delete, remove papers, export as
BibTeX, CSL-JSON or RIS.
A private collection is answered 404 to everyone but its owner, so its existence does not leak."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.errors import InputError
from paperscope.feed.bibtex import to_bibtex
from paperscope.limits import COLLECTION_DESCRIPTION, COLLECTION_NAME, PAPER_ID
from paperscope.models import Paper
from paperscope.store.accounts import Collection, User
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep
from paperscope.web.exports import export_response, export_responses
from paperscope.web.lookups import visible_collection
from paperscope.web.moderation import refuse_blocked
from paperscope.web.pages import cards, page
from paperscope.web.params import RecordId
from paperscope.web.services import Services

router = APIRouter(tags=["collections"])
NameForm = Annotated[str, Form(), Bounded(COLLECTION_NAME)]
DescriptionForm = Annotated[str, Form(), Bounded(COLLECTION_DESCRIPTION)]


def _readable(services: Services, collection_id: int, viewer: User | None) -> tuple[Collection, list[Paper]]:
    collection, ids = visible_collection(services, collection_id, viewer)
    found = services.store.get_papers(ids)
    return collection, [found[i] for i in ids if i in found]


@router.post("/collections", dependencies=[CsrfChecked], summary="Create a collection")
def create(services: ServicesDep, user: RequiredUser, name: NameForm, description: DescriptionForm = "",
           public: Annotated[str | None, Form()] = None) -> Response:
    if public:
        refuse_blocked(user, "publish a collection")
    try:
        collection = services.store.accounts.create_collection(user.id, name, description=description,
                                                               public=bool(public))
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/collections/{collection.id}", status_code=303)


@router.get("/collections/{collection_id}", response_class=HTMLResponse, summary="A collection")
def show(request: Request, services: ServicesDep, user: CurrentUser, collection_id: RecordId) -> HTMLResponse:
    collection, papers = _readable(services, collection_id, user)
    return page(request, services, "collection.html", {
        "collection": collection, "items": cards(services, user, papers),
        "owner": user is not None and user.id == collection.user_id})


@router.get("/collections/{collection_id}/bibtex", summary="BibTeX of a collection", response_class=Response,
            responses=export_responses("bibtex"))
def bibtex(services: ServicesDep, user: CurrentUser, collection_id: RecordId) -> Response:
    collection, papers = _readable(services, collection_id, user)
    # The owner's export carries the owner's notes; anyone else's, of a public collection, none.
    notes = (services.store.notes.notes_of(user.id, [p.id for p in papers])
             if user is not None and user.id == collection.user_id else None)
    return Response(to_bibtex(papers, notes), media_type="application/x-bibtex; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="collection-{collection.id}.bib"'})


@router.get("/collections/{collection_id}/csljson", summary="CSL-JSON of a collection", response_class=Response,
            responses=export_responses("csljson"))
def csl_json(services: ServicesDep, user: CurrentUser, collection_id: RecordId) -> Response:
    collection, papers = _readable(services, collection_id, user)
    return export_response(papers, "csljson", f"collection-{collection.id}")


@router.get("/collections/{collection_id}/ris", summary="RIS of a collection", response_class=Response,
            responses=export_responses("ris"))
def ris(services: ServicesDep, user: CurrentUser, collection_id: RecordId) -> Response:
    collection, papers = _readable(services, collection_id, user)
    return export_response(papers, "ris", f"collection-{collection.id}")


def _owned(action: str) -> str:
    return f"There is no collection of yours to {action}."


@router.post("/collections/{collection_id}/edit", dependencies=[CsrfChecked], summary="Edit a collection")
def edit(services: ServicesDep, user: RequiredUser, collection_id: RecordId, name: NameForm,
         description: DescriptionForm = "", public: Annotated[str | None, Form()] = None) -> Response:
    if public:
        refuse_blocked(user, "publish a collection")
    try:
        services.store.accounts.update_collection(collection_id, owner_id=user.id, name=name,
                                                  description=description, public=bool(public))
    except InputError:
        raise HTTPException(404, _owned("edit")) from None
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post("/collections/{collection_id}/delete", dependencies=[CsrfChecked], summary="Delete a collection")
def delete(services: ServicesDep, user: RequiredUser, collection_id: RecordId) -> Response:
    try:
        services.store.accounts.delete_collection(collection_id, owner_id=user.id)
    except InputError:
        raise HTTPException(404, _owned("delete")) from None
    return RedirectResponse("/me#collections", status_code=303)


@router.post("/collections/{collection_id}/remove", dependencies=[CsrfChecked],
             summary="Remove a paper from a collection")
def remove(services: ServicesDep, user: RequiredUser, collection_id: RecordId,
           paper_id: Annotated[str, Form(), Bounded(PAPER_ID)]) -> Response:
    try:
        services.store.accounts.remove_from_collection(collection_id, [paper_id], owner_id=user.id)
    except InputError:
        raise HTTPException(404, _owned("change")) from None
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)
