"""The discussion forms of a paper's page (templates/_comments.html): post a comment or a reply, edit or delete
your own. Every POST checks the CSRF token and answers with a redirect to the comment on the paper's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from paperscope.limits import COMMENT
from paperscope.store.comments import Comment
from paperscope.web.bounded import Bounded
from paperscope.web.comments import delete_comment, edit_comment, post_comment
from paperscope.web.deps import CsrfChecked, RequiredUser, ServicesDep
from paperscope.web.lookups import get_paper
from paperscope.web.params import PaperIdPath, RecordId, form_record_id

router = APIRouter(tags=["pages"])
CommentBody = Annotated[str, Form(description="The comment: Markdown, with math as $..$"), Bounded(COMMENT)]


def to_comment(comment: Comment) -> RedirectResponse:
    return RedirectResponse(f"/papers/{comment.paper_id}#comment-{comment.id}", status_code=303)


@router.post("/papers/{paper_id:path}/comments", dependencies=[CsrfChecked],
             summary="Comment on a paper, or reply to a comment (parent_id)")
def post(request: Request, services: ServicesDep, user: RequiredUser, paper_id: PaperIdPath, body: CommentBody,
         parent_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    paper = get_paper(services, paper_id)
    parent = form_record_id(parent_id, "parent_id") if parent_id.strip() else None
    return to_comment(post_comment(request, services, user, paper, body, parent))


@router.post("/comments/{comment_id}/edit", dependencies=[CsrfChecked], summary="Change the text of your comment")
def edit(services: ServicesDep, user: RequiredUser, comment_id: RecordId, body: CommentBody) -> Response:
    return to_comment(edit_comment(services, user, comment_id, body))


@router.post("/comments/{comment_id}/delete", dependencies=[CsrfChecked], summary="Delete your comment")
def delete(services: ServicesDep, user: RequiredUser, comment_id: RecordId) -> Response:
    return to_comment(delete_comment(services, user, comment_id))
