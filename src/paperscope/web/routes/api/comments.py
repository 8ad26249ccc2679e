"""JSON API of the discussion of papers: a paper's thread, posting a comment or a reply, and reading, editing and
deleting one comment. Anyone reads; posting needs a signed-in caller whose account is not blocked, within the
comment rate limits; only its author edits or deletes a comment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from paperscope.store.comments import reading_order
from paperscope.web.comments import (
    comments_out,
    delete_comment,
    edit_comment,
    post_comment,
    visible_comment,
)
from paperscope.web.deps import ApiUser, RequiredApiUser, ServicesDep
from paperscope.web.lookups import get_paper
from paperscope.web.params import PaperIdPath, RecordId
from paperscope.web.schemas import ERROR_RESPONSES, CommentEditIn, CommentIn, CommentOut, ErrorBody

router = APIRouter(tags=["discussion"], responses=ERROR_RESPONSES)

_NOT_YOURS: dict[int | str, dict[str, Any]] = {403: {"model": ErrorBody, "description": (
    "Not your comment, a comment hidden by a moderator, a blocked account, or (with a cookie session) no CSRF "
    "header")}}


@router.get("/papers/{paper_id:path}/comments", response_model=list[CommentOut],
            summary="A paper's discussion in reading order: each comment, then its replies")
def paper_comments(services: ServicesDep, user: ApiUser, paper_id: PaperIdPath) -> list[CommentOut]:
    """Deleted comments, and comments hidden by a moderator, appear only where they have replies, with neither
    text nor author (admins see hidden comments in full, marked `hidden`)."""
    paper = get_paper(services, paper_id)
    thread = services.store.comments.thread(paper.id, admin=user is not None and user.is_admin)
    return comments_out(services, [c for _, c in reading_order(thread)])


@router.post("/papers/{paper_id:path}/comments", response_model=CommentOut, status_code=201,
             summary="Comment on a paper, or reply to one of its comments (parent_id)",
             responses={**_NOT_YOURS, 429: {"model": ErrorBody, "description": (
                 "Too many comments from this account or address this hour (fewer for accounts younger than a "
                 "day); see `Retry-After`")}})
def post(request: Request, services: ServicesDep, user: RequiredApiUser, paper_id: PaperIdPath,
         body: CommentIn) -> CommentOut:
    comment = post_comment(request, services, user, get_paper(services, paper_id), body.body, body.parent_id)
    return comments_out(services, [comment])[0]


@router.get("/comments/{comment_id}", response_model=CommentOut, summary="One comment")
def get_comment(services: ServicesDep, user: ApiUser, comment_id: RecordId) -> CommentOut:
    return comments_out(services, [visible_comment(services, user, comment_id)])[0]


@router.patch("/comments/{comment_id}", response_model=CommentOut, responses=_NOT_YOURS,
              summary="Change the text of your comment (it is marked edited)")
def patch_comment(services: ServicesDep, user: RequiredApiUser, comment_id: RecordId,
                  body: CommentEditIn) -> CommentOut:
    return comments_out(services, [edit_comment(services, user, comment_id, body.body)])[0]


@router.delete("/comments/{comment_id}", status_code=204, response_class=Response, responses=_NOT_YOURS,
               summary="Delete your comment (its replies stay, under a placeholder)")
def remove_comment(services: ServicesDep, user: RequiredApiUser, comment_id: RecordId) -> Response:
    delete_comment(services, user, comment_id)
    return Response(status_code=204)
