"""The bodies webhook messages are POSTed with, one per format, each as its service documents its incoming
webhooks (docs/decisions/0105-webhook-payload-formats.md):

* `slack`: `text` (the notification's fallback) and Block Kit `blocks`: a `header` (plain text, at most 150
  characters) and a `section` per paper in `mrkdwn` (at most 3,000 characters), at most 50 blocks. Slack reads
  `&`, `<` and `>` as control characters (links, `<!channel>`), so every text from a paper has them as `&amp;`,
  `&lt;`, `&gt;`.
* `mattermost`: `text` in Markdown, at most 4,000 characters (Mattermost splits longer posts). Markdown
  characters of paper text are backslash-escaped, and an `@` is kept from starting a mention.
* `discord`: `content` (at most 2,000 characters) and up to 10 `embeds` (title at most 256, description at most
  4,096, all embeds together at most 6,000 characters), `allowed_mentions` with nothing parsed, so no text
  pings anyone.
* `teams`: the message a Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is
  received") takes: `type: message` with one Adaptive Card attachment. Paper text goes in `TextRun`s of
  `RichTextBlock`s, which Adaptive Cards never read as Markdown. At most 25 papers (Teams refuses cards over
  about 28 KB).
* `json`: paperscope's own document (docs/webhooks.md), signed by `digest/webhooks.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from paperscope.digest.compose import DigestPaper
from paperscope.text import printable

PAYLOAD_VERSION = 1
SLACK_HEADER = 150
SLACK_SECTION = 3000
SLACK_BLOCKS = 50
MATTERMOST_TEXT = 4000
DISCORD_CONTENT = 2000
DISCORD_EMBEDS = 10
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_TOTAL = 6000
TEAMS_PAPERS = 25
TEAMS_BYTES = 27_000


@dataclass
class ChannelMessage:
    """One webhook message before it takes a format: its heading, papers and where to read more."""

    title: str
    papers: list[DigestPaper]
    link: str  # a page of this instance where the list goes on (the trending page, a search, a topic)
    delivery: str  # the outbox idempotency key: the same for every attempt of this message
    webhook_id: int
    content: str
    value: str | None
    composed_at: dt.datetime
    slot: dt.datetime | None = None
    test: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def payload(format: str, message: ChannelMessage) -> str:
    """The JSON body for a webhook of this format."""
    builders = {"slack": slack_payload, "mattermost": mattermost_payload, "discord": discord_payload,
                "teams": teams_payload, "json": json_payload}
    return json.dumps(builders[format](message), ensure_ascii=False, separators=(",", ":"))


def _clean(text: str) -> str:
    return " ".join(printable(text).split())


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit - 1].rstrip() + "…" if limit > 1 else ""


def _link_target(url: str) -> str:
    """A URL safe inside a link's brackets: characters that would end it percent-encoded."""
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


# Slack ------------------------------------------------------------------------------------------------

