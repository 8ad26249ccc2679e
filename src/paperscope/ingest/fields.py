"""Field helpers shared by the parsers: text clean-up, dates, arXiv links."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

_SEP = "\x1f"  # joins list items for one-pass checks; never appears in metadata


def clean_text(value: object) -> str:
    """Collapse the hard line breaks and runs of spaces that arXiv abstracts and titles carry."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\n" in text:
        text = text.replace("\n", " ")
    if "  " in text or "\t" in text or "\r" in text:
        return " ".join(text.split())
    return text.strip()


def _is_clean(joined: str) -> bool:
    """True when items joined by _SEP are neither empty, padded, nor hold line breaks or double spaces."""
    return bool(joined) and not (
        "\n" in joined or "  " in joined or "\t" in joined or "\r" in joined or "\x1f " in joined
        or " \x1f" in joined or "\x1f\x1f" in joined or joined[0] in " \x1f" or joined[-1] in " \x1f"
    )


def optional_text(value: object) -> str | None:
    if value is None:
        return None
    text = clean_text(value)
    return text or None


def parse_date(value: object) -> dt.date | None:
    """A date from ISO 8601 ("2025-03-18", "2026-05-30T00:00:00.000Z") or RFC 2822 text.

    Raises ValueError with a message naming the accepted forms when the value is not a date.
    """
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if len(text) >= 10 and text[4] == "-":
            return dt.date.fromisoformat(text[:10])
        parsed = email.utils.parsedate_to_datetime(text)
        return parsed.date()
    except (ValueError, TypeError, IndexError):
        raise ValueError(
            f"{text[:40]!r} is not a date; write it as YYYY-MM-DD (ISO 8601) or as an RFC 2822 date"
        ) from None


def arxiv_links(paper_id: str) -> tuple[str, str]:
    """The abstract and PDF URLs of an arXiv paper."""
    return f"https://arxiv.org/abs/{paper_id}", f"https://arxiv.org/pdf/{paper_id}"


def as_list(value: object) -> list[str]:
    """A list of non-empty strings from a list, or from one space- or comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, list):
        try:
            joined = _SEP.join(value)
        except TypeError:  # an item is not a string
            joined = None
        if joined is not None and _is_clean(joined):
            return list(value)  # the common case: already clean, checked in one pass
        cleaned = (clean_text(item) for item in value)
        return [item for item in cleaned if item]
    raise TypeError(f"expected a list or a string, got {type(value).__name__}")
