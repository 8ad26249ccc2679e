"""`@handle` mentions in a comment's Markdown: who is named, outside code."""

from __future__ import annotations

import re

from paperscope.limits import HANDLE

#: "@" and a handle, not inside a word or an e-mail address ("ada@example.org" mentions nobody).
MENTION = re.compile(rf"(?<![\w@./-])@([a-z0-9_]{{1,{HANDLE.max_length}}})(?![\w@])", re.IGNORECASE)
_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`", re.DOTALL)


def mentioned_handles(markdown: str) -> set[str]:
    """The handles (lower case) a comment mentions; mentions in code spans and fenced code are not counted."""
    prose = _CODE.sub(" ", markdown)
    return {match.group(1).lower() for match in MENTION.finditer(prose)}
