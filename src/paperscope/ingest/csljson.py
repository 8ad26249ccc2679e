"""CSL-JSON: the citation format of Zotero's "Export Library... > CSL JSON", Mendeley, citeproc and Pandoc.

A file is an array of items (Zotero's Web API wraps it as `{"items": [...]}`); each item with a title becomes a
paper located as "item N" (see ingest.citation for its id and fields). Fields read: `title`, `author`
(`family`/`given`, or `literal`), `issued` (`date-parts`, else `raw`), `DOI`, `URL`, `PMID`, `PMCID`, `abstract`,
`container-title` with `volume`, `issue` and `page`, `number` and `archive_location` (where Zotero keeps a
preprint's arXiv id) and `note` (Zotero's "Extra": lines such as "arXiv: 2301.00001" give ids, the rest is
kept as the paper's comment). Titles keep their TeX math as written; the HTML tags CSL allows in them
(`<i>`, `<sub>`...) are removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.citation import Citation, paper_of
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import clean_text
from paperscope.ingest.json_results import array_records, json_type, read_records, records_after
from paperscope.ingest.markup import markup_text

SOURCE = "csljson"
# CSL's item types (CSL 1.0.2), by which a JSON document is told to be CSL-JSON.
CSL_TYPES = ("article", "article-journal", "article-magazine", "article-newspaper", "bill", "book", "broadcast",
             "chapter", "classic", "collection", "dataset", "document", "entry", "entry-dictionary",
             "entry-encyclopedia", "event", "figure", "graphic", "hearing", "interview", "legal_case",
             "legislation", "manuscript", "map", "motion_picture", "musical_score", "pamphlet", "paper-conference",
             "patent", "performance", "periodical", "personal_communication", "post", "post-weblog", "regulation",
             "report", "review", "review-book", "software", "song", "speech", "standard", "thesis", "treaty",
             "webpage")
_TAG = re.compile(r"</?(?:i|b|sub|sup|span|sc)\b[^>]*>", re.IGNORECASE)


def read_csljson(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers of a CSL-JSON file: an array of items, `{"items": [...]}`, or one item. A file cut short keeps
    the items before the damage and reports where it breaks."""
    text = read_text(stream, origin)
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        records = array_records(text, origin, "item") if text.lstrip().startswith("[") else \
            records_after(text, "items", origin, "item")
        yield from read_records(records, origin, "item", read_item)
        return
    yield from items_of(document, origin)


def items_of(document: Any, origin: str) -> Iterator[Item]:
    """The papers of a decoded CSL-JSON document."""
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        document = document["items"]
    elif isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        yield Problem(origin, "", f"expected a CSL-JSON array of items, got {json_type(document)}; export the "
                      "library again as CSL JSON")
        return
    for number, item in enumerate(document, start=1):
        yield from read_item(item, origin, f"item {number}")


def read_item(item: Any, origin: str, where: str) -> Iterator[Item]:
    """The paper of one CSL-JSON item, or a Problem saying why it is not one."""
    if not isinstance(item, dict):
        yield Problem(origin, where, f"expected an item object, got {json_type(item)}; remove or fix this element")
        return
    title = _title(item.get("title"))
    if not title:
        label = _text(item.get("DOI")) or _text(item.get("URL")) or _text(item.get("id"))
        named = f" ({label})" if label else ""
        yield Problem(origin, where, f"item{named} has no title (field 'title'); add one in the reference "
                      "manager, or remove the item if it is not a paper")
        return
    citation = Citation(
        title=title,
        authors=_authors(item.get("author")),
        date=_date(item.get("issued")),
        doi=_text(item.get("DOI")),
        url=_text(item.get("URL")),
        pmid=_text(item.get("PMID")),
        pmcid=_text(item.get("PMCID")),
        abstract=markup_text(_text(item.get("abstract"))),
        venue=_title(item.get("container-title")),
        volume=_text(item.get("volume")),
        issue=_text(item.get("issue")),
        pages=_text(item.get("page")),
        note=item["note"] if isinstance(item.get("note"), str) else "",
        arxiv_hints=[_text(item.get(name)) for name in ("number", "archive_location", "id")],
    )
    yield Entry(origin, where, paper_of(citation, SOURCE))


def _text(value: Any) -> str:
    return clean_text(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _title(value: Any) -> str:
    """A CSL title: its rich-text tags removed, its TeX math kept as written."""
    return clean_text(_TAG.sub("", value)) if isinstance(value, str) else ""


def _authors(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    names = []
    for person in value:
        if not isinstance(person, dict):
            continue
        literal = _text(person.get("literal"))
        parts = [_text(person.get(k)) for k in ("given", "non-dropping-particle", "family", "suffix")]
        name = literal or " ".join(p for p in parts if p)
        if name:
            names.append(name)
    return names


def _date(value: Any) -> tuple[int, int | None, int | None] | None:
    """Year, month and day of a CSL date: `date-parts` ([[2017, 6, 12]], numbers or digit strings), else `raw`."""
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        numbers = [int(p) if isinstance(p, int) and not isinstance(p, bool) else
                   int(p) if isinstance(p, str) and re.fullmatch(r"[0-9]{1,4}", p.strip()) else None
                   for p in parts[0][:3]]
        if numbers[0] is None:
            return None
        month = numbers[1] if len(numbers) > 1 and numbers[1] and 1 <= numbers[1] <= 12 else None
        day = numbers[2] if month and len(numbers) > 2 and numbers[2] and 1 <= numbers[2] <= 31 else None
        return numbers[0], month, day
    raw = value.get("raw") or value.get("literal")
    match = re.match(r"^\s*(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2}))?)?", raw) if isinstance(raw, str) else None
    if match is None:
        return None
    month = int(match[2]) if match[2] and 1 <= int(match[2]) <= 12 else None
    day = int(match[3]) if month and match[3] and 1 <= int(match[3]) <= 31 else None
    return int(match[1]), month, day