def slack_escape(text: str) -> str:
    """Slack's three control characters as the HTML entities Slack asks for (and only those)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    return f"<{slack_escape(_link_target(url)).replace('|', '%7C')}|{slack_escape(label)}>"


def slack_payload(message: ChannelMessage) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text",
                                                                 "text": _cut(_clean(message.title), SLACK_HEADER)}}]
    shown = message.papers[:SLACK_BLOCKS - 2]
    for paper in shown:
        lines = [f"*{_slack_link(paper.url, _cut(_clean(paper.title), 500))}*"]
        if paper.authors:
            lines.append(slack_escape(_cut(_clean(paper.authors), 300)))
        if paper.excerpt:
            lines.append(slack_escape(_cut(_clean(paper.excerpt), 1500)))
        links = [_slack_link(u, name) for u, name in ((paper.abs_url, "abstract"), (paper.pdf_url, "PDF")) if u]
        tail = " · ".join([*links, slack_escape(_cut(_clean(paper.reason), 300))] if paper.reason else links)
        if tail:
            lines.append(tail)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), SLACK_SECTION)}})
    more = _slack_link(message.link, "More on paperscope")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    fallback = f"{slack_escape(_clean(message.title))}: " + "; ".join(slack_escape(_cut(_clean(p.title), 200))
                                                                        for p in shown)
    return {"text": _cut(fallback, 3000), "blocks": blocks}


# Markdown (Mattermost, Discord) ---------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]()#|<>!{}+\-.:])")
_MENTION = re.compile(r"@(?=\w)")


def markdown_escape(text: str) -> str:
    """Paper text that Markdown shows as written: its punctuation backslash-escaped, and no `@` starting a
    mention (`@channel`, `@everyone`): a word joiner goes between them."""
    return _MENTION.sub("@\u2060", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def _md_link(url: str, label: str) -> str:
    target = _link_target(url).replace("(", "%28").replace(")", "%29")
    return f"[{markdown_escape(label)}]({target})"


def _md_paper(paper: DigestPaper) -> str:
    lines = [f"**{_md_link(paper.url, _cut(_clean(paper.title), 300))}**"]
    if paper.authors:
        lines.append(f"*{markdown_escape(_cut(_clean(paper.authors), 200))}*")
    if paper.excerpt:
        lines.append(markdown_escape(_cut(_clean(paper.excerpt), 400)))
    links = [_md_link(u, name) for u, name in ((paper.abs_url, "abstract"), (paper.pdf_url, "PDF")) if u]
    if links or paper.reason:
        lines.append(" · ".join([*links, markdown_escape(_cut(_clean(paper.reason), 200))] if paper.reason else links))
    return "\n".join(lines)


def mattermost_payload(message: ChannelMessage) -> dict[str, Any]:
    head = f"#### {markdown_escape(_cut(_clean(message.title), 200))}"
    parts = [head]
    more = _md_link(message.link, "More on paperscope")
    for n, paper in enumerate(message.papers):
        entry = _md_paper(paper)
        left = len(message.papers) - n
        if sum(len(p) + 2 for p in parts) + len(entry) + len(more) + 40 > MATTERMOST_TEXT:
            parts.append(f"… and {left} more")
            break
        parts.append(entry)
    parts.append(more)
    return {"text": "\n\n".join(parts)}


def discord_payload(message: ChannelMessage) -> dict[str, Any]:
    shown = message.papers[:DISCORD_EMBEDS]
    budget = DISCORD_TOTAL
    embeds: list[dict[str, Any]] = []
    for paper in shown:
        title = _cut(markdown_escape(_clean(paper.title)), DISCORD_TITLE)
        lines = []
        if paper.authors:
            lines.append(f"*{markdown_escape(_cut(_clean(paper.authors), 200))}*")
        if paper.excerpt:
            lines.append(markdown_escape(_cut(_clean(paper.excerpt), 350)))
        links = [_md_link(u, name) for u, name in ((paper.abs_url, "abstract"), (paper.pdf_url, "PDF")) if u]
        if paper.reason:
            links.append(markdown_escape(_cut(_clean(paper.reason), 150)))
        if links:
            lines.append(" · ".join(links))
        if budget <= len(title):
            break
        description = _cut("\n".join(lines), min(DISCORD_DESCRIPTION, budget - len(title)))
        budget -= len(title) + len(description)
        embed: dict[str, Any] = {"title": title, "url": _link_target(paper.url)}
        if description:
            embed["description"] = description
        embeds.append(embed)
    left = len(message.papers) - len(embeds)
    content = f"**{markdown_escape(_cut(_clean(message.title), 300))}**"
    if left:
        content += f"\n… and {left} more: {_link_target(message.link)}"
    return {"content": _cut(content, DISCORD_CONTENT), "embeds": embeds, "allowed_mentions": {"parse": []}}


# Microsoft Teams ------------------------------------------------------------------------------------------

def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _teams_card(message: ChannelMessage, papers: list[DigestPaper]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [{"type": "RichTextBlock", "inlines": [
        _run(_cut(_clean(message.title), 300), weight="Bolder", size="Medium")]}]
    for paper in papers:
        inlines = [_run(_cut(_clean(paper.title), 300), weight="Bolder",
                        selectAction={"type": "Action.OpenUrl", "url": paper.url})]
        if paper.authors:
            inlines.append(_run("\n" + _cut(_clean(paper.authors), 200), isSubtle=True))
        if paper.excerpt:
            inlines.append(_run("\n" + _cut(_clean(paper.excerpt), 400)))
        if paper.reason:
            inlines.append(_run("\n" + _cut(_clean(paper.reason), 200), italic=True))
        body.append({"type": "RichTextBlock", "separator": True, "inlines": inlines})
    left = len(message.papers) - len(papers)
    if left:
        body.append({"type": "RichTextBlock", "inlines": [_run(f"… and {left} more")]})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body, "msteams": {"width": "Full"},
            "actions": [{"type": "Action.OpenUrl", "title": "More on paperscope", "url": message.link}]}
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": card}]}


def teams_payload(message: ChannelMessage) -> dict[str, Any]:
    papers = message.papers[:TEAMS_PAPERS]
    while True:
        built = _teams_card(message, papers)
        if not papers or len(json.dumps(built, ensure_ascii=False).encode("utf-8")) <= TEAMS_BYTES:
            return built
        papers = papers[:-1]


# JSON -----------------------------------------------------------------------------------------------

def json_payload(message: ChannelMessage) -> dict[str, Any]:
    """paperscope's own document; every field is described in docs/webhooks.md."""
    return {
        "type": "paperscope.digest",
        "version": PAYLOAD_VERSION,
        "delivery": message.delivery,
        "webhook_id": message.webhook_id,
        "test": message.test,
        "content": {"kind": message.content, "value": message.value},
        "title": _clean(message.title),
        "slot": message.slot.isoformat() if message.slot else None,
        "composed_at": message.composed_at.isoformat(),
        "link": message.link,
        "papers": [{"id": p.id, "title": _clean(p.title), "authors": _clean(p.authors), "excerpt": _clean(p.excerpt),
                    "reason": p.reason, "url": p.url, "abs_url": p.abs_url, "pdf_url": p.pdf_url,
                    "upvotes": p.upvotes} for p in message.papers],
    }
