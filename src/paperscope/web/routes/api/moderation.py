"""JSON API of moderation: reporting a comment (any signed-in user), and under /api/admin what the /admin page
does (admins only; anyone else gets the 404 of an address that is not there): open reports and resolving them,
hiding and showing comments and papers, blocking and unblocking users, the hidden papers, the blocked users and
the moderation log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query
from pydantic import BaseModel, Field

from paperscope.errors import InputError
from paperscope.limits import MODERATION_REASON, REPORT_REASON
from paperscope.store.accounts import User
from paperscope.store.moderation import HiddenPaper, LogEntry, Report
from paperscope.web.bounded import Bounded
from paperscope.web.deps import RequiredApiUser, ServicesDep
from paperscope.web.lookups import get_paper
from paperscope.web.moderation import AdminApiUser, comment_paper
from paperscope.web.params import PaperIdPath, RecordId
from paperscope.web.schemas import ERROR_RESPONSES, STRICT
from paperscope.web.services import Services

router = APIRouter(tags=["moderation"], responses=ERROR_RESPONSES)


class ReasonIn(BaseModel):
    model_config = STRICT

    reason: Annotated[str, Bounded(MODERATION_REASON)] = Field("", description="Why (kept in the moderation log)")


class ReportIn(BaseModel):
    model_config = STRICT

    reason: Annotated[str, Bounded(REPORT_REASON)] = Field(description="What is wrong with the comment")


class ReportedOut(BaseModel):
    comment_id: int
    new: bool = Field(description="False when you had reported this comment before")


class ActionOut(BaseModel):
    """What a moderation action did."""

    action: str = Field(description="hide-comment, unhide-comment, resolve-report, hide-paper, unhide-paper, "
                                    "block-user or unblock-user")
    target_kind: str = Field(description="comment, report, paper or user")
    target_id: str
    changed: bool = Field(description="False when it was so already (nothing was logged)")


class ReportOut(BaseModel):
    id: int
    comment_id: int
    paper_id: str
    reporter: str = Field(description="The reporter's handle")
    reason: str
    created_at: dt.datetime
    comment_body: str = Field(description="The comment's Markdown as written; empty once deleted")
    comment_author: str | None = Field(description="The author's handle; null once their account is deleted")
    comment_author_id: int | None
    comment_hidden: bool


class HiddenPaperOut(BaseModel):
    paper_id: str
    title: str
    hidden_by: str | None = Field(description="The admin's handle; null for the command line")
    reason: str
    hidden_at: dt.datetime


class UserOut(BaseModel):
    id: int
    handle: str
    email: str
    is_admin: bool
    blocked: bool


class LogEntryOut(BaseModel):
    id: int
    actor: str | None = Field(description="The actor's handle; null for the command line")
    action: str
    target_kind: str
    target_id: str
    reason: str
    created_at: dt.datetime


OptionalReason = Annotated[ReasonIn | None, Body()]


def _reason(body: ReasonIn | None) -> str:
    return body.reason if body is not None else ""


def report_out(report: Report) -> ReportOut:
    return ReportOut(id=report.id, comment_id=report.comment_id, paper_id=report.paper_id, reporter=report.reporter,
                     reason=report.reason, created_at=report.created_at, comment_body=report.comment_body,
                     comment_author=report.comment_author, comment_author_id=report.comment_author_id,
                     comment_hidden=report.comment_hidden)


def hidden_paper_out(hidden: HiddenPaper) -> HiddenPaperOut:
    return HiddenPaperOut(paper_id=hidden.paper_id, title=hidden.title, hidden_by=hidden.hidden_by,
                          reason=hidden.reason, hidden_at=hidden.hidden_at)


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, handle=user.handle, email=user.email, is_admin=user.is_admin, blocked=user.blocked)


def log_entry_out(entry: LogEntry) -> LogEntryOut:
    return LogEntryOut(id=entry.id, actor=entry.actor, action=entry.action, target_kind=entry.target_kind,
                       target_id=entry.target_id, reason=entry.reason, created_at=entry.created_at)


# Any signed-in user ------------------------------------------------------------------------------

@router.post("/comments/{comment_id}/report", response_model=ReportedOut, status_code=201,
             summary="Report a comment to the admins (once per comment; not your own)")
def report_comment(services: ServicesDep, user: RequiredApiUser, comment_id: RecordId, body: ReportIn
                   ) -> ReportedOut:
    comment_paper(services, comment_id, user)
    try:
        new = services.store.moderation.report_comment(comment_id, user.id, body.reason)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return ReportedOut(comment_id=comment_id, new=new)


# Admins -------------------------------------------------------------------------------------------

@router.get("/admin/reports", response_model=list[ReportOut], summary="Open reports, oldest first (admins)")
def open_reports(services: ServicesDep, user: AdminApiUser) -> list[ReportOut]:
    return [report_out(r) for r in services.store.moderation.open_reports()]


@router.post("/admin/reports/{report_id}/resolve", response_model=ActionOut,
             summary="Close a report, leaving its comment shown (admins)")
def resolve_report(services: ServicesDep, user: AdminApiUser, report_id: RecordId,
                   body: OptionalReason = None) -> ActionOut:
    try:
        changed = services.store.moderation.resolve_report(report_id, actor_id=user.id, reason=_reason(body))
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    return ActionOut(action="resolve-report", target_kind="report", target_id=str(report_id), changed=changed)


@router.post("/admin/comments/{comment_id}/hide", response_model=ActionOut,
             summary="Hide a comment from everyone but admins (admins)")
def hide_comment(services: ServicesDep, user: AdminApiUser, comment_id: RecordId,
                 body: OptionalReason = None) -> ActionOut:
    comment_paper(services, comment_id, user)
    changed = services.store.moderation.hide_comment(comment_id, actor_id=user.id, reason=_reason(body))
    return ActionOut(action="hide-comment", target_kind="comment", target_id=str(comment_id), changed=changed)


@router.post("/admin/comments/{comment_id}/unhide", response_model=ActionOut,
             summary="Show a hidden comment again (admins)")
def unhide_comment(services: ServicesDep, user: AdminApiUser, comment_id: RecordId,
                   body: OptionalReason = None) -> ActionOut:
    comment_paper(services, comment_id, user)
    changed = services.store.moderation.unhide_comment(comment_id, actor_id=user.id, reason=_reason(body))
    return ActionOut(action="unhide-comment", target_kind="comment", target_id=str(comment_id), changed=changed)


@router.get("/admin/papers", response_model=list[HiddenPaperOut], summary="The hidden papers (admins)")
def hidden_papers(services: ServicesDep, user: AdminApiUser) -> list[HiddenPaperOut]:
    return [hidden_paper_out(h) for h in services.store.moderation.hidden_papers()]


@router.post("/admin/papers/{paper_id:path}/hide", response_model=ActionOut,
             summary="Hide a paper from everyone but admins (admins)")
def hide_paper(services: ServicesDep, user: AdminApiUser, paper_id: PaperIdPath,
               body: OptionalReason = None) -> ActionOut:
    paper = get_paper(services, paper_id, user)
    changed = services.store.moderation.hide_paper(paper.id, actor_id=user.id, reason=_reason(body))
    return _paper_changed(services, "hide-paper", paper.id, changed)


@router.post("/admin/papers/{paper_id:path}/unhide", response_model=ActionOut,
             summary="Show a hidden paper to everyone again (admins)")
def unhide_paper(services: ServicesDep, user: AdminApiUser, paper_id: PaperIdPath,
                 body: OptionalReason = None) -> ActionOut:
    paper = get_paper(services, paper_id, user)
    changed = services.store.moderation.unhide_paper(paper.id, actor_id=user.id, reason=_reason(body))
    return _paper_changed(services, "unhide-paper", paper.id, changed)


def _paper_changed(services: Services, action: str, paper_id: str, changed: bool) -> ActionOut:
    if changed:
        services.trending.invalidate()
    return ActionOut(action=action, target_kind="paper", target_id=paper_id, changed=changed)


@router.get("/admin/users", response_model=list[UserOut], summary="Every user, with admin and blocked (admins)")
def users(services: ServicesDep, user: AdminApiUser,
          blocked: Annotated[bool, Query(description="Only the blocked users")] = False) -> list[UserOut]:
    found = services.store.moderation.blocked_users() if blocked else services.store.accounts.list_users()
    return [user_out(u) for u in found]


@router.post("/admin/users/{user_id}/block", response_model=ActionOut,
             summary="Block a user: they read on, but write nothing others see (admins)")
def block_user(services: ServicesDep, user: AdminApiUser, user_id: RecordId,
               body: OptionalReason = None) -> ActionOut:
    return _block(services, user.id, user_id, _reason(body), block=True)


@router.post("/admin/users/{user_id}/unblock", response_model=ActionOut, summary="Lift a user's block (admins)")
def unblock_user(services: ServicesDep, user: AdminApiUser, user_id: RecordId,
                 body: OptionalReason = None) -> ActionOut:
    return _block(services, user.id, user_id, _reason(body), block=False)


def _block(services: Services, actor_id: int, user_id: int, reason: str, *, block: bool) -> ActionOut:
    moderation = services.store.moderation
    if services.store.accounts.get_user(user_id) is None:
        raise HTTPException(404, f"There is no user {user_id}.")
    try:
        changed = (moderation.block_user(user_id, actor_id=actor_id, reason=reason) if block
                   else moderation.unblock_user(user_id, actor_id=actor_id, reason=reason))
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    return ActionOut(action="block-user" if block else "unblock-user", target_kind="user", target_id=str(user_id),
                     changed=changed)


@router.get("/admin/log", response_model=list[LogEntryOut], summary="The latest moderation actions, newest first "
            "(admins)")
def log(services: ServicesDep, user: AdminApiUser) -> list[LogEntryOut]:
    return [log_entry_out(e) for e in services.store.moderation.log_entries()]
