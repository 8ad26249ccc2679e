"""arXiv API Atom responses: the classic format and the 2026 one, from a saved file or a live request.

Both formats carry the same elements; they differ in element order, where the namespaces are declared,
`https` vs `http` ids and whether `arxiv:primary_category` has a scheme. Elements are therefore matched
by local name and collected in any order.

The document is parsed incrementally (defusedxml's `iterparse`), so the entries before a truncation
are still yielded, followed by one problem naming the line and column where the XML broke.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from paperscope.errors import SourceError
from paperscope.ids import parse_arxiv_id
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.fields import arxiv_links, clean_text, optional_text, parse_date
from paperscope.models import Paper

QUERY_HINT = ("Check the query: use a category (arxiv:cs.LG), a list of ids (arxiv:id:2503.11731,2401.00001) "
              "or an arXiv search such as \"arxiv:ti:transformer AND cat:cs.LG\" "
              "(syntax: https://info.arxiv.org/help/api/user-manual.html#query_details).")

_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/", re.IGNORECASE)
_POSITION_SUFFIX = re.compile(r": line \d+, column \d+$")


class Stamped(NamedTuple):
    """An item of a feed with the full `<updated>` timestamp of its entry (None for problems).

    `Paper.updated` only keeps the date; incremental harvesting needs the time too.
    """

    item: Item
    updated: dt.datetime | None


class AtomFeed:
    """One Atom document, parsed as it is read.

    Iterate it for entries and problems in document order. `total_results` (opensearch:totalResults)
    and `entries_read` are filled in while iterating; `malformed` tells whether the XML broke off.

    With `from_api=True` the document is a live API answer: an arXiv error entry raises SourceError
    instead of being reported as a rejected record. `first_entry` numbers the entries ("entry N")
    from that value, so the entries of later API pages keep their position in the whole result.
    """

    def __init__(self, stream: BinaryIO, origin: str, *, from_api: bool = False,
                 first_entry: int = 1) -> None:
        self.stream = stream
        self.origin = origin
        self.from_api = from_api
        self.first_entry = first_entry
        self.total_results: int | None = None
        self.entries_read = 0
        self.malformed = False

    def __iter__(self) -> Iterator[Item]:
        return (stamped.item for stamped in self.stamped())

    def stamped(self) -> Iterator[Stamped]:
        """The items with their entries' `<updated>` timestamps."""
        root: Element | None = None
        try:
            for event, elem in iterparse(self.stream, events=("start", "end")):
                if event == "start":
                    if root is None:
                        root = elem
                    continue
                name = _local(elem.tag)
                if name == "entry":
                    number = self.first_entry + self.entries_read
                    self.entries_read += 1
                    yield from self._entry(elem, f"entry {number}")
                    if root is not None and elem in root:
                        root.remove(elem)  # keep memory flat on large files
                elif name == "totalResults":
                    self.total_results = _int(elem.text)
        except ParseError as exc:
            self.malformed = True
            line, column = exc.position
            reason = _POSITION_SUFFIX.sub("", str(exc))
            yield Stamped(Problem(self.origin, f"line {line}", (
                f"the XML is truncated or malformed at line {line}, column {column + 1}: {reason}; "
                f"{self.entries_read} entries before it were read. Download or save the response again.")),
                None)
        except DefusedXmlException as exc:
            self.malformed = True
            yield Stamped(Problem(self.origin, "", (
                f"the XML declares entities or a DTD ({type(exc).__name__}), which are refused for safety; "
                f"{self.entries_read} entries before it were read. arXiv responses never contain them: "
                "is this really an arXiv API response?")), None)

    def _entry(self, elem: Element, where: str) -> Iterator[Stamped]:
        fields = _collect(elem)
        raw_id = fields.get("id", "")
        if "/api/errors" in raw_id:
            message = clean_text(fields.get("summary") or fields.get("title") or raw_id)
            if self.from_api:
                raise SourceError(f"The arXiv API refused the query {self.origin}: {message}. {QUERY_HINT}")
            yield Stamped(Problem(self.origin, where, (
                f"this is an arXiv API error message, not a paper: {message}. The saved response came from "
                "a request arXiv refused; fix the query and fetch it again.")), None)
            return
        parsed = parse_arxiv_id(raw_id) if raw_id else None
        if parsed is None:
            shown = f"'{raw_id[:80]}'" if raw_id else "nothing"
            yield Stamped(Problem(self.origin, where, (
                f"field 'id' holds {shown}, not an arXiv id; an arXiv API entry has an <id> such as "
                "http://arxiv.org/abs/2503.11731v1")), None)
            return
        paper_id, version = parsed

        warnings: list[Problem] = []
        dates: dict[str, dt.date | None] = {}
        for name in ("published", "updated"):
            try:
                dates[name] = parse_date(fields.get(name))
            except ValueError as exc:
                dates[name] = None
                warnings.append(Problem(self.origin, where, f"field '{name}': {exc}; the paper is kept "
                                        "without this date", rejected=False))

        # Unversioned https links, as every other source stores them (the feed's links name a version).
        abs_url, pdf_url = arxiv_links(paper_id)
        paper = Paper(
            id=paper_id,
            title=clean_text(fields.get("title")),
            abstract=clean_text(fields.get("summary")),
            authors=fields.authors,
            categories=fields.categories(),
            published=dates["published"],
            updated=dates["updated"],
            version=version,
            abs_url=abs_url,
            pdf_url=pdf_url,
            doi=optional_text(fields.get("doi")) or fields.doi_link,
            comment=optional_text(fields.get("comment")),
            journal_ref=optional_text(fields.get("journal_ref")),
            sources=["arxiv"],
        )
        stamp = _timestamp(fields.get("updated")) or _timestamp(fields.get("published"))
        yield Stamped(Entry(self.origin, where, paper), stamp)
        for warning in warnings:
            yield Stamped(warning, None)


def read_atom(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Entries and problems of a saved arXiv API Atom response (classic or 2026 format)."""
    yield from AtomFeed(stream, origin)


class _Fields(dict[str, str]):
    """The text fields of one entry by local name, plus its repeated elements."""

    def __init__(self) -> None:
        super().__init__()
        self.authors: list[str] = []
        self.category_terms: list[str] = []
        self.primary: str | None = None
        self.doi_link: str | None = None

    def categories(self) -> list[str]:
        terms = ([self.primary] if self.primary else []) + self.category_terms
        return list(dict.fromkeys(terms))


def _collect(entry: Element) -> _Fields:
    fields = _Fields()
    for child in entry:
        name = _local(child.tag)
        if name == "author":
            author = next((clean_text(c.text) for c in child if _local(c.tag) == "name"), "")
            if author:
                fields.authors.append(author)
        elif name == "category":
            term = (child.get("term") or "").strip()
            if term:
                fields.category_terms.append(term)
        elif name == "primary_category":
            fields.primary = (child.get("term") or "").strip() or None
        elif name == "link":
            _link(child, fields)
        elif name not in fields:
            fields[name] = child.text or ""
    return fields


def _link(link: Element, fields: _Fields) -> None:
    href = (link.get("href") or "").strip()
    if not href:
        return
    if link.get("title", "") == "doi":
        fields.doi_link = fields.doi_link or _DOI_URL.sub("", href)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _timestamp(text: str | None) -> dt.datetime | None:
    """An aware UTC datetime from an Atom timestamp; a zone-less one is taken as UTC."""
    if not text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)
