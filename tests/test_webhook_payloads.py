"""Webhook payloads against the services' documented incoming-webhook formats (docs/decisions/0105): their
shapes and size limits, and hostile paper text escaped the way each format needs it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from paperscope.digest.compose import DigestPaper
from paperscope.digest.payloads import ChannelMessage, markdown_escape, payload, slack_escape
from paperscope.store.webhooks import redacted_url, webhook_url_problem

HOSTILE = "<!channel> & <https://evil.example|click> @everyone @here *bold* [x](javascript:alert(1)) `code` \x1b[31m"


def paper(n: int, title: str = HOSTILE, *, long: bool = False) -> DigestPaper:
    words = " ".join(["word"] * (400 if long else 10))
    return DigestPaper(id=f"2612.{n:05d}", title=title + (" " + words if long else ""), authors="Ada <Lovelace> & Co",
                       excerpt=f"An excerpt with <b>tags</b> & @channel. {words}", reason="Trending: 5 upvotes.",
                       url=f"https://papers.example.org/papers/2612.{n:05d}",
                       abs_url=f"https://arxiv.org/abs/2612.{n:05d}", pdf_url="https://arxiv.org/pdf/x>y|z(1)")


def message(count: int = 1, **options: Any) -> ChannelMessage:
    papers = [paper(n + 1, long=options.pop("long", False)) if n == 0 else paper(n + 1, f"Paper {n + 1}",
                                                                                     long=options.get("long", False))
              for n in range(count)]
    return ChannelMessage(title=f"paperscope: {count} papers trending <!here>", papers=papers,
                          link="https://papers.example.org/", delivery="webhook:1:2026-12-04T07:00:00+00:00",
                          webhook_id=1, content="trending", value=None,
                          composed_at=dt.datetime(2026, 12, 4, 7, tzinfo=dt.UTC), **options)


def built(format: str, msg: ChannelMessage) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(payload(format, msg))
    return result


def all_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return []


def test_slack_text_and_blocks_escape_the_three_control_characters() -> None:
    body = built("slack", message())
    assert set(body) == {"text", "blocks"}
    header, section, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": header["text"]["text"]}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    text = section["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert "<https://papers.example.org/papers/2612.00001|" in text  # our own link, the only `<...>` kind
    assert "<https://arxiv.org/pdf/x%3Ey%7Cz%281%29|PDF>" in text  # a link's target cannot end it early
    assert context["type"] == "context"
    assert header["text"]["text"] == "paperscope: 1 papers trending <!here>"  # plain_text: never parsed
    for field in all_strings({"text": body["text"], "blocks": body["blocks"][1:]}):
        assert "<!" not in field and "\x1b" not in field  # nothing pings the channel; no terminal escapes
    assert "&lt;!here&gt;" in body["text"] and "<!here>" not in body["text"]


def test_slack_stays_within_its_block_limits() -> None:
    body = built("slack", message(60, long=True))
    assert len(body["blocks"]) <= 50
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")


def test_mattermost_markdown_escapes_paper_text_and_mentions() -> None:
    body = built("mattermost", message())
    assert set(body) == {"text"}
    text = body["text"]
    assert "@everyone" not in text and "@here" not in text and "@channel" not in text
    assert "@\u2060everyone" in text
    assert "](javascript" not in text and "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in text
    assert "\\*bold\\*" in text and "\\`code\\`" in text
    assert "[PDF](https://arxiv.org/pdf/x%3Ey%7Cz%281%29)" in text  # a parenthesis cannot end the link
    assert "**[" in text and "](https://papers.example.org/papers/2612.00001)**" in text


def test_mattermost_stays_within_4000_characters_and_says_how_many_are_left() -> None:
    text = built("mattermost", message(40, long=True))["text"]
    assert len(text) <= 4000 and "… and " in text and text.endswith("(https://papers.example.org/)")


def test_discord_content_embeds_and_no_mentions_within_the_limits() -> None:
    body = built("discord", message(12, long=True))
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000 and "… and 2 more: https://papers.example.org/" in body["content"]
    embeds = body["embeds"]
    assert len(embeds) == 10
    assert all(len(e["title"]) <= 256 and len(e.get("description", "")) <= 4096 for e in embeds)
    assert sum(len(e["title"]) + len(e.get("description", "")) for e in embeds) <= 6000
    assert embeds[0]["url"] == "https://papers.example.org/papers/2612.00001"
    first = built("discord", message())["embeds"][0]
    assert "@everyone" not in first["description"] + first["title"]
    assert first["title"].startswith("\\<\\!channel\\> & \\<https\\://evil\\.example\\|click\\>")


def test_teams_is_an_adaptive_card_whose_text_runs_carry_paper_text_verbatim() -> None:
    body = built("teams", message(30))
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive" and attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    runs = [i for block in card["body"] for i in block["inlines"]]
    assert all(block["type"] == "RichTextBlock" for block in card["body"])
    assert all(run["type"] == "TextRun" for run in runs)  # a TextRun is never read as Markdown
    title = runs[1]
    assert title["text"] == HOSTILE.replace("\x1b", "")
    assert title["selectAction"] == {"type": "Action.OpenUrl", "url": "https://papers.example.org/papers/2612.00001"}
    assert card["body"][-1]["inlines"][0]["text"] == "… and 5 more"  # at most 25 papers
    assert len(json.dumps(body).encode()) <= 28_000
    large = built("teams", message(25, long=True))
    assert len(json.dumps(large, ensure_ascii=False).encode()) <= 28_000


def test_json_is_paperscopes_documented_document() -> None:
    body = built("json", message(2, test=True))
    assert set(body) == {"type", "version", "delivery", "webhook_id", "test", "content", "title", "slot",
                         "composed_at", "link", "papers"}
    assert body["test"] is True and body["slot"] is None and body["composed_at"] == "2026-12-04T07:00:00+00:00"
    first = body["papers"][0]
    assert set(first) == {"id", "title", "authors", "excerpt", "reason", "url", "abs_url", "pdf_url", "upvotes"}
    assert first["title"].startswith("<!channel> & <https://evil.example|click>")  # plain JSON: no escaping


def test_escaping_helpers() -> None:
    assert slack_escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert markdown_escape("@all [a](b) *c*") == "@\u2060all \\[a\\]\\(b\\) \\*c\\*"


@pytest.mark.parametrize(("url", "problem"), [
    ("https://hooks.slack.com/services/T/B/X", None),
    ("http://127.0.0.1:8065/hooks/abc", None),
    ("ftp://example.org/hook", "must start with https://"),
    ("javascript:alert(1)", "must start with https://"),
    ("https://user:pw@example.org/hook", "must not carry a user name or password"),
    ("https://example.org:99999/hook", "not a valid URL"),
    ("https://example.org/a b", "must not contain spaces"),
    ("https://example.org/\x00", "control characters"),
    ("https://example.org/" + "a" * 2000, "at most 2,000 characters"),
    ("", "must not be empty"),
])
def test_webhook_urls_are_checked(url: str, problem: str | None) -> None:
    found = webhook_url_problem(url)
    assert (found is None) if problem is None else (found is not None and problem in found and "(url)" in found)


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/services/…"),
    ("https://discord.com/api/webhooks/123/TOKEN", "https://discord.com/api/…"),
    ("https://chat.example.org/hooks/generatedkey", "https://chat.example.org/hooks/…"),
    ("https://mattermost.example.org/secretkey", "https://mattermost.example.org/…"),
    ("https://x.powerautomate.com:443/workflows/abc/triggers/manual/paths/invoke?sig=SECRET",
     "https://x.powerautomate.com:443/workflows/…"),
    ("https://example.org", "https://example.org"),
])
def test_shown_urls_hide_the_secret_part(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
