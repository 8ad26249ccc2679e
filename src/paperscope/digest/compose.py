"""Compose one user's digest: pick the papers, render the HTML and plain-text templates, build the message.

A digest has up to three sections: "For you" (the user's recommendations with their reasons; for a subscription
`by_tag`, one such section for each of the user's tags, as arxiv-sanity sends, each ranked from that tag's papers
alone, recommend/engine.py), "Trending"
(the period's upvoted papers ranked as the trending page ranks them: upvotes with a recency decay,
feed/trending.py) and "Replies and mentions" (the user's unread notifications no e-mail told of yet, for a user
whose e-mail choice is "digest"; digest/notify_mail.py). A digest with notifications only is sent too. Papers in
the user's library, upvoted or hidden papers and papers already sent to the user never appear. The message gets
a signed one-click unsubscribe link that works for PAPERSCOPE_UNSUBSCRIBE_LINK_DAYS, and the `List-Unsubscribe` /
`List-Unsubscribe-Post` headers (RFC 8058); with a placeholder secret key it gets neither, only the way to stop
the digests from the account page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from paperscope.config import Settings
from paperscope.digest.notify_mail import NotificationLine, notification_line
from paperscope.digest.schedule import period_length
from paperscope.digest.tokens import signing_key, unsubscribe_token
from paperscope.errors import InputError, NothingToGoOn
from paperscope.feed.trending import Period, rank, total_upvotes
from paperscope.ids import parse_arxiv_id
from paperscope.models import Paper
from paperscope.recommend.engine import Recommendation, Recommender
from paperscope.store import Store, TrendingCandidate
from paperscope.store.digests import TAG_SECTIONS, Subscription
from paperscope.text import excerpt, html_text, math_as_text, plain_text, printable, safe_url

EXCERPT_CHARS = 300
AUTHORS_SHOWN = 5


@dataclass
class DigestPaper:
    """One paper as the templates show it: title and excerpt as plain text (TeX markup converted; the text
    part, the feed) and as HTML (bold, italics, links; formulas as Unicode text, as no e-mail client renders TeX)."""

    id: str
    title: str
    authors: str
    excerpt: str
    reason: str
    url: str
    abs_url: str | None
    pdf_url: str | None
    upvotes: int | None = None
    title_html: Markup = field(default_factory=Markup)
    excerpt_html: Markup = field(default_factory=Markup)
    summary: str | None = None  # an LLM's one sentence (PAPERSCOPE_LLM_URL), when the paper has one
    key_phrases: list[str] = field(default_factory=list)
    summary_model: str | None = None


@dataclass
class Digest:
    """A composed digest, ready for the outbox."""

    user_id: int
    recipient: str
    idempotency_key: str
    slot: dt.datetime | None
    subject: str
    personal: list[DigestPaper] = field(default_factory=list)
    by_tag: list[tuple[str, list[DigestPaper]]] = field(default_factory=list)  # `personal`, split by the tags
    trending: list[DigestPaper] = field(default_factory=list)
    notifications: list[NotificationLine] = field(default_factory=list)
    message: EmailMessage | None = None

    @property
    def paper_ids(self) -> list[str]:
        return [p.id for p in self.personal + self.trending]

    @property
    def personal_sections(self) -> list[tuple[str, list[DigestPaper]]]:
        """(title, papers) of each section of recommendations: one for each tag, else "For you"."""
        if self.by_tag:
            return [(f"For your tag \u201c{tag}\u201d", papers) for tag, papers in self.by_tag]
        return [("For you", self.personal)] if self.personal else []

    @property
    def notification_ids(self) -> list[int]:
        return [n.id for n in self.notifications]

    def wire_text(self) -> str:
        """The message as it goes to the SMTP server (CRLF line ends), for the outbox."""
        assert self.message is not None
        return self.message.as_string(policy=SMTP)


PLAIN_TEXT_SUFFIX = ".txt.j2"


def escapes_html(template_name: str | None) -> bool:
    """Whether a digest template is HTML-escaped: every one but the plain-text e-mail parts (`*.txt.j2`), which
    go out as text/plain and so are never read as markup; templates made from strings escape too."""
    return template_name is None or not template_name.endswith(PLAIN_TEXT_SUFFIX)


def _printable(value: object) -> object:
    """What a template shows of a value: text without control characters (an escape sequence in a title would
    act on a terminal that shows the plain-text part), markup kept markup."""
    if isinstance(value, Markup):
        return Markup(printable(str(value)))  # noqa: S704 - already escaped; only characters are taken out
    return printable(value) if isinstance(value, str) else value


@cache
def templates() -> Environment:
    """The Jinja2 environment of the digest templates: HTML escaping on, except for the plain-text parts; control
    characters left out of every value shown."""
    return Environment(loader=PackageLoader("paperscope.digest", "templates"), autoescape=escapes_html,
                       finalize=_printable, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def paper_links(paper: Paper, base_url: str) -> tuple[str, str | None, str | None]:
    """(our page, arXiv abstract, PDF) of a paper."""
    page = f"{base_url.rstrip('/')}/papers/{quote(paper.id, safe='')}"
    parsed = parse_arxiv_id(paper.id)
    # Stored links come from the sources' data: only http(s) ones become links (never `javascript:`).
    abs_url = safe_url(paper.abs_url or "") or (f"https://arxiv.org/abs/{parsed[0]}" if parsed else None)
    pdf_url = safe_url(paper.pdf_url or "") or (f"https://arxiv.org/pdf/{parsed[0]}" if parsed else None)
    return page, abs_url, pdf_url


def digest_paper(paper: Paper, reason: str, base_url: str) -> DigestPaper:
    page, abs_url, pdf_url = paper_links(paper, base_url)
    authors = ", ".join(paper.authors[:AUTHORS_SHOWN]) + (" et al." if len(paper.authors) > AUTHORS_SHOWN else "")
    return DigestPaper(id=paper.id, title=plain_text(paper.title), authors=authors,
                       excerpt=excerpt(paper.abstract, EXCERPT_CHARS), reason=reason, url=page, abs_url=abs_url,
                       pdf_url=pdf_url, upvotes=paper.upvotes,
                       title_html=html_text(paper.title, math=math_as_text),
                       excerpt_html=html_text(paper.abstract, math=math_as_text, limit=EXCERPT_CHARS))


NO_UNSUBSCRIBE_LINK = ("PAPERSCOPE_SECRET_KEY is a placeholder, so the digests carry no unsubscribe link (one "
                       "signed with a placeholder could be forged, and the web app would not accept it): each says "
                       "to stop the digests on the account page instead. Set a random PAPERSCOPE_SECRET_KEY, the "
                       "same for the web app and for whatever sends the digests.")


def unsubscribe_url(settings: Settings, user_id: int, email: str, *, now: dt.datetime | None = None) -> str | None:
    """The signed one-click unsubscribe link of a user's digest; None when the secret key is a placeholder."""
    key = signing_key(settings)
    if key is None:
        return None
    token = unsubscribe_token(key, user_id, email, issued_at=now)
    return f"{settings.base_url.rstrip('/')}/unsubscribe?token={token}"


