"""How a notification reads wherever it is shown (the notifications page, the API, e-mail): what happened, and
the first words of the comment."""

from __future__ import annotations

from paperscope.text import printable

EXCERPT_CHARS = 240
#: What the comment's author did, by the notification's kind; the paper's title follows.
KIND_TEXT = {"reply": "replied to your comment on", "mention": "mentioned you on",
             "discussion": "commented on a discussion you follow:"}


def comment_excerpt(markdown: str, limit: int = EXCERPT_CHARS) -> str:
    """The first words of a comment as one line of plain text (its Markdown as written, control characters left
    out), cut at a word."""
    text = " ".join(printable(markdown).split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
