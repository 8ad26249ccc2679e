"""PubMed: efetch XML and the annual baseline / daily update files (`<PubmedArticleSet>`, plain or gzip).

Files are streamed (`iterparse`, each article dropped once read), so a baseline file of hundreds of MB needs
the memory of one article. The parser is defusedxml's: a document declaring entities (the "billion laughs" expansion)
or external references is refused with a Problem; the articles read before that point are kept.

Fields: PMID, the ArticleIdList (doi, pmc) and the DOI of ELocationID -> `ids`; ArticleTitle (inner markup
such as <i>, <sup> reduced to its text); Abstract/AbstractText, structured abstracts keeping their section
labels ("BACKGROUND: ... METHODS: ..."); AuthorList ("ForeName LastName", or CollectiveName); the journal
-> `journal_ref`; ArticleDate (else PubDate, MedlineDate such as "1998 Dec-1999 Jan" read as its start)
-> `published`; DateRevised -> `updated`; MeSH descriptors (major topics first) -> `categories`; the
ReferenceList's ids -> `references`.

`<DeleteCitation>` (daily update files) lists PMIDs NLM withdrew; they are reported, never deleted from
the store (docs/decisions/0087-pubmed-files-streamed-deletions-reported.md). The network source is in pubmed_api.py.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from paperscope.ids import author_ref, canonical_id, derived_id, id_ref
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.fields import clean_text
from paperscope.models import Paper

SOURCE = "pubmed"
ROOTS = ("PubmedArticleSet", "PubmedBookArticleSet")
MAX_CATEGORY_CHARS = 64  # a longer MeSH name is left out of the categories (their column's width)
_MONTHS = {name: n for n, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_SEASONS = {"winter": 1, "spring": 3, "summer": 6, "fall": 9, "autumn": 9}
_MEDLINE_DATE = re.compile(r"(?P<year>\d{4})(?:\s+(?P<month>[A-Za-z]+|\d{1,2}))?(?:\s+(?P<day>\d{1,2})\b)?")
# ArticleId IdType -> paperscope id kind
_ID_TYPES = {"pubmed": "pmid", "doi": "doi", "pmc": "pmcid"}


def read_pubmed_xml(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers of a PubMed XML document (efetch answer, baseline or update file), read as a stream.

    Each article is located as "PMID N" (or "article N" when it has no PMID). A document cut short, or one
    with entity declarations, yields the articles before the damage, then a Problem saying what was wrong.
    """
    depth = 0
    root: Element | None = None
    number = 0
    try:
        for event, element in iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                    if _local(element.tag) not in ROOTS:
                        yield Problem(origin, "", f"the root element is <{_local(element.tag)}>, not "
                                      "<PubmedArticleSet>; this is not a PubMed XML file (efetch with "
                                      "retmode=xml, or a baseline/update file)")
                        return
                continue
            depth -= 1
            if depth != 1:
                continue
            tag = _local(element.tag)
            if tag in ("PubmedArticle", "PubmedBookArticle"):
                number += 1
                yield from _read_article(element, origin, number)
            elif tag == "DeleteCitation":
                yield _deletions(element, origin)
            assert root is not None
            root.clear()  # drop what was read: memory stays at one article
    except DefusedXmlException as exc:
        yield Problem(origin, _after(number), f"the XML declares entities or external references ({exc}); "
                      "they are refused so that an entity expansion cannot exhaust memory. PubMed's own files "
                      "never declare any: download the file again from NCBI.")
    except ParseError as exc:
        yield Problem(origin, _after(number), f"the XML ends early or is malformed ({exc}); {_kept(number)}. "
                      "Download the file again.")
    except (EOFError, OSError, zlib.error) as exc:
        yield Problem(origin, _after(number), f"the compressed file is damaged or ends early ({exc}); "
                      f"{_kept(number)}. Download the file again.")
    else:
        if root is None:
            yield Problem(origin, "", "the document holds no XML element; expected <PubmedArticleSet>")


