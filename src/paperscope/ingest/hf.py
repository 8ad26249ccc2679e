"""Hugging Face daily papers: the `api/daily_papers` JSON, from a saved file or from the live API.

The API answers with an array of items, each wrapping a `paper` object:
`[{"paper": {"id", "title", "summary", "authors": [{"name"}], "publishedAt", "upvotes", ...},
"title", "summary", "numComments", "submittedBy", ...}, ...]`. A single item, or a bare paper object
(`api/papers/ID`), is read as a list of one.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient
from paperscope.ids import parse_arxiv_id
from paperscope.ingest.base import Entry, Item, Problem, SourceItem
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import arxiv_links, clean_text, optional_text, parse_date
from paperscope.ingest.json_results import json_type
from paperscope.models import Paper
from paperscope.store import Store

SOURCE = "hf"
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read_hf_daily(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers from a Hugging Face `api/daily_papers` JSON document; each item is located as "item N".

    A truncated or malformed array still yields every item before the damage, then a Problem naming
    the line and column where the JSON breaks. Raises InputError if the bytes are not UTF-8/UTF-16 text.
    """
    text = read_text(stream, origin)
    for number, value in _json_items(text, origin):
        if isinstance(value, Problem):
            yield value
        else:
            yield from _read_item(value, origin, f"item {number}")


def hf_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """`hf:SPEC` as a network source (see ingest.remote): the day's list is short, read whole."""
    return hf_daily_items(spec, settings)


def hf_daily_items(rest: str, settings: Settings) -> Iterator[SourceItem]:
    """The papers of `hf:daily` (the latest list) or `hf:daily:YYYY-MM-DD` (one day), fetched from the API.

    `rest` is the source without its `hf:` prefix. Raises InputError at once for a malformed spec.
    """
    day = _parse_spec(rest)
    origin = f"hf:daily:{day.isoformat()}" if day else "hf:daily"
    return _fetch_items(day, origin, settings)


def _parse_spec(rest: str) -> dt.date | None:
    word, colon, day = rest.strip().partition(":")
    usage = ("Use hf:daily for the latest Hugging Face daily papers, or hf:daily:YYYY-MM-DD for one day's "
             "list (e.g. hf:daily:2026-06-12).")
    if word.lower() != "daily":
        raise InputError(f"Unknown Hugging Face source 'hf:{rest}'. {usage}")
    if not colon:
        return None
    try:
        if not _DAY.match(day):
            raise ValueError
        return dt.date.fromisoformat(day)
    except ValueError:
        raise InputError(f"'{day}' in 'hf:{rest}' is not a valid date. {usage}") from None


def _fetch_items(day: dt.date | None, origin: str, settings: Settings) -> Iterator[SourceItem]:
    params = {"date": day.isoformat()} if day else None
    # Fetch, then close the connection before the pipeline starts storing what was read.
    with PoliteClient(settings, name="Hugging Face") as client:
        response = client.get(settings.hf_api_url, params=params)
    body = response.content
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"[", b"{")):
        raise SourceError(f"Hugging Face answered {response.url} with something that is not JSON "
                          f"({body[:80]!r}); check PAPERSCOPE_HF_API_URL or try again later.")
    error = _api_error(body)
    if error:
        raise SourceError(f"Hugging Face answered {response.url} with an error: {error}")
    yield from read_hf_daily(io.BytesIO(body), origin)


def _api_error(body: bytes) -> str | None:
    """The message of an `{"error": ...}` answer (sent with HTTP 200 at times), else None."""
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if isinstance(answer, dict) and "error" in answer and "paper" not in answer and "id" not in answer:
        return clean_text(answer["error"])[:200] or "(no message)"
    return None


def _json_items(text: str, origin: str) -> Iterator[tuple[int, Any]]:
    """(item number, decoded value) for each element of the top-level array, or of a lone object.

    Elements are decoded one at a time, so a document cut short keeps everything before the cut.
    Where the JSON breaks, the value is a Problem (and the number 0) and the iteration stops.
    """
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if pos == len(text):
        yield 0, Problem(origin, "", "the document is empty; expected a JSON array of daily-papers items")
        return
    if text[pos] != "[":
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield 0, _broken(origin, text, exc.pos, 0)
            return
        yield 1, value
        end = _skip_space(text, end)
        if end != len(text):
            yield 0, _broken(origin, text, end, 1)
        return
    count = 0
    pos = _skip_space(text, pos + 1)
    if text.startswith("]", pos):
        return
    while True:
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield 0, _broken(origin, text, exc.pos, count)
            return
        count += 1
        yield count, value
        pos = _skip_space(text, pos)
        if text.startswith("]", pos):
            return
        if not text.startswith(",", pos):
            yield 0, _broken(origin, text, pos, count)
            return
        pos = _skip_space(text, pos + 1)


