"""`paperscope subscribe EMAIL --webhook URL` (the webhook half of `subscribe`) and `paperscope webhooks`: a
user's digests in a chat channel or as signed JSON."""

from __future__ import annotations

import click

from paperscope.cli.context import AppContext
from paperscope.store.digests import Frequency
from paperscope.store.webhooks import Webhook, WebhookContent, WebhookFormat

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def webhook_content(queries: tuple[str, ...], topics: tuple[str, ...], authors: tuple[str, ...], trending: bool,
                    kind: str | None, tag: str | None = None) -> tuple[WebhookContent, str | None]:
    """What a webhook carries, from `subscribe`'s options: one followed search, one topic, the user's
    recommendations (`--kind personal`, from one `--tag`'s papers alone when given) or, by default, the trending
    papers."""
    if tag is not None and kind != "personal":
        raise click.BadParameter("--tag picks the tag of the user's recommendations: give --kind personal too",
                                 param_hint="--tag")
    if authors:
        raise click.BadParameter("a webhook carries trending papers, one search, one topic or the user's "
                                 "recommendations, not an author: follow the author in a search instead",
                                 param_hint="--author")
    chosen: list[tuple[WebhookContent, str | None]] = [("query", q) for q in queries]
    chosen += [("topic", t) for t in topics]
    if kind == "personal":
        chosen.append(("personal", tag))
    if trending or kind in ("trending", "both"):
        chosen.append(("trending", None))
    if len(chosen) > 1:
        raise click.UsageError("A webhook carries one thing: give one of --query, --topic, --trending or "
                               "--kind personal (add another webhook for another).")
    return chosen[0] if chosen else ("trending", None)


def add_webhook(app: AppContext, email: str, url: str, fmt: WebhookFormat, content: WebhookContent,
                value: str | None, frequency: Frequency, hour: int, weekday: str, max_papers: int) -> None:
    """Add (or change and turn on again) the user's webhook and say what it does; a new one's secret is printed
    once (the `json` format signs with it)."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        if content == "topic" and value is not None and (
                not (value.isascii() and value.isdigit()) or store.topics.get_topic(int(value)) is None):
            raise click.BadParameter(f"there is no topic {value!r}: `paperscope topics` lists the topic ids",
                                     param_hint="--topic")
        webhook, created = store.webhooks.add(
            user.id, url, format=fmt, content=content, value=value, frequency=frequency, hour=hour,
            weekday=WEEKDAYS.index(weekday), max_papers=max_papers, most=app.settings.webhooks_per_user)
    click.echo(f"{user.email}: {'added' if created else 'changed'} {describe(webhook, weekday)}")
    if created and webhook.format == "json":
        click.echo(f"secret (shown only now; the receiver checks X-Paperscope-Signature-256 with it): "
                   f"{webhook.secret}")


def describe(webhook: Webhook, weekday: str | None = None) -> str:
    day = weekday or WEEKDAYS[webhook.weekday]
    when = f"at {webhook.hour:02d}:00 {webhook.timezone}" + (f" on {day.title()}s" if webhook.frequency == "weekly"
                                                             else "")
    state = "" if webhook.active else f" (disabled: {webhook.disabled_reason or 'turned off'})"
    return (f"webhook {webhook.id} ({webhook.format}, {webhook.shown_url}): {webhook.describe()}, "
            f"{webhook.frequency} {when}, at most {webhook.max_papers} papers{state}")


@click.group()
def webhooks() -> None:
    """List, test and remove a user's webhooks (add them with `subscribe EMAIL --webhook URL`)."""


@webhooks.command("list")
@click.argument("email")
@click.pass_obj
def webhooks_list(app: AppContext, email: str) -> None:
    """The user's webhooks, with what they carry, when, and whether they are disabled."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        found = store.webhooks.of_user(user.id)
    for webhook in found:
        click.echo(describe(webhook))
    if not found:
        click.echo(f"{user.email} has no webhooks")


@webhooks.command("test")
@click.argument("email")
@click.argument("webhook_id", type=int)
@click.pass_obj
def webhooks_test(app: AppContext, email: str, webhook_id: int) -> None:
    """Send a test message to one of the user's webhooks now and say how it went."""
    from paperscope.digest.channels import send_test

    with app.store() as store:
        user = store.accounts.require_user(email)
        webhook = store.webhooks.get(webhook_id, user_id=user.id)
        if webhook is None:
            raise click.BadParameter(f"{user.email} has no webhook {webhook_id}", param_hint="WEBHOOK_ID")
        report = send_test(store, app.settings, webhook)
    if report.sent:
        click.echo(f"test message delivered to webhook {webhook_id} ({webhook.shown_url})")
        return
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    raise click.exceptions.Exit(1)


@webhooks.command("remove")
@click.argument("email")
@click.argument("webhook_id", type=int)
@click.pass_obj
def webhooks_remove(app: AppContext, email: str, webhook_id: int) -> None:
    """Remove one of the user's webhooks, with its queued messages."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        if not store.webhooks.remove(user.id, webhook_id):
            raise click.BadParameter(f"{user.email} has no webhook {webhook_id}", param_hint="WEBHOOK_ID")
    click.echo(f"{user.email}: removed webhook {webhook_id}")