def _after(number: int) -> str:
    return f"after article {number}" if number else "start"


def _kept(number: int) -> str:
    return "the article before it was read" if number == 1 else f"the {number} articles before it were read"


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]


def _text(element: Element | None) -> str:
    """All the text inside an element, inner markup (<i>, <sup>, MathML) reduced to its text."""
    return clean_text("".join(element.itertext())) if element is not None else ""


def _deletions(element: Element, origin: str) -> Problem:
    pmids = [clean_text(pmid.text) for pmid in element.iter("PMID") if clean_text(pmid.text)]
    shown = ", ".join(pmids[:20]) + (f" and {len(pmids) - 20} more" if len(pmids) > 20 else "")
    return Problem(origin, "DeleteCitation", f"NLM deleted {len(pmids)} citation(s) (PMID {shown}); paperscope "
                   "does not delete stored papers, so remove them yourself if you need to", rejected=False)


def _read_article(element: Element, origin: str, number: int) -> Iterator[Item]:
    book = _local(element.tag) == "PubmedBookArticle"
    citation = element.find("BookDocument" if book else "MedlineCitation")
    article = citation if book else (citation.find("Article") if citation is not None else None)
    pmid = clean_text(citation.findtext("PMID")) if citation is not None else ""
    where = f"PMID {pmid}" if pmid else f"article {number}"
    if citation is None or article is None:
        yield Problem(origin, where, "no MedlineCitation/Article element; the record is incomplete")
        return
    refs: set[str] = set()
    pmid_ref = id_ref("pmid", pmid) if pmid else None
    if pmid_ref is None:
        yield Problem(origin, where, f"no valid PMID (MedlineCitation/PMID is {pmid!r}); every PubMed record "
                      "needs one")
        return
    refs.add(pmid_ref)
    data = element.find("PubmedBookData" if book else "PubmedData")
    doi: str | None = None
    for id_list in (data.find("ArticleIdList") if data is not None else None, citation.find("ArticleIdList")):
        for kind, ref in _article_ids(id_list):
            if kind == "pmid":
                continue  # the record's own PMID is MedlineCitation/PMID; a different one here is an error
            refs.add(ref)
            if kind == "doi" and doi is None:
                doi = ref.removeprefix("doi:")
    for location in article.iter("ELocationID"):
        location_ref = id_ref("doi", location.text or "") if location.get("EIdType") == "doi" else None
        if location_ref:
            refs.add(location_ref)
            doi = doi or location_ref.removeprefix("doi:")
    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    if book and not title:
        title = _text(article.find("Book/BookTitle"))
    if not title:
        yield Problem(origin, where, "no title (ArticleTitle is missing or empty); every paper needs one")
        return
    published = _article_date(article) or _pub_date(article)
    references = sorted({ref for reference in (data.iter("Reference") if data is not None else ())
                         for _, ref in _article_ids(reference.find("ArticleIdList"))} - refs)
    authors, author_ids = _authors(article.find("AuthorList"))
    paper = Paper(
        id=canonical_id(refs) or derived_id(title),
        title=title,
        abstract=_abstract(article.find("Abstract")),
        authors=authors,
        author_ids=author_ids,
        categories=_mesh(citation.find("MeshHeadingList")),
        published=published,
        updated=_ymd(citation.find("DateRevised")),
        abs_url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid_ref.removeprefix('pmid:')}/",
        doi=doi,
        journal_ref=_journal(article.find("Journal")),
        sources=[SOURCE],
        ids=sorted(refs),
        references=references,
    )
    yield Entry(origin, where, paper)


def _article_ids(id_list: Element | None) -> Iterator[tuple[str, str]]:
    if id_list is None:
        return
    for item in id_list.findall("ArticleId"):
        kind = _ID_TYPES.get(item.get("IdType", ""))
        if kind and (ref := id_ref(kind, item.text or "")):
            yield kind, ref


