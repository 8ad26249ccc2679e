"""The bounds of every text a person gives paperscope: one `TextLimit` per field, read by the store (which
refuses text beyond them, whichever interface it came through), the JSON API (whose schemas document them in
/openapi.json, web/params.py) and the HTML forms (their `maxlength`).

A text is refused when it is longer than its field's maximum, empty where the field needs a value, or holds a
control character (C0 and C1 controls and DEL, or a lone surrogate, which no encoding can store); multi-line
fields accept line breaks and tabs. Each refusal names the field and says what it takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from paperscope.errors import InputError

_ONE_LINE = "\\x00-\\x1f\\x7f-\\x9f"
_MULTI_LINE = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"  # tab, line feed, carriage return pass
_SURROGATES = "\\ud800-\\udfff"  # refused too, but left out of `pattern`: regex engines differ on them


@dataclass(frozen=True, slots=True)
class TextLimit:
    """The bounds of one text field: `field` is its name in forms and JSON, `what` says what it is."""

    field: str
    what: str
    max_length: int
    required: bool = False
    multiline: bool = False

    @property
    def pattern(self) -> str:
        """The characters allowed, as a regular expression (JSON Schema's `pattern`); lone surrogates, which
        UTF-8 cannot carry and only a JSON escape can make, are refused as well. A required field needs one
        character that is not white space."""
        refused = _MULTI_LINE if self.multiline else _ONE_LINE
        if self.required:
            return f"^[^{refused}]*[^{refused}\\s][^{refused}]*$"
        return f"^[^{refused}]*$"

    def problem(self, value: str) -> str | None:
        """Why `value` is refused, naming the field; None when it is fine."""
        named = f"{self.what} ({self.field})"
        if len(value) > self.max_length:
            return f"{named} must be at most {self.max_length:,} characters, not {len(value):,}."
        if self.required and not value.strip():
            return f"{named} must not be empty."
        found = re.search(f"[{_MULTI_LINE if self.multiline else _ONE_LINE}{_SURROGATES}]", value)
        if found:
            allowed = "line breaks and tabs are fine" if self.multiline else "give a single line of text"
            return (f"{named} must not contain control characters (it has U+{ord(found.group()):04X} at position "
                    f"{found.start() + 1}); {allowed}.")
        return None

    def check(self, value: str) -> str:
        """`value` itself when it is within the limit; InputError naming the field otherwise."""
        problem = self.problem(value)
        if problem:
            raise InputError(problem)
        return value


COLLECTION_NAME = TextLimit("name", "The collection name", 200, required=True)
COLLECTION_DESCRIPTION = TextLimit("description", "The collection description", 5000, multiline=True)
TAG = TextLimit("tag", "The tag", 100, required=True)
TOKEN_NAME = TextLimit("name", "The token name", 100, required=True)
DISPLAY_NAME = TextLimit("display_name", "The display name", 100)
TIMEZONE = TextLimit("timezone", "The time zone", 64)
FOLLOW_VALUE = TextLimit("value", "What you follow", 500, required=True)
WEBHOOK_URL = TextLimit("url", "The webhook URL", 2000, required=True)
WEBHOOK_VALUE = TextLimit("value", "The search or topic id", 500)
SEARCH_QUERY = TextLimit("q", "The search query", 500)
CATEGORY = TextLimit("category", "The category filter", 200)
AUTHOR = TextLimit("author", "The author filter", 200)
AUTHOR_NAME = TextLimit("q", "The author's name", 200)
PAPER_ID = TextLimit("paper_id", "The paper id", 300, required=True)
SECRET_TOKEN = TextLimit("token", "The token", 200, required=True)
ARXIV_ID = TextLimit("arxiv_id", "The paper id or link", 300, required=True)
NOTE = TextLimit("body", "The note", 20_000, required=True, multiline=True)
NOTES_QUERY = TextLimit("q", "The notes search", 200)
HANDLE = TextLimit("handle", "The handle", 32, required=True)  # what @mentions name; letters, digits, _
COMMENT = TextLimit("body", "The comment", 10_000, required=True, multiline=True)
MODERATION_REASON = TextLimit("reason", "The reason", 500, multiline=True)  # why an admin hid or blocked
REPORT_REASON = TextLimit("reason", "The reason for the report", 1000, required=True, multiline=True)

#: Every limit by its Python name: the templates' `limits`, and the tests that walk them all.
ALL: dict[str, TextLimit] = {name: value for name, value in globals().items() if isinstance(value, TextLimit)}
