"""Webhooks on the account page (its `#webhooks` part, `templates/_webhooks.html`) and on their own page,
`/me/webhooks`: add one (a chat channel's incoming webhook or a JSON endpoint), send it a test message, turn a
disabled one on again, remove it. Every form carries the CSRF token; a user reaches only their own webhooks
(another's id answers 404). A new `json` webhook's secret is shown once, on the page the form answers with; a
refused form is answered by the webhooks page with the reason. Needs the digest extra (the app leaves this
router out without it).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.digest.channels import send_test
from paperscope.errors import InputError
from paperscope.limits import WEBHOOK_URL, WEBHOOK_VALUE
from paperscope.store.accounts import User
from paperscope.store.webhooks import Webhook
from paperscope.web.bounded import Bounded
from paperscope.web.deps import CsrfChecked, RequiredUser, ServicesDep
from paperscope.web.pages import page
from paperscope.web.params import RecordId
from paperscope.web.security import flash
from paperscope.web.services import Services

router = APIRouter(tags=["webhooks"])
WEBHOOKS_ANCHOR = "/me#webhooks"


def _webhooks_page(request: Request, services: Services, user: User, *, error: str | None = None,
                   new_webhook: Webhook | None = None, status_code: int = 200) -> HTMLResponse:
    return page(request, services, "webhooks.html", {
        "webhooks": services.store.webhooks.of_user(user.id), "error": error, "new_webhook": new_webhook},
        status_code=status_code)


@router.get("/me/webhooks", response_class=HTMLResponse, summary="Your webhooks")
def webhooks_page(request: Request, services: ServicesDep, user: RequiredUser) -> HTMLResponse:
    return _webhooks_page(request, services, user)


def _own(services: Services, user_id: int, webhook_id: int) -> Webhook:
    webhook = services.store.webhooks.get(webhook_id, user_id=user_id)
    if webhook is None:
        raise HTTPException(404, "You have no webhook with that id.")
    return webhook


@router.post("/me/webhooks", dependencies=[CsrfChecked], summary="Add a webhook")
def add_webhook(request: Request, services: ServicesDep, user: RequiredUser,
                url: Annotated[str, Form(), Bounded(WEBHOOK_URL)],
                format: Annotated[Literal["slack", "mattermost", "discord", "teams", "json"], Form()] = "slack",
                content: Annotated[Literal["trending", "query", "topic", "personal"], Form()] = "trending",
                value: Annotated[str, Form(), Bounded(WEBHOOK_VALUE)] = "",
                frequency: Annotated[Literal["daily", "weekly"], Form()] = "daily",
                hour: Annotated[int, Form(ge=0, le=23)] = 7,
                weekday: Annotated[int, Form(ge=0, le=6)] = 0,
                max_papers: Annotated[int, Form(ge=1, le=50)] = 10) -> Response:
    """Add the webhook (or change the one with this URL and content); a new json webhook's page shows its secret."""
    try:
        if content == "topic" and value.strip().isdigit() and services.store.topics.get_topic(int(value)) is None:
            raise InputError(f"There is no topic {value.strip()} (value): the topics page lists them.")
        webhook, created = services.store.webhooks.add(
            user.id, url, format=format, content=content, value=value or None, frequency=frequency, hour=hour,
            weekday=weekday, max_papers=max_papers, most=services.settings.webhooks_per_user)
    except InputError as exc:
        return _webhooks_page(request, services, user, error=f"Webhook not added: {exc}", status_code=400)
    if created and webhook.format == "json":
        return _webhooks_page(request, services, user, new_webhook=webhook)
    flash(request, f"Webhook {'added' if created else 'changed'} ({webhook.shown_url}): {webhook.describe()}.")
    return RedirectResponse(WEBHOOKS_ANCHOR, status_code=303)


@router.post("/me/webhooks/{webhook_id}/test", dependencies=[CsrfChecked], summary="Send a webhook a test message")
def test_webhook(request: Request, services: ServicesDep, user: RequiredUser, webhook_id: RecordId) -> Response:
    webhook = _own(services, user.id, webhook_id)
    settings = services.settings
    now = dt.datetime.now(dt.UTC)
    interval = settings.webhook_test_seconds
    if not services.store.webhooks.take_test_turn(webhook.id, now, dt.timedelta(seconds=interval)):
        raise HTTPException(429, f"A test message went to this webhook less than {interval} seconds ago; wait a "
                                 "little.", headers={"Retry-After": str(interval)})
    report = send_test(services.store, settings, webhook, now=now, search=services.search.engine)
    if report.sent:
        flash(request, f"Test message delivered to {webhook.shown_url}.")
    else:
        flash(request, "The test message was not delivered: " + ("; ".join(report.errors) or "it is queued"))
    return RedirectResponse(WEBHOOKS_ANCHOR, status_code=303)


@router.post("/me/webhooks/{webhook_id}/resume", dependencies=[CsrfChecked], summary="Turn a disabled webhook on")
def resume_webhook(request: Request, services: ServicesDep, user: RequiredUser, webhook_id: RecordId) -> Response:
    _own(services, user.id, webhook_id)
    services.store.webhooks.resume(user.id, webhook_id)
    flash(request, "Webhook turned on again.")
    return RedirectResponse(WEBHOOKS_ANCHOR, status_code=303)


@router.post("/me/webhooks/{webhook_id}/remove", dependencies=[CsrfChecked], summary="Remove a webhook")
def remove_webhook(request: Request, services: ServicesDep, user: RequiredUser, webhook_id: RecordId) -> Response:
    if not services.store.webhooks.remove(user.id, webhook_id):
        raise HTTPException(404, "You have no webhook with that id.")
    flash(request, "Webhook removed.")
    return RedirectResponse(WEBHOOKS_ANCHOR, status_code=303)
