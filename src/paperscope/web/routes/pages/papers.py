"""`/papers/{id}`: the whole record, and what a signed-in reader does with it (vote, save, hide, tag,
collect, set the reading state, write a private note) and its discussion (templates/_comments.html, whose forms
web/routes/pages/comments.py answers). Every POST here checks the CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from paperscope.errors import InputError, NotEmbedded, PaperscopeError
from paperscope.feed.bibtex import to_bibtex
from paperscope.ids import ids_by_kind
from paperscope.limits import NOTE, TAG
from paperscope.models import Paper
from paperscope.store.notes import READING_STATES
from paperscope.web.bounded import Bounded
from paperscope.web.comments import thread_context
from paperscope.web.deps import CsrfChecked, CurrentUser, RequiredUser, ServicesDep
from paperscope.web.hints import web_message
from paperscope.web.lookups import get_paper
from paperscope.web.markdown import render_markdown
from paperscope.web.pages import cards, page
from paperscope.web.params import PaperIdPath, form_record_id
from paperscope.web.security import safe_next
from paperscope.web.votes import cast_vote

router = APIRouter(tags=["pages"])
SIMILAR = 8
CITATIONS = 20
ID_NAMES = {"pmid": "PubMed", "pmcid": "PubMed Central", "openalex": "OpenAlex", "s2": "Semantic Scholar",
            "openreview": "OpenReview"}


def back(request: Request, paper: Paper, next_path: str | None = None) -> RedirectResponse:
    return RedirectResponse(safe_next(next_path, f"/papers/{paper.id}"), status_code=303)


@router.post("/papers/{paper_id:path}/vote", dependencies=[CsrfChecked], summary="Upvote or withdraw a vote")
def vote(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
         up: Annotated[int, Form()] = 1, next: Annotated[str | None, Form()] = None) -> Response:
    paper = get_paper(services, paper_id)
    upvotes = cast_vote(services, user, paper, up=bool(up))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"paper_id": paper.id, "voted": bool(up), "upvotes": upvotes})
    return back(request, paper, next)


@router.post("/papers/{paper_id:path}/library", dependencies=[CsrfChecked], summary="Save, hide or forget")
def library(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
            action: Annotated[str, Form()], next: Annotated[str | None, Form()] = None) -> Response:
    paper = get_paper(services, paper_id)
    accounts = services.store.accounts
    if action == "save":
        accounts.set_library_state(user.id, [paper.id], "saved")
    elif action == "hide":
        accounts.set_library_state(user.id, [paper.id], "hidden")
    elif action == "remove":
        accounts.remove_from_library(user.id, [paper.id])
    else:
        raise HTTPException(400, "action must be save, hide or remove")
    return back(request, paper, next)


@router.post("/papers/{paper_id:path}/tags", dependencies=[CsrfChecked], summary="Tag a paper")
def tag(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
        tag: Annotated[str, Form(), Bounded(TAG)]) -> Response:
    paper = get_paper(services, paper_id)
    try:
        services.store.accounts.add_tag(user.id, paper.id, tag)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return back(request, paper)


@router.post("/papers/{paper_id:path}/untag", dependencies=[CsrfChecked],
             summary="Take a tag off a paper (it stays in your library)")
def untag(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
          tag: Annotated[str, Form(), Bounded(TAG)]) -> Response:
    paper = get_paper(services, paper_id)
    services.store.accounts.remove_tag(user.id, paper.id, tag)
    return back(request, paper)


@router.post("/papers/{paper_id:path}/reading", dependencies=[CsrfChecked],
             summary="Set the reading state (to-read, reading, read); saves the paper to the library")
def reading(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
            state: Annotated[str, Form()], next: Annotated[str | None, Form()] = None) -> Response:
    paper = get_paper(services, paper_id)
    try:
        services.store.notes.set_reading_state(user.id, paper.id, state)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return back(request, paper, next)


@router.post("/papers/{paper_id:path}/note", dependencies=[CsrfChecked], summary="Write or replace your private note")
def write_note(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
               body: Annotated[str, Form(), Bounded(NOTE)]) -> Response:
    paper = get_paper(services, paper_id)
    try:
        services.store.notes.set_note(user.id, paper.id, body)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/papers/{paper.id}#note", status_code=303)


@router.post("/papers/{paper_id:path}/note/delete", dependencies=[CsrfChecked], summary="Delete your private note")
def delete_note(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath) -> Response:
    paper = get_paper(services, paper_id)
    services.store.notes.delete_note(user.id, paper.id)
    return RedirectResponse(f"/papers/{paper.id}#note", status_code=303)


@router.post("/papers/{paper_id:path}/collect", dependencies=[CsrfChecked], summary="Add to a collection")
def collect(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath,
            collection_id: Annotated[str, Form()] = "", new_name: Annotated[str, Form()] = "") -> Response:
    paper = get_paper(services, paper_id)
    accounts = services.store.accounts
    try:
        if new_name.strip() or not collection_id:
            target = accounts.create_collection(user.id, new_name or "Reading list").id
        else:
            target = form_record_id(collection_id, "collection_id")
        accounts.add_to_collection(target, [paper.id], owner_id=user.id)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/collections/{target}", status_code=303)


@router.get("/papers/{paper_id:path}/bibtex", summary="BibTeX of a paper", response_class=Response,
            responses={200: {"content": {"application/x-bibtex": {}}}})
def bibtex(services: ServicesDep, user: CurrentUser, paper_id: PaperIdPath) -> Response:
    """The paper's BibTeX; a signed-in reader's own note on it is its `note`."""
    paper = get_paper(services, paper_id)
    notes = services.store.notes.notes_of(user.id, [paper.id]) if user is not None else None
    return Response(to_bibtex([paper], notes), media_type="application/x-bibtex; charset=utf-8")


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse, summary="A paper's page")
def paper_page(request: Request, services: ServicesDep, user: CurrentUser, paper_id: PaperIdPath) -> HTMLResponse:
    paper = get_paper(services, paper_id, user)
    if paper.id != paper_id:  # an arXiv id given with a version or as a link: one address per paper
        return RedirectResponse(f"/papers/{paper.id}", status_code=301)  # type: ignore[return-value]
    card = cards(services, user, [paper])[0]
    similar_note = None
    similar = []
    try:
        similar = cards(services, user, [p for _, p in services.search.similar(paper.id, limit=SIMILAR)])
    except NotEmbedded:
        similar_note = ("Similar papers appear once this paper is embedded (the server does it in the background; "
                        "or run: paperscope index).")
    except PaperscopeError as exc:
        similar_note = web_message(exc)
    cited, cited_total = services.store.cited_papers(paper.id, limit=CITATIONS)
    citing, citing_total = services.store.citing_papers(paper.id, limit=CITATIONS)
    context: dict[str, object] = {
        "paper": paper, "card": card, "similar": similar, "similar_note": similar_note,
        "bibtex": to_bibtex([paper]), "state": None, "note": None, "note_html": None, "reading": None,
        "reading_states": READING_STATES, "collections": [], "in_collections": [], "paper_tags": [],
        "known_ids": ids_by_kind(paper.refs, paper.doi), "id_names": ID_NAMES,
        "following_discussion": user is not None and services.store.notifications.is_following(user.id, paper.id),
        "author_records": services.store.authors.authors_of(paper.id),
        "hidden_paper": services.store.moderation.hidden_paper(paper.id) if user and user.is_admin else None,
        "citation_sections": [("References", "references", cited_total, cards(services, user, cited)),
                              ("Cited by papers", "citations", citing_total, cards(services, user, citing))],
        **thread_context(services, user, paper)}
    if user is not None:
        accounts = services.store.accounts
        mine = accounts.list_collections(user.id, viewer_id=user.id)
        context["state"] = accounts.library_states(user.id, [paper.id]).get(paper.id)
        context["collections"] = mine
        context["in_collections"] = [c for c in mine
                                     if paper.id in (accounts.collection_paper_ids(c.id, viewer_id=user.id) or [])]
        context["paper_tags"] = [t for t, ids in accounts.tags_of(user.id).items() if paper.id in ids]
        note = services.store.notes.get_note(user.id, paper.id)
        context["reading"] = services.store.notes.reading_states(user.id, [paper.id]).get(paper.id)
        if note is not None:
            context["note"], context["note_html"] = note, render_markdown(note.body)
            context["bibtex"] = to_bibtex([paper], {paper.id: note.body})
    return page(request, services, "paper.html", context)
