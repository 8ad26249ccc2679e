"""`paperscope users`, `library`, `recommend`, `subscribe` and `unsubscribe`: people and what they get."""

from __future__ import annotations

import json
import sys
from typing import TypedDict

import click

from paperscope.cli.context import AppContext, require_digest_extra
from paperscope.cli.output import paper_line
from paperscope.cli.webhooks import add_webhook, webhook_content
from paperscope.store.digests import TAG_SECTIONS, FollowKind, Frequency, SubscriptionKind
from paperscope.store.webhooks import WebhookFormat


class PlanJson(TypedDict):
    kind: str
    every: str
    hour: int
    active: bool
    by_tag: bool


class UserJson(TypedDict):
    """One user as `users list --json` prints it."""

    id: int
    email: str
    handle: str
    is_admin: bool
    blocked: bool
    timezone: str
    can_sign_in: bool
    created_at: str
    api_tokens: int
    subscribed: bool
    subscription: PlanJson | None
    failed_sign_ins: int
    locked_for_seconds: int


@click.group()
def users() -> None:
    """Add, list and delete users, make admins and block users (operators; people sign up in the web app)."""


@users.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read a password from standard input (first line), so "
              "the user can sign in to the web app. Without it the user only gets digests.")
@click.option("--name", "display_name", help="Display name.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone for digest times, "
              "e.g. Europe/Paris.")
@click.pass_obj
def users_add(app: AppContext, email: str, password_stdin: bool, display_name: str | None, timezone: str) -> None:
    """Add a user with this e-mail address."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from paperscope.auth import hash_password

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{timezone!r} is not a known time zone; use a name like Europe/Paris.",
                                 param_hint="--timezone") from None
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        password_hash = hash_password(password, user_inputs=[email, display_name])
    with app.store() as store:
        user = store.accounts.create_user(email, password_hash=password_hash, display_name=display_name,
                                          timezone=timezone)
    click.echo(f"added user {user.email} (id {user.id})" + ("" if user.can_sign_in else "; no password: "
                                                            "digests only"))


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def users_list(app: AppContext, as_json: bool) -> None:
    """Every user: created when, admin or blocked, API tokens, digest subscription, and failed sign-ins (locked
    when too many)."""
    rows = _user_rows(app)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        plan = row["subscription"]
        what = ("no digest" if plan is None else
                f"{plan['kind']}{' by tag' if plan['by_tag'] else ''} {plan['every']} at {plan['hour']:02d}:00"
                + ("" if plan["active"] else " (unsubscribed)"))
        tokens = f"{row['api_tokens']} token" + ("" if row["api_tokens"] == 1 else "s")
        sign_in = ("no password" if not row["can_sign_in"] else
                   f"locked for {-(-row['locked_for_seconds'] // 60)} min ({row['failed_sign_ins']} failed sign-ins)"
                   if row["locked_for_seconds"] else
                   f"{row['failed_sign_ins']} failed sign-ins" if row["failed_sign_ins"] else "can sign in")
        role = "  admin" if row["is_admin"] else "  blocked" if row["blocked"] else ""
        click.echo(f"{row['id']:>4}  {row['email']}  @{row['handle']}{role}  {row['timezone']}  created "
                   f"{row['created_at'][:10]}  {tokens}  {sign_in}  {what}")


def _user_rows(app: AppContext) -> list[UserJson]:
    from paperscope import throttle

    account_limit, _ = throttle.sign_in_limits(app.settings)
    rows: list[UserJson] = []
    with app.store() as store:
        for user in store.accounts.list_users():
            sub = store.digests.get_subscription(user.id)
            failures = throttle.usage(store.sessions, account_limit, user.email)
            rows.append({"id": user.id, "email": user.email, "handle": user.handle, "is_admin": user.is_admin,
                         "blocked": user.blocked, "timezone": user.timezone,
                         "can_sign_in": user.can_sign_in, "created_at": user.created_at.isoformat(),
                         "api_tokens": len(store.sessions.api_tokens(user.id)),
                         "subscribed": sub is not None and sub.active,
                         "subscription": None if sub is None else PlanJson(
                             kind=sub.kind, every=sub.frequency, hour=sub.hour, active=sub.active,
                             by_tag=sub.by_tag),
                         "failed_sign_ins": failures.events, "locked_for_seconds": failures.wait_seconds})
    return rows


@users.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Delete without asking (what is deleted is printed all the same).")
@click.pass_obj
def users_delete(app: AppContext, email: str, yes: bool) -> None:
    """Delete a user with their library, votes, collections (public ones too), tokens, sessions and
    subscriptions. Papers stay, also those they submitted; their comments stay, without an author. Asks first,
    saying how much goes."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        data = store.accounts.user_data(user.id)
        click.echo(f"{user.email} (id {user.id}) keeps: {_amounts(data.counts)}")
        if data.public_collections:
            shown = ", ".join(repr(name) for name in data.public_collections[:10])
            more = len(data.public_collections) - 10
            click.echo(f"{len(data.public_collections)} public collection(s) that others can read go too: {shown}"
                       + (f" and {more} more" if more > 0 else ""))
        if written := store.comments.count_by_author(user.id):
            click.echo(f"{written} comment(s) stay in their discussions, shown as by [deleted account] (to remove "
                       "their text, the user deletes them first)")
        if not yes:
            click.confirm(f"Delete {user.email} and all of this?", abort=True)
        gone = store.accounts.delete_user(user.id)
    click.echo(f"deleted {user.email}: {_amounts(gone.counts)}")


