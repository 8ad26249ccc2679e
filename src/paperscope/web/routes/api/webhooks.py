"""JSON API of the caller's webhooks: list them, add one (its signing secret is in that answer only), remove one.
Every operation works on the caller's own webhooks; URLs come back with their secret part hidden."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, BeforeValidator, Field

from paperscope.errors import InputError
from paperscope.limits import WEBHOOK_URL, WEBHOOK_VALUE
from paperscope.store.webhooks import Webhook
from paperscope.web.bounded import Bounded
from paperscope.web.deps import RequiredApiUser, ServicesDep
from paperscope.web.params import RecordId
from paperscope.web.schemas import ERROR_RESPONSES, STRICT

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES)

Format = Literal["slack", "mattermost", "discord", "teams", "json"]
Content = Literal["trending", "query", "topic", "personal"]


def _whole(value: object) -> object:
    """JSON's `3.0` is the integer 3 (JSON Schema counts it as one); a string stays refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[int, BeforeValidator(_whole)]


class WebhookIn(BaseModel):
    model_config = STRICT

    url: Annotated[str, Bounded(WEBHOOK_URL)] = Field(description="The incoming webhook's URL (http or https)")
    format: Format = Field(default="slack", description="The service, or json: paperscope's signed document")
    content: Content = Field(default="trending", description="What it carries")
    value: Annotated[str | None, Bounded(WEBHOOK_VALUE)] = Field(
        default=None, description="The followed search (content query) or the topic id (content topic)")
    frequency: Literal["daily", "weekly"] = "daily"
    hour: WholeNumber = Field(default=7, ge=0, le=23, description="Local hour (your time zone) it is due")
    weekday: WholeNumber = Field(default=0, ge=0, le=6, description="Day of a weekly one: 0 Monday to 6 Sunday")
    max_papers: WholeNumber = Field(default=10, ge=1, le=50, description="Papers a message carries at most")


class WebhookOut(BaseModel):
    id: int
    url: str = Field(description="The URL with its secret part hidden")
    format: Format
    content: Content
    value: str | None
    frequency: Literal["daily", "weekly"]
    hour: int
    weekday: int
    max_papers: int
    active: bool = Field(description="False once disabled after repeated failed deliveries")
    consecutive_failures: int
    disabled_reason: str | None
    created_at: dt.datetime


class NewWebhookOut(WebhookOut):
    secret: str | None = Field(description=(
        "The HMAC-SHA256 key of X-Paperscope-Signature-256 (json format): in the answer that added the webhook "
        "only (201); null when an existing webhook was changed (200)"))


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(id=webhook.id, url=webhook.shown_url, format=webhook.format, content=webhook.content,
                      value=webhook.value, frequency=webhook.frequency, hour=webhook.hour, weekday=webhook.weekday,
                      max_papers=webhook.max_papers, active=webhook.active,
                      consecutive_failures=webhook.consecutive_failures, disabled_reason=webhook.disabled_reason,
                      created_at=webhook.created_at)


@router.get("/webhooks", response_model=list[WebhookOut], summary="Your webhooks")
def list_webhooks(services: ServicesDep, user: RequiredApiUser) -> list[WebhookOut]:
    return [webhook_out(w) for w in services.store.webhooks.of_user(user.id)]


@router.post("/webhooks", status_code=201, response_model=NewWebhookOut,
             responses={200: {"model": NewWebhookOut, "description": "Your webhook with this URL, format and "
                                                                      "content, changed and turned on again"}},
             summary="Add a webhook (or change yours with this URL, format and content); its secret comes only here")
def add_webhook(services: ServicesDep, user: RequiredApiUser, body: WebhookIn, response: Response) -> NewWebhookOut:
    try:
        if (body.content == "topic" and body.value and body.value.strip().isdigit()
                and services.store.topics.get_topic(int(body.value)) is None):
            raise InputError(f"There is no topic {body.value.strip()} (value): GET /api/topics lists them.")
        webhook, created = services.store.webhooks.add(
            user.id, body.url, format=body.format, content=body.content, value=body.value,
            frequency=body.frequency, hour=body.hour, weekday=body.weekday, max_papers=body.max_papers,
            most=services.settings.webhooks_per_user)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None
    if not created:
        response.status_code = 200
    return NewWebhookOut(**webhook_out(webhook).model_dump(), secret=webhook.secret if created else None)


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response,
               summary="Remove one of your webhooks")
def delete_webhook(services: ServicesDep, user: RequiredApiUser, webhook_id: RecordId) -> Response:
    if not services.store.webhooks.remove(user.id, webhook_id):
        raise HTTPException(404, "You have no webhook with that id.")
    return Response(status_code=204)
