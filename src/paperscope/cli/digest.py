"""`paperscope digest send` and `digest preview`: the e-mail digests."""

from __future__ import annotations

from pathlib import Path

import click

from paperscope.cli.context import AppContext, require_digest_extra


@click.group()
def digest() -> None:
    """Compose and send the e-mail digests, or preview one."""


@digest.command("send")
@click.option("--user", "email", metavar="EMAIL", help="Only this user's digest.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; store and send nothing.")
@click.option("--no-index", is_flag=True, help="Do not embed newly ingested papers first.")
@click.pass_obj
def digest_send(app: AppContext, email: str | None, dry_run: bool, no_index: bool) -> None:
    """Compose the digests and webhook messages that are due and deliver every pending message (SMTP, HTTP).

    Safe to run as often as you like (cron, a timer): a digest is composed once per scheduled slot, each
    paper goes to a user at most once, and the outbox delivers each message exactly once, also after a
    crash. Exits with status 1 when a message could not be delivered (it is retried on the next run).
    """
    require_digest_extra()
    from paperscope.digest import send_digests

    with app.store() as store:
        report = send_digests(store, app.settings, email=email, dry_run=dry_run, update_index=not no_index)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for composed in report.composed:
        prefix = "would send" if dry_run else "queued"
        click.echo(f"{prefix}: {composed.recipient}: {composed.subject}")
        if dry_run:
            for paper in composed.personal + composed.trending:
                click.echo(f"  [{paper.id}] {paper.title}\n     why: {paper.reason}")
    for address in report.nothing_new:
        click.echo(f"nothing new for {address}")
    delivery = report.delivery
    if not dry_run:
        click.echo(f"sent {len(delivery.sent)}, to retry later {len(delivery.retry_later)}, "
                   f"failed {len(delivery.failed)}")
    for error in delivery.errors:
        click.echo(f"error: {error}", err=True)
    if delivery.stopped:
        click.echo(f"stopped early: {delivery.stopped}; the other messages stay queued for the next run", err=True)
    hooks = report.webhooks
    for message in hooks.composed:
        click.echo(f"{'would post' if dry_run else 'queued'}: webhook {message.webhook_id}: {message.title}")
    hooked = hooks.delivery
    if not dry_run and (hooks.composed or hooked.sent or hooked.retry_later or hooked.failed):
        click.echo(f"webhooks: sent {len(hooked.sent)}, to retry later {len(hooked.retry_later)}, "
                   f"failed {len(hooked.failed)}")
    for error in hooked.errors:
        click.echo(f"error: {error}", err=True)
    if delivery.retry_later or delivery.failed or hooked.retry_later or hooked.failed:
        raise click.exceptions.Exit(1)


@digest.command("preview")
@click.argument("email")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="HTML file to write (default: digest-preview-<user id>.html here).")
@click.option("--text", is_flag=True, help="Print the plain-text part as well.")
@click.pass_obj
def digest_preview(app: AppContext, email: str, output: Path | None, text: bool) -> None:
    """Write the HTML of the digest the user would get now to a file (nothing is stored or sent)."""
    require_digest_extra()
    from paperscope.digest import preview
    from paperscope.digest.compose import NO_UNSUBSCRIBE_LINK
    from paperscope.digest.tokens import signing_key

    if signing_key(app.settings) is None:
        click.echo(f"warning: {NO_UNSUBSCRIBE_LINK}", err=True)

    with app.store() as store:
        composed = preview(store, app.settings, email)
    if composed is None or composed.message is None:
        raise click.ClickException(f"Nothing new to send to {email} now: no paper stored in the period is "
                                   "recommended or trending for them.")
    html = composed.message.get_body(("html",))
    plain = composed.message.get_body(("plain",))
    assert html is not None and plain is not None
    path = output or Path(f"digest-preview-{composed.user_id}.html")
    path.write_text(html.get_content(), encoding="utf-8")
    if text:
        click.echo(plain.get_content())