@users.command("admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the admin rights away instead.")
@click.pass_obj
def users_admin(app: AppContext, email: str, revoke: bool) -> None:
    """Make a user an admin, who hides comments and papers, blocks users and sees /admin (the first user is
    one). Making a blocked user an admin lifts the block. Logged in the moderation log."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        changed = store.moderation.set_admin(user.id, not revoke, actor_id=None)
    if revoke:
        click.echo(f"{user.email} is no longer an admin" if changed else f"{user.email} was not an admin")
    else:
        click.echo(f"{user.email} is now an admin" if changed else f"{user.email} is already an admin")


@users.command("block")
@click.argument("email")
@click.option("--reason", default="", help="Why, for the moderation log.")
@click.pass_obj
def users_block(app: AppContext, email: str, reason: str) -> None:
    """Block a user: they can still sign in and read, but cannot comment, vote, submit papers or publish a
    collection, and their public collections are hidden from others. Logged in the moderation log."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        changed = store.moderation.block_user(user.id, actor_id=None, reason=reason)
    click.echo(f"{user.email} is {'now' if changed else 'already'} blocked")


@users.command("unblock")
@click.argument("email")
@click.option("--reason", default="", help="Why, for the moderation log.")
@click.pass_obj
def users_unblock(app: AppContext, email: str, reason: str) -> None:
    """Lift a user's block. Logged in the moderation log."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        changed = store.moderation.unblock_user(user.id, actor_id=None, reason=reason)
    click.echo(f"{user.email} is {'no longer' if changed else 'not'} blocked")


def _amounts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "nothing else"


@click.group()
def library() -> None:
    """Save papers to a user's library, mark them "not interested", or import a reference manager's library."""


def _paper_ids(paper_ids: tuple[str, ...]) -> list[str]:
    """The ids as stored: an arXiv id without its version or prefix (`2503.11731v2`, `arXiv:2503.11731`)."""
    from paperscope.ids import parse_arxiv_id

    return [parsed[0] if (parsed := parse_arxiv_id(p)) else p for p in paper_ids]


def _set_library(app: AppContext, email: str, paper_ids: tuple[str, ...], state: str) -> None:
    ids = _paper_ids(paper_ids)
    with app.store() as store:
        user = store.accounts.require_user(email)
        changed = store.accounts.set_library_state(user.id, ids, "saved" if state == "saved" else "hidden")
    verb = "saved" if state == "saved" else "hidden"
    click.echo(f"{verb} {changed} of {len(ids)} papers for {user.email}")


@library.command("add")
@click.argument("email")
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_obj
def library_add(app: AppContext, email: str, paper_ids: tuple[str, ...]) -> None:
    """Save papers to the user's library (the positives of their recommendations)."""
    _set_library(app, email, paper_ids, "saved")


@library.command("hide")
@click.argument("email")
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_obj
def library_hide(app: AppContext, email: str, paper_ids: tuple[str, ...]) -> None:
    """Mark papers "not interested" for the user (the negatives of their recommendations)."""
    _set_library(app, email, paper_ids, "hidden")


@library.command("tag")
@click.argument("email")
@click.argument("tag")
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_obj
def library_tag(app: AppContext, email: str, tag: str, paper_ids: tuple[str, ...]) -> None:
    """Tag papers for the user, which saves them too (`recommend --tag TAG` ranks from a tag's papers)."""
    ids = _paper_ids(paper_ids)
    with app.store() as store:
        user = store.accounts.require_user(email)
        store.accounts.tag_papers(user.id, ids, tag)
    click.echo(f"tagged {len(ids)} papers \u201c{tag.strip()}\u201d for {user.email}")


