"""JSON API of collections: yours to create, fill, empty and delete, and anyone's public ones to read."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from paperscope.errors import InputError
from paperscope.store.accounts import Collection
from paperscope.web.deps import ApiUser, RequiredApiUser, ServicesDep
from paperscope.web.lookups import collection_not_found, visible_collection
from paperscope.web.moderation import refuse_blocked
from paperscope.web.params import PaperIdPath, RecordId
from paperscope.web.schemas import ERROR_RESPONSES, CollectionIn, CollectionOut, CollectionPapersIn

router = APIRouter(tags=["collections"], responses=ERROR_RESPONSES)


def collection_out(collection: Collection, paper_ids: list[str] | None = None) -> CollectionOut:
    return CollectionOut(id=collection.id, name=collection.name, description=collection.description,
                         public=collection.public, size=collection.size, created_at=collection.created_at,
                         paper_ids=paper_ids)


@router.get("/collections", response_model=list[CollectionOut], summary="Your collections")
def my_collections(services: ServicesDep, user: RequiredApiUser) -> list[CollectionOut]:
    return [collection_out(c) for c in services.store.accounts.list_collections(user.id, viewer_id=user.id)]


@router.post("/collections", response_model=CollectionOut, status_code=201, summary="Create a collection")
def create_collection(services: ServicesDep, user: RequiredApiUser, body: CollectionIn) -> CollectionOut:
    if body.public:
        refuse_blocked(user, "publish a collection")
    try:
        created = services.store.accounts.create_collection(user.id, body.name, description=body.description,
                                                            public=body.public)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return collection_out(created, [])


@router.get("/collections/{collection_id}", response_model=CollectionOut,
            summary="A collection with its paper ids (yours, or a public one)")
def get_collection(services: ServicesDep, user: ApiUser, collection_id: RecordId) -> CollectionOut:
    collection, ids = visible_collection(services, collection_id, user)
    return collection_out(collection, ids)


@router.post("/collections/{collection_id}/papers", response_model=CollectionOut,
             summary="Add papers to your collection")
def add_papers(services: ServicesDep, user: RequiredApiUser, collection_id: RecordId,
               body: CollectionPapersIn) -> CollectionOut:
    accounts = services.store.accounts
    collection = accounts.get_collection(collection_id, viewer_id=user.id)
    if collection is None or collection.user_id != user.id:  # someone else's public collection is read-only
        raise collection_not_found(collection_id)
    try:
        accounts.add_to_collection(collection_id, body.paper_ids, owner_id=user.id)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return get_collection(services, user, collection_id)


@router.delete("/collections/{collection_id}/papers/{paper_id:path}", response_model=CollectionOut,
               summary="Remove a paper from your collection")
def remove_paper(services: ServicesDep, user: RequiredApiUser, collection_id: RecordId,
                 paper_id: PaperIdPath) -> CollectionOut:
    try:
        services.store.accounts.remove_from_collection(collection_id, [paper_id], owner_id=user.id)
    except InputError:
        raise collection_not_found(collection_id) from None
    return get_collection(services, user, collection_id)


@router.delete("/collections/{collection_id}", status_code=204, response_class=Response,
               summary="Delete your collection")
def delete_collection(services: ServicesDep, user: RequiredApiUser, collection_id: RecordId) -> Response:
    try:
        services.store.accounts.delete_collection(collection_id, owner_id=user.id)
    except InputError:
        raise collection_not_found(collection_id) from None
    return Response(status_code=204)
