"""Moderation in the browser: `/admin` (open reports, hidden papers, users and their blocks, the latest log
entries), the forms that hide and unhide comments and papers, block and unblock users and resolve reports (admins
only: anyone else gets the 404 of an address that is not there), and the form any signed-in reader uses to report
a comment. Every POST checks the CSRF token; every action is logged by the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.errors import InputError
from paperscope.limits import MODERATION_REASON, REPORT_REASON
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, RequiredUser, ServicesDep
from paperscope.web.lookups import get_paper
from paperscope.web.moderation import AdminUser, comment_paper
from paperscope.web.pages import page
from paperscope.web.params import PaperIdPath, RecordId
from paperscope.web.security import flash, safe_next
from paperscope.web.services import Services

router = APIRouter(tags=["moderation"])
ReasonForm = Annotated[str, Form(), Bounded(MODERATION_REASON)]
NextForm = Annotated[str | None, Form()]
USERS_SHOWN = 200  # the newest users the admin page lists


def _comment_anchor(paper_id: str, comment_id: int) -> str:
    return f"/papers/{paper_id}#comment-{comment_id}"


@router.get("/admin", response_class=HTMLResponse, summary="Moderation: reports, hidden papers, users, the log")
def admin_page(request: Request, services: ServicesDep, user: AdminUser) -> HTMLResponse:
    moderation = services.store.moderation
    return page(request, services, "admin.html", {
        "reports": moderation.open_reports(), "hidden_papers": moderation.hidden_papers(),
        "blocked": moderation.blocked_users(), "users": services.store.accounts.list_users()[-USERS_SHOWN:][::-1],
        "log": moderation.log_entries()})


# Comments -----------------------------------------------------------------------------------------

@router.post("/comments/{comment_id}/hide", dependencies=[CsrfChecked], summary="Hide a comment (admins)")
def hide_comment(services: ServicesDep, user: AdminUser, comment_id: RecordId, reason: ReasonForm = "",
                 next: NextForm = None) -> Response:
    paper_id = comment_paper(services, comment_id, user)
    services.store.moderation.hide_comment(comment_id, actor_id=user.id, reason=reason)
    return RedirectResponse(safe_next(next, _comment_anchor(paper_id, comment_id)), status_code=303)


@router.post("/comments/{comment_id}/unhide", dependencies=[CsrfChecked], summary="Show a hidden comment (admins)")
def unhide_comment(services: ServicesDep, user: AdminUser, comment_id: RecordId, reason: ReasonForm = "",
                   next: NextForm = None) -> Response:
    paper_id = comment_paper(services, comment_id, user)
    services.store.moderation.unhide_comment(comment_id, actor_id=user.id, reason=reason)
    return RedirectResponse(safe_next(next, _comment_anchor(paper_id, comment_id)), status_code=303)


@router.post("/comments/{comment_id}/report", dependencies=[CsrfChecked],
             summary="Report a comment to the admins (once per comment)")
def report_comment(request: Request, services: ServicesDep, user: RequiredUser, comment_id: RecordId,
                   reason: Annotated[str, Form(), Bounded(REPORT_REASON)]) -> Response:
    paper_id = comment_paper(services, comment_id, user)
    try:
        new = services.store.moderation.report_comment(comment_id, user.id, reason)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    flash(request, "Thank you: the admins will look at this comment." if new
          else "You reported this comment before; the admins have your report.")
    return RedirectResponse(_comment_anchor(paper_id, comment_id), status_code=303)


@router.post("/admin/reports/{report_id}/resolve", dependencies=[CsrfChecked],
             summary="Close a report, leaving its comment shown (admins)")
def resolve_report(services: ServicesDep, user: AdminUser, report_id: RecordId, reason: ReasonForm = "") -> Response:
    try:
        services.store.moderation.resolve_report(report_id, actor_id=user.id, reason=reason)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse("/admin#reports", status_code=303)


# Papers -------------------------------------------------------------------------------------------

@router.post("/papers/{paper_id:path}/hide", dependencies=[CsrfChecked],
             summary="Hide a paper from everyone but admins (admins)")
def hide_paper(request: Request, services: ServicesDep, user: AdminUser, paper_id: PaperIdPath,
               reason: ReasonForm = "", next: NextForm = None) -> Response:
    paper = get_paper(services, paper_id, user)
    if services.store.moderation.hide_paper(paper.id, actor_id=user.id, reason=reason):
        services.trending.invalidate()
        flash(request, "The paper is hidden: only admins see it now.")
    return RedirectResponse(safe_next(next, f"/papers/{paper.id}"), status_code=303)


@router.post("/papers/{paper_id:path}/unhide", dependencies=[CsrfChecked], summary="Show a hidden paper (admins)")
def unhide_paper(request: Request, services: ServicesDep, user: AdminUser, paper_id: PaperIdPath,
                 reason: ReasonForm = "", next: NextForm = None) -> Response:
    paper = get_paper(services, paper_id, user)
    if services.store.moderation.unhide_paper(paper.id, actor_id=user.id, reason=reason):
        services.trending.invalidate()
        flash(request, "The paper is shown to everyone again.")
    return RedirectResponse(safe_next(next, f"/papers/{paper.id}"), status_code=303)


# Users --------------------------------------------------------------------------------------------

@router.post("/admin/users/{user_id}/block", dependencies=[CsrfChecked],
             summary="Block a user: they read on, but write nothing others see (admins)")
def block_user(services: ServicesDep, user: AdminUser, user_id: RecordId, reason: ReasonForm = "",
               next: NextForm = None) -> Response:
    _change_block(services, user.id, user_id, reason, block=True)
    return RedirectResponse(safe_next(next, "/admin#users"), status_code=303)


@router.post("/admin/users/{user_id}/unblock", dependencies=[CsrfChecked], summary="Lift a user's block (admins)")
def unblock_user(services: ServicesDep, user: AdminUser, user_id: RecordId, reason: ReasonForm = "",
                 next: NextForm = None) -> Response:
    _change_block(services, user.id, user_id, reason, block=False)
    return RedirectResponse(safe_next(next, "/admin#users"), status_code=303)


def _change_block(services: Services, actor_id: int, user_id: int, reason: str, *, block: bool) -> None:
    moderation = services.store.moderation
    if services.store.accounts.get_user(user_id) is None:
        raise HTTPException(404, f"There is no user {user_id}.")
    try:
        if block:
            moderation.block_user(user_id, actor_id=actor_id, reason=reason)
        else:
            moderation.unblock_user(user_id, actor_id=actor_id, reason=reason)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