def _skip_space(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _broken(origin: str, text: str, pos: int, read: int) -> Problem:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    items = "1 item before it was" if read == 1 else f"{read} items before it were"
    return Problem(origin, f"line {line}", f"the JSON ends early or is malformed at line {line}, column "
                   f"{column}; {items} read. Download or export the file again.")


def _read_item(item: Any, origin: str, where: str) -> Iterator[Item]:
    def problem(message: str, rejected: bool = True) -> Problem:
        return Problem(origin, where, message, rejected=rejected)

    if not isinstance(item, dict):
        yield problem(f"expected a JSON object (a daily-papers item), got {json_type(item)}; "
                      "remove or fix this element")
        return
    paper = item.get("paper", item)
    prefix = "paper." if paper is not item else ""
    if not isinstance(paper, dict):
        yield problem(f"field 'paper' should be an object, got {json_type(paper)}")
        return

    def field(name: str) -> Any:
        """A paper field, falling back to the same field on the wrapping item."""
        value = paper.get(name)
        return item.get(name) if value in (None, "", []) else value

    raw_id = paper.get("id")
    if raw_id in (None, ""):
        yield problem(f"no paper id (field '{prefix}id'); every daily-papers item needs its arXiv id")
        return
    parsed = parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if parsed is None:
        yield problem(f"field '{prefix}id' is {raw_id!r}, which is not an arXiv id (like 2506.01234)")
        return
    title = clean_text(field("title"))
    if not title:
        yield problem(f"no title (field '{prefix}title'); every paper needs one")
        return

    warnings: list[Problem] = []
    published = None
    raw_date = field("publishedAt")
    try:
        if raw_date is not None and not isinstance(raw_date, str):
            raise ValueError(f"{raw_date!r} is not a date; write it as YYYY-MM-DD (ISO 8601)")
        published = parse_date(raw_date)
    except ValueError as exc:
        warnings.append(problem(f"field '{prefix}publishedAt': {exc}; the paper is kept without a "
                                "publication date", rejected=False))

    def count(name: str) -> int | None:
        value = paper.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        warnings.append(problem(f"field '{prefix}{name}' should be a whole number, got {value!r}; "
                                "it was left out", rejected=False))
        return None

    paper_id = parsed[0]
    abs_url, pdf_url = arxiv_links(paper_id)
    record = Paper(
        id=paper_id,
        title=title,
        abstract=clean_text(field("summary")),
        authors=_authors(paper.get("authors")),
        published=published,
        abs_url=abs_url,
        pdf_url=pdf_url,
        sources=[SOURCE],
        upvotes=count("upvotes"),
        github_repo=_text(paper.get("githubRepo")),
        github_stars=count("githubStars"),
        project_page=_text(paper.get("projectPage")),
        ai_keywords=_keywords(paper.get("ai_keywords")),
        submitter=_submitter(paper.get("submittedOnDailyBy") or item.get("submittedBy")),
    )
    yield Entry(origin, where, record)
    yield from warnings


def _text(value: object) -> str | None:
    return optional_text(value) if isinstance(value, str) else None


def _authors(value: object) -> list[str]:
    """Author names in order, from `[{"name": ...}]` or plain strings; empty names are skipped."""
    if not isinstance(value, list):
        return []
    names = (author.get("name") if isinstance(author, dict) else author for author in value)
    return [clean_text(name) for name in names if isinstance(name, str) and clean_text(name)]


def _keywords(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    keywords = (clean_text(word) for word in value if isinstance(word, str))
    return list(dict.fromkeys(word for word in keywords if word))


def _submitter(value: object) -> str | None:
    """The human name of who put the paper on the daily list (the user name when there is none)."""
    if isinstance(value, str):
        return optional_text(value)
    if isinstance(value, dict):
        for key in ("fullname", "user", "name"):
            name = value.get(key)
            if isinstance(name, str) and name.strip():
                return clean_text(name)
    return None