def _abstract(abstract: Element | None) -> str:
    """The abstract as one text; each section of a structured abstract starts with its label."""
    if abstract is None:
        return ""
    parts = []
    for section in abstract.findall("AbstractText"):
        text = _text(section)
        label = clean_text(section.get("Label"))
        if label and text:
            text = f"{label}: {text}"
        if text:
            parts.append(text)
    return " ".join(parts)


def _authors(author_list: Element | None) -> tuple[list[str], list[list[str]]]:
    """The authors' names in order, and each one's ORCID (an `Identifier Source="ORCID"`) as `author_ids`."""
    names: list[str] = []
    ids: list[list[str]] = []
    for author in author_list.findall("Author") if author_list is not None else ():
        if author.get("ValidYN", "Y") == "N":
            continue
        collective = _text(author.find("CollectiveName"))
        last = _text(author.find("LastName"))
        first = _text(author.find("ForeName")) or _text(author.find("Initials"))
        name = collective or " ".join(part for part in (first, last, _text(author.find("Suffix"))) if part)
        if name:
            names.append(name)
            orcids = [author_ref("orcid", _text(identifier)) for identifier in author.findall("Identifier")
                      if identifier.get("Source") == "ORCID" and _text(identifier)]
            ids.append([ref for ref in orcids if ref])
    return names, ids if any(ids) else []


def _mesh(headings: Element | None) -> list[str]:
    """MeSH descriptor names, the major topics (the descriptor's or a qualifier's MajorTopicYN) first."""
    major: list[str] = []
    minor: list[str] = []
    for heading in headings.findall("MeshHeading") if headings is not None else ():
        descriptor = heading.find("DescriptorName")
        name = _text(descriptor)
        if not name or len(name) > MAX_CATEGORY_CHARS:
            continue
        is_major = any(node.get("MajorTopicYN") == "Y" for node in heading)
        (major if is_major else minor).append(name)
    return list(dict.fromkeys(major + minor))


def _journal(journal: Element | None) -> str | None:
    """"Title Volume(Issue)", e.g. "Circulation. Cardiovascular genetics 9(2)"."""
    if journal is None:
        return None
    title = _text(journal.find("Title")) or _text(journal.find("ISOAbbreviation"))
    volume = _text(journal.find("JournalIssue/Volume"))
    issue = _text(journal.find("JournalIssue/Issue"))
    number = volume + (f"({issue})" if issue else "")
    return " ".join(part for part in (title, number) if part) or None


def _article_date(article: Element) -> dt.date | None:
    for date in article.findall("ArticleDate"):
        if (found := _ymd(date)) is not None:
            return found
    return None


def _pub_date(article: Element) -> dt.date | None:
    """The journal issue's date: Year/Month/Day (a Season for the month), or a MedlineDate's start."""
    date = article.find("Journal/JournalIssue/PubDate")
    if date is None:
        return None
    medline = clean_text(date.findtext("MedlineDate"))
    if medline:
        match = _MEDLINE_DATE.match(medline)
        return _date(match["year"], match["month"], match["day"]) if match else None
    return _date(date.findtext("Year"), date.findtext("Month") or date.findtext("Season"), date.findtext("Day"))


def _ymd(element: Element | None) -> dt.date | None:
    if element is None:
        return None
    return _date(element.findtext("Year"), element.findtext("Month"), element.findtext("Day"))


def _date(year: str | None, month: str | None, day: str | None) -> dt.date | None:
    """A date from PubMed's parts; a missing or unreadable month or day counts as the first."""
    try:
        number = int((year or "").strip())
    except ValueError:
        return None
    month_text = (month or "").strip().lower()
    month_number = (int(month_text) if month_text.isdigit() else
                    _MONTHS.get(month_text[:3]) or _SEASONS.get(month_text) or 1)
    day_number = int(day.strip()) if day and day.strip().isdigit() else 1
    for candidate in ((number, month_number, day_number), (number, month_number, 1), (number, 1, 1)):
        try:
            return dt.date(*candidate)
        except (ValueError, OverflowError):  # OverflowError: a year past what a C int holds
            continue
    return None
