"""JSON API of what is private to the caller about papers: their note on a paper, the reading state of the papers
in their library, their tags, and a search of their notes. Nobody reads or changes another user's note: every operation
works on the caller's own rows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from paperscope.errors import InputError
from paperscope.limits import NOTES_QUERY, TAG
from paperscope.store.notes import Note
from paperscope.web.bounded import Bounded
from paperscope.web.deps import RequiredApiUser, ServicesDep
from paperscope.web.lookups import get_paper
from paperscope.web.markdown import render_markdown
from paperscope.web.params import PaperIdPath
from paperscope.web.schemas import (
    ERROR_RESPONSES,
    NoteIn,
    NoteOut,
    PaperTagsOut,
    ReadingIn,
    ReadingOut,
    ReadingStateName,
    TagIn,
    TagOut,
)

router = APIRouter(tags=["notes"], responses=ERROR_RESPONSES)
NO_NOTE = "You have no note on this paper; write one with PUT and {\"body\": \"...\"}."


def note_out(note: Note) -> NoteOut:
    return NoteOut(paper_id=note.paper_id, body=note.body, body_html=str(render_markdown(note.body)),
                   created_at=note.created_at, updated_at=note.updated_at)


@router.get("/papers/{paper_id:path}/note", response_model=NoteOut, summary="Your private note on a paper")
def get_note(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath) -> NoteOut:
    paper = get_paper(services, paper_id)
    note = services.store.notes.get_note(user.id, paper.id)
    if note is None:
        raise HTTPException(404, NO_NOTE)
    return note_out(note)


@router.put("/papers/{paper_id:path}/note", response_model=NoteOut, summary="Write or replace your private note")
def put_note(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath, body: NoteIn) -> NoteOut:
    paper = get_paper(services, paper_id)
    try:
        return note_out(services.store.notes.set_note(user.id, paper.id, body.body))
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None


@router.delete("/papers/{paper_id:path}/note", status_code=204, response_class=Response,
               summary="Delete your private note on a paper")
def delete_note(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath) -> Response:
    paper = get_paper(services, paper_id)
    if not services.store.notes.delete_note(user.id, paper.id):
        raise HTTPException(404, NO_NOTE)
    return Response(status_code=204)


@router.put("/papers/{paper_id:path}/reading", response_model=ReadingOut,
            summary="Set the reading state of a paper (saves it to your library)")
def put_reading(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath, body: ReadingIn) -> ReadingOut:
    paper = get_paper(services, paper_id)
    try:
        state = services.store.notes.set_reading_state(user.id, paper.id, body.state)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return ReadingOut(paper_id=paper.id, state=state)


@router.get("/library", response_model=list[ReadingOut],
            summary="The papers in your library with their reading state, newest saved first")
def library(services: ServicesDep, user: RequiredApiUser,
            reading: Annotated[ReadingStateName | None, Query(description="Only papers in this state")] = None
            ) -> list[ReadingOut]:
    notes = services.store.notes
    ids = notes.library_by_reading(user.id, reading) if reading else services.store.accounts.library_ids(user.id)
    states = notes.reading_states(user.id, ids)
    return [ReadingOut(paper_id=i, state=states[i]) for i in ids if i in states]


@router.get("/tags", response_model=list[TagOut], summary="Your tags, each with its papers")
def list_tags(services: ServicesDep, user: RequiredApiUser) -> list[TagOut]:
    return [TagOut(tag=tag, paper_ids=ids) for tag, ids in services.store.accounts.tags_of(user.id).items()]


@router.post("/papers/{paper_id:path}/tags", response_model=PaperTagsOut,
             summary="Tag a paper (saves it to your library); answers the paper's tags")
def add_tag(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath, body: TagIn) -> PaperTagsOut:
    paper = get_paper(services, paper_id)
    accounts = services.store.accounts
    try:
        accounts.add_tag(user.id, paper.id, body.tag)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return PaperTagsOut(paper_id=paper.id, tags=[t for t, ids in accounts.tags_of(user.id).items() if paper.id in ids])


@router.delete("/papers/{paper_id:path}/tags", status_code=204, response_class=Response,
               summary="Take one of your tags off a paper (it stays in your library)")
def remove_tag(services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath,
               tag: Annotated[str, Query(description="The tag to take off"), Bounded(TAG)]) -> Response:
    paper = get_paper(services, paper_id)
    if not services.store.accounts.remove_tag(user.id, paper.id, tag):
        raise HTTPException(404, f"This paper has no tag {tag!r} of yours; GET /api/tags lists them.")
    return Response(status_code=204)


@router.get("/notes", response_model=list[NoteOut], summary="Your notes that contain these words, latest first")
def search_notes(services: ServicesDep, user: RequiredApiUser,
                 q: Annotated[str, Query(description="Words the notes contain; blank: all your notes"),
                              Bounded(NOTES_QUERY)] = "") -> list[NoteOut]:
    return [note_out(n) for n in services.store.notes.search_notes(user.id, q)]