@library.command("untag")
@click.argument("email")
@click.argument("tag")
@click.argument("paper_ids", nargs=-1, required=True)
@click.pass_obj
def library_untag(app: AppContext, email: str, tag: str, paper_ids: tuple[str, ...]) -> None:
    """Take a tag off papers for the user (they stay in the library)."""
    ids = _paper_ids(paper_ids)
    with app.store() as store:
        user = store.accounts.require_user(email)
        removed = sum(store.accounts.remove_tag(user.id, paper_id, tag) for paper_id in ids)
    click.echo(f"took the tag \u201c{tag.strip()}\u201d off {removed} of {len(ids)} papers for {user.email}")


@library.command("import")
@click.argument("email")
@click.argument("source")
@click.option("--format", "fmt", type=click.Choice(["csljson", "ris", "bibtex"]),
              help="Read the file as this format instead of detecting it from the content.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary, not each problem.")
@click.pass_obj
def library_import(app: AppContext, email: str, source: str, fmt: str | None, as_json: bool, quiet: bool) -> None:
    """Import a reference manager's library as the user's saved papers.

    SOURCE is a CSL-JSON, RIS or BibTeX export (Zotero, Mendeley, EndNote...), or zotero:USER_ID to read a
    Zotero library through the Zotero Web API (a private library needs PAPERSCOPE_ZOTERO_API_KEY). Each item
    is matched to a stored paper by DOI, arXiv id or title, or stored as a new paper, and saved to the
    library. Importing the same library again changes nothing.
    """
    from paperscope.ingest.library import import_library

    def show(problem: object) -> None:
        if not quiet:
            click.echo(str(problem), err=True)

    with app.store() as store:
        user = store.accounts.require_user(email)
        report = import_library(store, app.settings, user.id, source, fmt=fmt, on_problem=show)
    click.echo(json.dumps(report.as_dict()) if as_json else f"{user.email}: {report.summary()}")