def trending_papers(store: Store, candidates: list[str], limit: int, *, period: Period, today: dt.date
                    ) -> list[Paper]:
    """The upvoted candidates in the trending page's order (`feed.trending.rank` over the digest's `period`,
    counted back from `today`); a paper without a publication date counts as dated `today`."""
    if not candidates or limit < 1:
        return []
    papers = store.get_papers(candidates)
    local = store.accounts.vote_counts(list(papers))
    upvoted = [TrendingCandidate(id=p.id, upvotes=p.upvotes or 0, votes=local.get(p.id, 0), date=p.published or today)
               for p in papers.values() if total_upvotes(p.upvotes, local.get(p.id, 0)) > 0]
    return [papers[c.id] for c, _ in rank(upvoted, period, today)[:limit]]


class DigestComposer:
    """Chooses and renders digests; one composer serves a whole batch of users (the corpus is built once)."""

    def __init__(self, store: Store, settings: Settings, recommender: Recommender | None = None) -> None:
        self.store = store
        self.settings = settings
        self.recommender = recommender or Recommender(store, settings)

    def compose(self, subscription: Subscription, now: dt.datetime, slot: dt.datetime | None) -> Digest | None:
        """The digest of this subscription for `slot`, or None when there is nothing new to send."""
        user_id = subscription.user_id
        since = subscription.last_digest_at or (now - period_length(subscription))
        period = self.store.papers_added_since(since)
        exclude = (self.store.digests.sent_paper_ids(user_id)
                   | set(self.store.accounts.library_ids(user_id, "saved"))
                   | set(self.store.accounts.library_ids(user_id, "hidden"))
                   | set(self.store.accounts.voted_ids(user_id)))
        candidates = [c for c in period if c not in exclude]
        base_url = self.settings.base_url
        digest = Digest(user_id=user_id, recipient=subscription.email,
                        idempotency_key=f"digest:{user_id}:{(slot or now).isoformat()}", slot=slot, subject="")
        if subscription.kind in ("personal", "both") and candidates:
            tags = self._tags_to_rank(user_id) if subscription.by_tag else []
            for tag in tags:
                picks = self._picks(user_id, period, exclude | set(digest.paper_ids), subscription.max_papers, tag)
                if picks:
                    digest.by_tag.append((tag, [digest_paper(r.paper, r.why.text(), base_url) for r in picks]))
                    digest.personal += digest.by_tag[-1][1]
            if not tags:
                picks = self._picks(user_id, period, exclude, subscription.max_papers)
                digest.personal = [digest_paper(r.paper, r.why.text(), base_url) for r in picks]
        if subscription.kind in ("trending", "both"):
            taken = set(digest.paper_ids)
            popular = trending_papers(self.store, [c for c in candidates if c not in taken], subscription.max_papers,
                                      period="week" if subscription.frequency == "weekly" else "day",
                                      today=now.date())
            digest.trending = [digest_paper(p, _votes_reason(p), base_url) for p in popular]
        digest.notifications = [notification_line(n, base_url) for n in self.store.notifications.for_digest(user_id)]
        if not digest.paper_ids and not digest.notifications:
            return None
        self._add_summaries(digest.personal + digest.trending)
        digest.subject = _subject(digest, subscription, now)
        digest.message = self.render(digest, subscription, now)
        return digest

    def _picks(self, user_id: int, period: list[str], exclude: set[str], limit: int, tag: str | None = None
               ) -> list[Recommendation]:
        """The user's recommendations among the period's papers (from one tag's papers alone when given)."""
        try:
            # The whole period, the same for the users of a run (the ranker builds its graph once), and this
            # user's exclusions apart.
            return self.recommender.recommend(user_id, candidates=period, exclude=exclude, limit=limit, tag=tag)
        except (NothingToGoOn, InputError):  # nothing to go on, or every paper of the tag hidden
            return []

    def _tags_to_rank(self, user_id: int) -> list[str]:
        """The user's tags with the most papers first (by name among equals), at most `TAG_SECTIONS`."""
        tags = self.store.accounts.tags_of(user_id)
        return sorted(tags, key=lambda tag: (-len(tags[tag]), tag))[:TAG_SECTIONS]

    def _add_summaries(self, shown: list[DigestPaper]) -> None:
        """The stored LLM summaries of the digest's papers, where they have one (one query)."""
        summaries = self.store.summaries.of_papers([p.id for p in shown])
        for paper in shown:
            found = summaries.get(paper.id)
            if found is not None:
                paper.summary, paper.key_phrases, paper.summary_model = found.text, list(found.key_phrases), found.model

    def render(self, digest: Digest, subscription: Subscription, now: dt.datetime) -> EmailMessage:
        settings = self.settings
        unsubscribe = unsubscribe_url(settings, subscription.user_id, subscription.email, now=now)
        context = {"digest": digest, "subscription": subscription, "unsubscribe_url": unsubscribe,
                   "base_url": settings.base_url.rstrip("/"), "date": now.date().isoformat()}
        env = templates()
        message = EmailMessage()
        message["Subject"] = digest.subject
        message["From"] = formataddr(("paperscope", parseaddr(settings.mail_from)[1] or settings.mail_from))
        message["To"] = digest.recipient
        message["Date"] = format_datetime(now.astimezone(dt.UTC))
        domain = (parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost")
        message["Message-ID"] = f"<{digest.idempotency_key.replace(':', '.').replace('+', '.')}@{domain}>"
        message["List-Id"] = f"paperscope digest <digest.{domain}>"
        if unsubscribe is not None:
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Auto-Submitted"] = "auto-generated"
        # Quoted-printable keeps the message 7-bit with short lines, whatever the server supports.
        message.set_content(env.get_template("digest.txt.j2").render(**context), cte="quoted-printable")
        message.add_alternative(env.get_template("digest.html.j2").render(**context), subtype="html",
                                cte="quoted-printable")
        return message


def _votes_reason(paper: Paper) -> str:
    return f"Trending: {paper.upvotes or 0} upvotes." if paper.upvotes else "Trending: upvoted here."


def _subject(digest: Digest, subscription: Subscription, now: dt.datetime) -> str:
    count = len(digest.paper_ids)
    noun = "paper" if count == 1 else "papers"
    what = {"personal": "for you", "trending": "trending", "both": "for you and trending"}[subscription.kind]
    told = len(digest.notifications)
    replies = f"{told} {'reply or mention' if told == 1 else 'replies and mentions'}"
    if not count:
        return f"paperscope: {replies} ({now.date().isoformat()})"
    return f"paperscope: {count} {noun} {what}{f', {replies}' if told else ''} ({now.date().isoformat()})"
