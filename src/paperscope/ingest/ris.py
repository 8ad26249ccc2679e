"""RIS: the tagged export format of Zotero, Mendeley, EndNote, Web of Science, Scopus and publishers' sites.

A record runs from its `TY  - ` line to its `ER  - ` line; each record with a title becomes a paper located as
"record N (line L)", its fields mapped by rispy (see ingest.citation for its id): `TI`/`T1` title, `AU`/`A1`
authors ("Family, Given"), `DA`/`PY`/`Y1` date ("2017/06/12/"), `DO` DOI, `UR` URLs, `AB`/`N2` abstract,
`T2`/`JO`/`JF` venue with `VL`, `IS`, `SP`-`EP`, `N1` notes (Zotero's "Extra": lines such as "arXiv:
2301.00001" give ids, the rest is kept as the paper's comment), and `AN`/`M1`/`ID` where exporters write an
arXiv id. Lines before the first record (some databases write a header) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import rispy

from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.citation import Citation, paper_of
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import clean_text
from paperscope.ingest.markup import markup_text

SOURCE = "ris"
_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?: (.*)|\s*)$")
_DATE = re.compile(r"^\s*(\d{4})(?:[/-](\d{0,2})(?:[/-](\d{0,2}))?)?")
_HTML_TAG = re.compile(r"<[^>]{0,200}>")


def read_ris(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers of a RIS file, one per record; a record without a title or an end line is reported by its
    number and line, and the records around it are still read."""
    text = read_text(stream, origin)
    records = 0
    for number, (line, lines, closed) in enumerate(_records(text), start=1):
        records = number
        where = f"record {number} (line {line})"
        yield from _read_record(lines, origin, where)
        if not closed:
            yield Problem(origin, where, "the record has no end line ('ER  - ') before the next record or the end "
                          "of the file; it was read as far as it goes. The file may be cut short: export it "
                          "again.", rejected=False)
    if records == 0:
        yield Problem(origin, "", "no RIS record found (a record starts with a line 'TY  - JOUR' and ends with "
                      "'ER  - '); export the library again as RIS")


def _records(text: str) -> Iterator[tuple[int, list[str], bool]]:
    """(first line number, lines, whether an ER line closed it) of each record."""
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        match = _TAG_LINE.match(line.rstrip())
        tag = match[1] if match else None
        if tag == "TY":
            if current is not None:
                yield start, current, False
            current, start = [line.rstrip()], number
        elif current is not None:
            if tag == "ER":
                yield start, current, True
                current = None
            else:
                current.append(line.rstrip())
    if current is not None:
        yield start, current, False


def _read_record(lines: list[str], origin: str, where: str) -> Iterator[Item]:
    try:
        parsed = rispy.loads("\n".join([*lines, "ER  - "]))
    except Exception as exc:  # rispy's own errors: the record is reported, the others are read
        yield Problem(origin, where, f"the record could not be read ({exc}); check its tag lines ('XX  - value')")
        return
    if not parsed:
        yield Problem(origin, where, "the record could not be read; check its tag lines ('XX  - value')")
        return
    record: dict[str, Any] = parsed[0]
    title = _first(record, "title", "primary_title", "translated_title", "short_title")
    if not title:
        yield Problem(origin, where, "the record has no title (a 'TI  - ' or 'T1  - ' line); add one in the "
                      "reference manager, or remove the record if it is not a paper")
        return
    urls = _strings(record.get("urls"))
    notes = [_HTML_TAG.sub("\n", note) for note in _strings(record.get("notes"))]
    pages = "-".join(p for p in (_first(record, "start_page"), _first(record, "end_page")) if p)
    citation = Citation(
        title=title,
        authors=[_given_family(name) for name in
                 [*_strings(record.get("authors")), *_strings(record.get("first_authors"))]],
        date=_date(_first(record, "date", "year", "publication_year")),
        doi=_first(record, "doi"),
        url=next((u for u in urls if u.startswith(("http://", "https://"))), ""),
        abstract=markup_text(_first(record, "abstract", "notes_abstract")),
        venue=_first(record, "secondary_title", "journal_name", "alternate_title3", "alternate_title2",
                     "alternate_title1"),
        volume=_first(record, "volume"),
        issue=_first(record, "number"),
        pages=pages,
        note="\n".join(notes),
        arxiv_hints=[*urls, *(_first(record, name) for name in ("accession_number", "note", "id", "number"))],
    )
    yield Entry(origin, where, paper_of(citation, SOURCE))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _first(record: dict[str, Any], *names: str) -> str:
    for name in names:
        for value in _strings(record.get(name)):
            if clean_text(value):
                return clean_text(value)
    return ""


def _given_family(name: str) -> str:
    """RIS writes "Family, Given[, Suffix]"; paperscope keeps "Given Family Suffix"."""
    parts = [clean_text(p) for p in name.split(",")]
    if len(parts) >= 2 and parts[0] and parts[1]:
        return " ".join([parts[1], parts[0], *parts[2:]]).strip()
    return clean_text(name.replace(",", " "))


def _date(value: str) -> tuple[int, int | None, int | None] | None:
    match = _DATE.match(value)
    if match is None:
        return None
    month = int(match[2]) if match[2] and 1 <= int(match[2]) <= 12 else None
    day = int(match[3]) if month and match[3] and 1 <= int(match[3]) <= 31 else None
    return int(match[1]), month, day