@library.command("list")
@click.argument("email")
@click.option("--hidden", is_flag=True, help="List the hidden papers instead of the saved ones.")
@click.pass_obj
def library_list(app: AppContext, email: str, hidden: bool) -> None:
    """The user's saved (or hidden) papers, newest first."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        ids = store.accounts.library_ids(user.id, "hidden" if hidden else "saved")
        papers = store.get_papers(ids)
    for rank, paper_id in enumerate(ids, start=1):
        if paper_id in papers:
            click.echo(paper_line(rank, papers[paper_id]))


@click.command()
@click.argument("email")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many papers.")
@click.option("--since", metavar="YYYY-MM-DD", help="Rank the papers stored since this date (default: since the "
              "user's last digest, or every paper before the first one).")
@click.option("--tag", metavar="TAG", help="Rank from the papers of this one tag of the user's alone (as "
              "arxiv-sanity does); the rest of the library and the follows do not steer it.")
@click.option("--json", "as_json", is_flag=True, help='Print JSON: [{"id", "score", "why", ...}, ...].')
@click.pass_obj
def recommend(app: AppContext, email: str, limit: int, since: str | None, tag: str | None, as_json: bool) -> None:
    """Papers ranked for a user, each with the reason; never one from their library or hidden papers."""
    require_digest_extra()
    import datetime as dt

    from paperscope.ingest.fields import parse_date
    from paperscope.recommend import Recommender

    try:
        since_date = parse_date(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    with app.store() as store:
        user = store.accounts.require_user(email)
        recommender = Recommender(store, app.settings)
        if not recommender.corpus.ids:
            raise click.ClickException("No paper is embedded yet, so there is nothing to rank: run paperscope index.")
        start = dt.datetime.combine(since_date, dt.time(), tzinfo=dt.UTC) if since_date else None
        candidates = recommender.period_candidates(user.id, start)
        unembedded = sum(1 for c in candidates if c not in recommender.corpus.row)
        results = recommender.recommend(user.id, candidates=candidates, limit=limit, tag=tag)
    if unembedded:
        click.echo(f"note: {unembedded} papers of the period are not embedded yet; run paperscope index",
                   err=True)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results]))
        return
    if not results:
        click.echo("no new papers to recommend")
    for rank, result in enumerate(results, start=1):
        click.echo(paper_line(rank, result.paper))
        click.echo(f"     why: {result.why.text()}")


@click.command()
@click.argument("email")
@click.option("--every", "frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True,
              help="How often the digest comes.")
@click.option("--query", "queries", multiple=True, metavar="TEXT",
              help="Follow a search: its words seed the recommendations (repeatable; a cold start needs no library).")
@click.option("--author", "authors", multiple=True, metavar="NAME", help="Follow an author (repeatable).")
@click.option("--topic", "topics", multiple=True, metavar="ID", help="Follow a topic of the topic map: its most "
              "central papers seed the recommendations (repeatable; a cold start needs no library).")
@click.option("--trending", is_flag=True, help="Add the trending papers (the same list for everyone).")
@click.option("--kind", type=click.Choice(["personal", "trending", "both"]),
              help="What the digest holds (default: personal, or both with --trending).")
@click.option("--hour", default=7, show_default=True, type=click.IntRange(0, 23),
              help="Local hour of the day (the user's time zone) the digest is due.")
@click.option("--weekday", default="monday", show_default=True,
              type=click.Choice(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]),
              help="Day of a weekly digest.")
@click.option("--papers", "max_papers", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Papers per section of the digest (at most 50 in a webhook message).")
@click.option("--by-tag", is_flag=True, help="Recommendations in a section for each of the user's tags (the "
              f"{TAG_SECTIONS} largest), each ranked from that tag's papers alone, as arxiv-sanity sends them.")
@click.option("--webhook", "webhook_url", metavar="URL", help="Deliver to this incoming webhook (a chat channel) "
              "or JSON endpoint instead of e-mail. It carries one thing: the trending papers (default), one --query, "
              "one --topic, or the user's recommendations (--kind personal, from one --tag's papers when given).")
@click.option("--tag", metavar="TAG", help="With --webhook and --kind personal: recommendations ranked from this "
              "tag's papers alone (an e-mail digest takes --by-tag).")
@click.option("--format", "webhook_format", type=click.Choice(["slack", "mattermost", "discord", "teams", "json"]),
              default="slack", show_default=True, help="The webhook's service (teams: a Workflows webhook), or "
              "json: paperscope's payload signed with HMAC-SHA256 (the secret is printed once).")
@click.pass_obj
def subscribe(app: AppContext, email: str, frequency: Frequency, queries: tuple[str, ...], authors: tuple[str, ...],
              topics: tuple[str, ...], trending: bool, kind: SubscriptionKind | None, hour: int, weekday: str,
              max_papers: int, by_tag: bool, webhook_url: str | None, tag: str | None,
              webhook_format: WebhookFormat) -> None:
    """Subscribe a user to e-mail digests (again, after an unsubscribe), and add what they follow; or, with
    --webhook, add a webhook that posts the digest to a chat channel or a JSON endpoint."""
    if webhook_url is not None:
        if by_tag:
            raise click.BadParameter("a webhook carries one list; --by-tag is for e-mail digests",
                                     param_hint="--by-tag")
        if max_papers > 50:
            raise click.BadParameter("a webhook message carries at most 50 papers", param_hint="--papers")
        content, value = webhook_content(queries, topics, authors, trending, kind, tag)
        add_webhook(app, email, webhook_url, webhook_format, content, value, frequency, hour, weekday, max_papers)
        return
    if tag is not None:
        raise click.BadParameter("--tag picks a webhook's tag; an e-mail digest takes --by-tag (a section for each "
                                 "tag)", param_hint="--tag")
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    chosen: SubscriptionKind = kind or ("both" if trending else "personal")
    with app.store() as store:
        user = store.accounts.require_user(email)
        for topic in topics:
            if not (topic.isascii() and topic.isdigit()) or store.topics.get_topic(int(topic)) is None:
                raise click.BadParameter(f"there is no topic {topic!r}: `paperscope topics` lists the topic ids",
                                         param_hint="--topic")
        follows_given: tuple[tuple[FollowKind, tuple[str, ...]], ...] = (
            ("query", queries), ("author", authors), ("topic", topics))
        for what, values in follows_given:
            for value in values:
                store.digests.follow(user.id, what, value)
        sub = store.digests.subscribe(user.id, kind=chosen, frequency=frequency, hour=hour,
                                      weekday=days.index(weekday), max_papers=max_papers, by_tag=by_tag)
        follows = store.digests.follows_of(user.id)
    when = f"at {sub.hour:02d}:00 {user.timezone}" + (f" on {weekday.title()}s" if frequency == "weekly" else "")
    click.echo(f"{user.email}: {sub.kind} digest{' by tag' if sub.by_tag else ''}, {sub.frequency} {when}"
               + (f"; follows: {', '.join(f'{f.kind} {f.value!r}' for f in follows)}" if follows else ""))


@click.command()
@click.argument("email")
@click.pass_obj
def unsubscribe(app: AppContext, email: str) -> None:
    """Stop a user's digests (what the unsubscribe link in every digest does)."""
    with app.store() as store:
        user = store.accounts.require_user(email)
        was_active = store.digests.unsubscribe(user.id, source="cli")
    click.echo(f"{user.email}: unsubscribed" if was_active else f"{user.email}: had no active subscription")
