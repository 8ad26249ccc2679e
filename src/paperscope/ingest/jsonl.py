"""JSON Lines of paper metadata, plain or gzip, in the three flavours paperscope reads.

* the arXiv bulk metadata snapshot: `id`, `title`, `abstract`, `authors` (a string, with
  `authors_parsed`), `categories` (space-separated), `versions`, `update_date`, `doi`, `journal-ref`...;
* daily-listing dumps: `id`, `title`, `summary`, `authors` and `categories` as lists, `comment`, `abs`, `pdf`;
* plain `{"id", "title", "abstract"}` (any corpus; the id is kept as given).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from paperscope.errors import FieldError
from paperscope.ids import derived_id, parse_arxiv_id
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.fields import arxiv_links, as_list, clean_text, optional_text, parse_date
from paperscope.models import Paper

SOURCE = "jsonl"
MAX_ID_CHARS = 64
_BAD_ID = re.compile(r"[\s\x00-\x1f]")


def read_jsonl(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Parse JSON Lines; each bad line becomes a Problem naming its line number."""
    lineno = 0
    try:
        for lineno, raw in enumerate(stream, start=1):  # noqa: B007 (lineno is used after the loop)
            if not raw.strip():
                continue
            where = f"line {lineno}"
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield Problem(origin, where, _explain_bad_line(raw))
                continue
            if not isinstance(record, dict):
                yield Problem(origin, where, f"expected a JSON object per line, got {type(record).__name__}")
                continue
            try:
                paper, warnings = paper_from_record(record)
            except FieldError as exc:
                yield Problem(origin, where, str(exc))
                continue
            for warning in warnings:
                yield Problem(origin, where, warning, rejected=False)
            yield Entry(origin, where, paper)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield Problem(origin, f"after line {lineno}",
                      f"the compressed file ends early or is damaged ({exc}); the {lineno} lines before "
                      "were read. Download or export the file again to get the rest.")


def _explain_bad_line(raw: bytes) -> str:
    """Why a line is not JSON: its encoding, a truncation, or a syntax error (with the column)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not UTF-8; "
                "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ("the line is cut short (truncated file?)" if exc.pos >= len(text.rstrip()) - 1
                else "fix the JSON syntax")
        return f"not valid JSON at column {exc.colno}: {exc.msg}; {hint}"
    return "not valid JSON (a number or string outside what JSON allows?); fix the value"


def paper_from_record(record: dict[str, Any]) -> tuple[Paper, list[str]]:
    """Map one JSON object of any of the three flavours to a Paper, with warnings for dropped fields."""
    warnings: list[str] = []
    title = clean_text(_text(record, "title"))
    raw_id = record.get("id")
    version = None
    if raw_id is None or raw_id == "":
        paper_id = derived_id(title) if title else ""
    else:
        if not isinstance(raw_id, str | int) or isinstance(raw_id, bool):
            raise FieldError(f"field 'id' must be a string or a number, got {type(raw_id).__name__}")
        paper_id = str(raw_id).strip()
        arxiv = parse_arxiv_id(paper_id)
        if arxiv is not None:
            paper_id, version = arxiv
        elif len(paper_id) > MAX_ID_CHARS or _BAD_ID.search(paper_id):
            raise FieldError(f"field 'id' {paper_id[:40]!r} is not a usable id: at most {MAX_ID_CHARS} "
                             "characters without spaces or control characters")
    abstract = _text(record, "abstract") or _text(record, "summary")
    published, updated = None, None
    versions = record.get("versions")
    try:
        if isinstance(versions, list) and versions:
            published = _version_date(versions[0])
            updated = _version_date(versions[-1])
            version = _version_number(versions[-1]) or len(versions)
        updated = updated or parse_date(record.get("updated") or record.get("update_date"))
        published = published or parse_date(record.get("published"))
    except ValueError as exc:
        warnings.append(f"invalid date ({exc}); the paper is stored without it")
    abs_url, pdf_url = (record.get("abs"), record.get("pdf"))
    if version is not None or (abs_url is None and parse_arxiv_id(paper_id)):
        default_abs, default_pdf = arxiv_links(paper_id)
        abs_url, pdf_url = abs_url or default_abs, pdf_url or default_pdf
    paper = Paper(
        id=paper_id,
        title=title,
        abstract=clean_text(abstract),
        authors=_authors(record),
        categories=_list(record, "categories"),
        published=published,
        updated=updated,
        version=version,
        abs_url=optional_text(abs_url),
        pdf_url=optional_text(pdf_url),
        doi=optional_text(_text(record, "doi")),
        comment=optional_text(_text(record, "comment") or _text(record, "comments")),
        journal_ref=optional_text(_text(record, "journal-ref") or _text(record, "journal_ref")),
        submitter=optional_text(_text(record, "submitter")),
        sources=[SOURCE],
    )
    return paper, warnings


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(f"field '{key}' must be text, got {type(value).__name__}")
    return value


def _list(record: dict[str, Any], key: str) -> list[str]:
    try:
        return as_list(record.get(key))
    except TypeError as exc:
        raise FieldError(f"field '{key}': {exc}") from None


def _authors(record: dict[str, Any]) -> list[str]:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        # The snapshot's [last, first, suffix] triples are already decoded from LaTeX.
        if not all(isinstance(part, str | None) for p in parsed if isinstance(p, list) for part in p):
            raise FieldError("field 'authors_parsed' must hold [last, first, suffix] lists of text "
                             '(e.g. [["Lovelace", "Ada", ""]]); a part is not text')
        names = [" ".join(part for part in (p[1], p[0], *p[2:]) if part) for p in parsed
                 if isinstance(p, list) and len(p) >= 2]
        return [clean_text(name) for name in names if clean_text(name)]
    authors = record.get("authors")
    if isinstance(authors, str):
        return [name for name in (clean_text(n) for n in re.split(r",|\band\b", authors)) if name]
    return _list(record, "authors")


def _version_date(version: object) -> Any:
    if isinstance(version, dict):
        return parse_date(version.get("created"))
    return None


def _version_number(version: object) -> int | None:
    if isinstance(version, dict):
        match = re.fullmatch(r"v(\d+)", str(version.get("version", "")))
        return int(match.group(1)) if match else None
    return None
