"""JSON API: your collections (and anyone's public ones), and your submissions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from fastapi.concurrency import run_in_threadpool

from paperscope.errors import InputError
from paperscope.store.accounts import Collection
from paperscope.web.deps import ApiUser, RequiredApiUser, ServicesDep
from paperscope.web.routes.api_papers import ERRORS
from paperscope.web.schemas import (
    CollectionIn,
    CollectionOut,
    CollectionPapersIn,
    SubmissionIn,
    SubmissionOut,
)
from paperscope.web.submit import submit_arxiv_paper

router = APIRouter(prefix="/api", tags=["collections"], responses=ERRORS)  # type: ignore[arg-type]


def collection_out(collection: Collection, paper_ids: list[str] | None = None) -> CollectionOut:
    return CollectionOut(id=collection.id, name=collection.name, description=collection.description,
                         public=collection.public, size=collection.size, created_at=collection.created_at,
                         paper_ids=paper_ids)


def _not_found(collection_id: int) -> HTTPException:
    return HTTPException(404, f"There is no collection {collection_id} that you can see.")


@router.get("/collections", response_model=list[CollectionOut], summary="Your collections")
def my_collections(services: ServicesDep, user: RequiredApiUser) -> list[CollectionOut]:
    return [collection_out(c) for c in services.store.accounts.list_collections(user.id, viewer_id=user.id)]


@router.post("/collections", response_model=CollectionOut, status_code=201, summary="Create a collection")
def create_collection(services: ServicesDep, user: RequiredApiUser, body: CollectionIn) -> CollectionOut:
    try:
        created = services.store.accounts.create_collection(user.id, body.name, description=body.description,
                                                            public=body.public)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return collection_out(created, [])


@router.get("/collections/{collection_id}", response_model=CollectionOut,
            summary="A collection with its paper ids (yours, or a public one)")
def get_collection(services: ServicesDep, user: ApiUser, collection_id: int) -> CollectionOut:
    viewer = user.id if user else None
    collection = services.store.accounts.get_collection(collection_id, viewer_id=viewer)
    ids = services.store.accounts.collection_paper_ids(collection_id, viewer_id=viewer)
    if collection is None or ids is None:
        raise _not_found(collection_id)
    return collection_out(collection, ids)


@router.post("/collections/{collection_id}/papers", response_model=CollectionOut,
             summary="Add papers to your collection")
def add_papers(services: ServicesDep, user: RequiredApiUser, collection_id: int,
               body: CollectionPapersIn) -> CollectionOut:
    accounts = services.store.accounts
    collection = accounts.get_collection(collection_id, viewer_id=user.id)
    if collection is None or collection.user_id != user.id:  # someone else's public collection is read-only
        raise _not_found(collection_id)
    try:
        accounts.add_to_collection(collection_id, body.paper_ids, owner_id=user.id)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return get_collection(services, user, collection_id)


@router.delete("/collections/{collection_id}/papers/{paper_id:path}", response_model=CollectionOut,
               summary="Remove a paper from your collection")
def remove_paper(services: ServicesDep, user: RequiredApiUser, collection_id: int, paper_id: str) -> CollectionOut:
    try:
        services.store.accounts.remove_from_collection(collection_id, [paper_id], owner_id=user.id)
    except InputError:
        raise _not_found(collection_id) from None
    return get_collection(services, user, collection_id)


@router.delete("/collections/{collection_id}", status_code=204, response_class=Response,
               summary="Delete your collection")
def delete_collection(services: ServicesDep, user: RequiredApiUser, collection_id: int) -> Response:
    try:
        services.store.accounts.delete_collection(collection_id, owner_id=user.id)
    except InputError:
        raise _not_found(collection_id) from None
    return Response(status_code=204)


@router.get("/submissions", response_model=list[SubmissionOut], tags=["submissions"],
            summary="Your submissions, newest first")
def my_submissions(services: ServicesDep, user: RequiredApiUser) -> list[SubmissionOut]:
    return [SubmissionOut(id=s.id, arxiv_id=s.arxiv_id, paper_id=s.paper_id, status=s.status, message=s.message,
                          created_at=s.created_at) for s in services.store.submissions.by_user(user.id)]


@router.post("/submissions", response_model=SubmissionOut, status_code=201, tags=["submissions"],
             summary="Submit a paper by arXiv id (its metadata is fetched from the arXiv API)")
async def submit(services: ServicesDep, user: RequiredApiUser, body: SubmissionIn) -> SubmissionOut:
    try:
        s = await run_in_threadpool(submit_arxiv_paper, services, user, body.arxiv_id)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    out = SubmissionOut(id=s.id, arxiv_id=s.arxiv_id, paper_id=s.paper_id, status=s.status, message=s.message,
                        created_at=s.created_at)
    if s.status == "failed":
        raise HTTPException(502, s.message)
    return out
