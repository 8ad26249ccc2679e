"""Property-based fuzzing (hypothesis) of every parser and of the search query path.

The property everywhere: whatever the input, no uncaught exception. A parser yields entries and
problems (a problem names where and why) or raises a PaperscopeError for a whole file it cannot read;
every accepted paper can be stored on both backends (no NUL, valid Unicode, an id that fits); a search
returns a list or raises InputError with a message.

Inputs are built from the formats' own shapes (templates filled with hostile text, then cut and
corrupted), which reaches far deeper into a parser than random bytes do.

CI runs a bounded number of cases (profile "ci"); a long run is:
    PAPERSCOPE_FUZZ_PROFILE=long python -m pytest tests/test_fuzz.py -q
(PAPERSCOPE_FUZZ_EXAMPLES=N overrides the number of cases per test).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperscope.config import Settings
from paperscope.errors import InputError, PaperscopeError
from paperscope.index.keyword import MAX_QUERY_TERMS, parse_user_query
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.detect import FORMATS, detect_format, read_text
from paperscope.ingest.pipeline import READERS, Ingester
from paperscope.ingest.validate import check_entry
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store, open_store
from tests.conftest import BACKENDS, fresh_database

PROFILES = {"ci": 60, "long": 5000}
PROFILE = os.environ.get("PAPERSCOPE_FUZZ_PROFILE", "ci")
EXAMPLES = int(os.environ.get("PAPERSCOPE_FUZZ_EXAMPLES") or PROFILES[PROFILE])
# CI sees the same cases every run (no flaky failures); a long run explores new ones each time.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=PROFILE == "ci",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
# End-to-end cases (file -> detect -> parse -> validate -> store) cost a transaction each.
FUZZ_STORE = settings(FUZZ, max_examples=max(10, EXAMPLES // 3))

# Text a record may hold: any code point (surrogates and controls included), with hostile pieces mixed in.
HOSTILE = ["\x00", "\ud800", "\udfff", "\x1f", "\u2028", "\ufeff", "\r\n", "\t", "%", "_", "\\", "{", "}", "@",
           "\"", "'", "<", "&", "]]>", "$", "\\'{e}", "{\\\"o}", "\\url{x}", "~", "#", "*", "\u0301",
           "arXiv:2503.11731v2", "https://arxiv.org/abs/hep-th/9901001", "title-", "..", "-" * 70, "1e400",
           "2025-13-45", "9999-99-99T99:99:99Z", "Mon, 32 Foo 2025", " and ", "others", ",", ";"]
any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=8), max_size=8).map("".join),
)
long_text = st.one_of(any_text, st.integers(100, 3000).map(lambda n: "word " * n))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """Leave the document whole, or cut it, flip bytes in it, or splice junk into it."""
    how = draw(st.sampled_from(["whole", "whole", "cut", "flip", "splice"]))
    if not data or how == "whole":
        return data
    at = draw(st.integers(0, len(data) - 1))
    if how == "cut":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    return data[:at] + draw(st.binary(max_size=16)) + data[at:]


def encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # lone surrogates reach the parser as invalid UTF-8


# Format-shaped documents -----------------------------------------------------------------------------

JSONL_FIELDS = ["id", "title", "abstract", "summary", "authors", "authors_parsed", "categories", "versions",
                "update_date", "published", "updated", "doi", "comments", "journal-ref", "submitter"]


@st.composite
def jsonl_documents(draw: st.DrawFn) -> bytes:
    plausible = {
        "id": st.sampled_from(["2503.11731", "2503.11731v3", "hep-th/9901001", "x" * 65, "a b", "", 7, -1])
        | any_text,
        "title": long_text, "abstract": long_text, "summary": long_text,
        "authors": st.lists(any_text, max_size=5) | any_text,
        "categories": st.lists(any_text, max_size=4) | any_text,
        "versions": st.lists(st.fixed_dictionaries({"version": any_text, "created": any_text}), max_size=3),
        "update_date": any_text, "published": any_text,
    }
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        record = {key: draw(plausible.get(key, json_values) | json_values)
                  for key in draw(st.lists(st.sampled_from(JSONL_FIELDS), max_size=8, unique=True))}
        value: Any = record if draw(st.booleans()) else draw(json_values)
        line = json.dumps(value, ensure_ascii=draw(st.booleans()))
        lines.append(line)
    return draw(corrupted(encoded("\n".join(lines) + "\n")))


ATOM_ENTRY = """<entry><id>{id}</id><updated>{updated}</updated><published>{published}</published>
<title>{title}</title><summary>{summary}</summary><author><name>{author}</name></author>
<author><name>{author2}</name></author><arxiv:doi>{doi}</arxiv:doi><arxiv:comment>{comment}</arxiv:comment>
<link href="{link}" rel="alternate" type="text/html"/><link title="pdf" href="{link}" rel="related"/>
<arxiv:primary_category term="{category}"/><category term="{category}"/></entry>"""


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    def field() -> str:
        value = draw(long_text)
        return escape(value) if draw(st.booleans()) else value  # unescaped text breaks the XML on purpose

    entries = []
    for _ in range(draw(st.integers(0, 3))):
        entries.append(ATOM_ENTRY.format(
            id=draw(st.sampled_from(["http://arxiv.org/abs/2503.11731v1", "http://arxiv.org/api/errors#x",
                                     "hep-th/9901001", ""]) | st.builds(field)),
            updated=field(), published=field(), title=field(), summary=field(), author=field(),
            author2=field(), doi=field(), comment=field(), link=escape(draw(any_text), {'"': "&quot;"}),
            category=escape(draw(any_text), {'"': "&quot;"})))
    prolog = draw(st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>\n',
                                   '<!DOCTYPE feed [<!ENTITY a "aaaa">]>\n']))
    document = (f'{prolog}<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"'
                f' xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
                f"<opensearch:totalResults>{escape(draw(any_text))}</opensearch:totalResults>"
                f"{''.join(entries)}</feed>")
    return draw(corrupted(encoded(document)))


@st.composite
def hf_documents(draw: st.DrawFn) -> bytes:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    items = []
    for _ in range(draw(st.integers(0, 3))):
        paper = {"id": maybe(st.sampled_from(["2503.11731", "bad id", ""])), "title": maybe(long_text),
                 "summary": maybe(long_text), "authors": maybe(st.lists(st.fixed_dictionaries({"name": any_text}))),
                 "publishedAt": maybe(st.sampled_from(["2025-03-18T00:00:00.000Z", "yesterday"])),
                 "upvotes": maybe(st.integers()), "ai_keywords": maybe(st.lists(any_text)),
                 "githubRepo": maybe(any_text), "githubStars": maybe(st.integers()),
                 "submittedOnDailyBy": maybe(st.fixed_dictionaries({"fullname": any_text}))}
        item = {"paper": paper, "publishedAt": maybe(any_text), "title": maybe(any_text)}
        items.append(item if draw(st.integers(0, 9)) else draw(json_values))
    document: Any = items if draw(st.integers(0, 5)) else (items[0] if items else {})
    return draw(corrupted(encoded(json.dumps(document, ensure_ascii=draw(st.booleans()), indent=draw(
        st.sampled_from([None, 2]))))))


BIBTEX_FIELDS = ["title", "author", "year", "month", "eprint", "archiveprefix", "journal", "booktitle", "note",
                 "url", "doi", "abstract", "date", "howpublished"]


@st.composite
def bibtex_documents(draw: st.DrawFn) -> bytes:
    latexish = st.lists(st.sampled_from(HOSTILE + ["{\\'e}", "\\emph{x}", "$x^2$", "--", "\\&", "\\%", "{", "}",
                                                   "\\c{c}", "\\v", "\\\\", "Lovelace, Ada", "{IEEE}"])
                        | any_text, max_size=10).map("".join)
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["article", "misc", "inproceedings", "string", "comment", "preamble", "x"]))
        key = draw(st.sampled_from(["key1", "", "a,b", "k{"]) | any_text)
        quotes = st.sampled_from(["{%s}", '"%s"', "%s"])
        body = ",\n".join(f"  {name} = " + draw(quotes) % draw(latexish)
                          for name in draw(st.lists(st.sampled_from(BIBTEX_FIELDS), max_size=7)))
        blocks.append(f"@{kind}{{{key},\n{body}\n}}")
    text = draw(st.sampled_from(["", "% exported\n", "junk before\n"])) + "\n\n".join(blocks)
    return draw(corrupted(encoded(text)))


@st.composite
def listing_documents(draw: st.DrawFn) -> bytes:
    paragraph = st.one_of(any_text, long_text.map(lambda t: t + " we propose a method. " * 15),
                          st.sampled_from(["Subscribe", "12 upvotes", "Mar 18, 2025", "arXiv:2503.11731",
                                           "https://arxiv.org/abs/2503.11731", "Submitted by ada"]))
    blocks = draw(st.lists(paragraph, max_size=8))
    separator = draw(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n \n"]))
    return draw(corrupted(encoded(separator.join(blocks))))


@st.composite
def s2_documents(draw: st.DrawFn) -> bytes:
    """Semantic Scholar Graph API answers: a search or references page, or a batch array with nulls."""
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    papers = []
    for _ in range(draw(st.integers(0, 3))):
        paper = {"paperId": maybe(st.sampled_from(["7cbc2a7843411a1768ab762930707af0a3c33a19", "x", ""])),
                 "externalIds": maybe(st.fixed_dictionaries({
                     "ArXiv": st.sampled_from(["2201.11990", "bad"]) | any_text,
                     "DOI": st.sampled_from(["10.1038/X", "https://doi.org/10.1/2", "doi:"]) | any_text,
                     "CorpusId": st.integers() | any_text, "PubMed": any_text, "PubMedCentral": any_text})),
                 "title": maybe(long_text), "abstract": maybe(long_text), "year": maybe(st.integers()),
                 "publicationDate": maybe(st.sampled_from(["2022-01-28", "2022", "soon"])),
                 "authors": maybe(st.lists(st.fixed_dictionaries({"name": any_text}), max_size=3)),
                 "fieldsOfStudy": maybe(st.lists(any_text, max_size=3)),
                 "s2FieldsOfStudy": maybe(st.lists(st.fixed_dictionaries({"category": any_text}), max_size=3)),
                 "journal": maybe(st.fixed_dictionaries({"name": any_text, "volume": any_text, "pages": any_text})),
                 "venue": maybe(any_text), "citationCount": maybe(st.integers()),
                 "openAccessPdf": maybe(st.fixed_dictionaries({"url": any_text})), "url": maybe(any_text)}
        papers.append(paper if draw(st.integers(0, 9)) else draw(json_values))
    shape = draw(st.sampled_from(["search", "batch", "references"]))
    document: Any = (papers if shape == "batch" else
                     {"total": len(papers), "offset": 0, "data": papers} if shape == "search" else
                     {"offset": 0, "data": [{"contexts": [], "citedPaper": paper} for paper in papers]})
    return draw(corrupted(encoded(json.dumps(document, ensure_ascii=draw(st.booleans())))))


PUBMED_ARTICLE = """<PubmedArticle><MedlineCitation><PMID Version="1">{pmid}</PMID><DateRevised><Year>{year}</Year>
<Month>{month}</Month><Day>{day}</Day></DateRevised><Article><Journal><JournalIssue><Volume>{text}</Volume><PubDate>
<MedlineDate>{date}</MedlineDate></PubDate></JournalIssue><Title>{text}</Title></Journal>
<ArticleTitle>{title}</ArticleTitle><ELocationID EIdType="doi">{doi}</ELocationID><Abstract>
<AbstractText Label="{text}">{text}</AbstractText><AbstractText>{title}</AbstractText></Abstract>
<AuthorList><Author><LastName>{text}</LastName><ForeName>{text}</ForeName></Author><Author><CollectiveName>{text}
</CollectiveName></Author></AuthorList><ArticleDate><Year>{year}</Year><Month>{month}</Month><Day>{day}</Day>
</ArticleDate></Article><MeshHeadingList><MeshHeading><DescriptorName MajorTopicYN="Y">{text}</DescriptorName>
</MeshHeading></MeshHeadingList></MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="pmc">{text}</ArticleId>
</ArticleIdList><ReferenceList><Reference><ArticleIdList><ArticleId IdType="doi">{doi}</ArticleId></ArticleIdList>
</Reference></ReferenceList></PubmedData></PubmedArticle>"""


@st.composite
def pubmed_documents(draw: st.DrawFn) -> bytes:
    def field() -> str:
        value = draw(long_text)
        return escape(value) if draw(st.booleans()) else value  # unescaped text breaks the XML on purpose

    articles = [PUBMED_ARTICLE.format(
        pmid=draw(st.sampled_from(["27094199", "0", "1234567890", ""]) | st.builds(field)), title=field(),
        text=field(), doi=draw(st.sampled_from(["10.1038/ng.3259", "10.1/x"]) | st.builds(field)),
        year=draw(st.sampled_from(["2016", "0", "99999"]) | st.builds(field)),
        month=draw(st.sampled_from(["Apr", "02", "13", "Spring"]) | st.builds(field)),
        day=draw(st.sampled_from(["31", "0"]) | st.builds(field)),
        date=draw(st.sampled_from(["1998 Dec-1999 Jan", "2000 Spring"]) | st.builds(field)))
        for _ in range(draw(st.integers(0, 3)))]
    deletion = draw(st.sampled_from(["", "<DeleteCitation><PMID>1</PMID></DeleteCitation>"]))
    prolog = draw(st.sampled_from(["", '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "x" "y.dtd">\n',
                                   '<!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaa">]>\n']))
    return draw(corrupted(encoded(f"{prolog}<PubmedArticleSet>{''.join(articles)}{deletion}</PubmedArticleSet>")))


@st.composite
def biorxiv_documents(draw: st.DrawFn) -> bytes:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    records = [{"doi": maybe(st.sampled_from(["10.1101/2026.01.05.600001", "NA", ""])), "title": maybe(long_text),
                "authors": maybe(any_text), "date": maybe(st.sampled_from(["2026-01-05", "2026-13-45"])),
                "version": maybe(st.sampled_from(["1", "0", "99999"])), "category": maybe(any_text),
                "abstract": maybe(long_text), "published": maybe(st.sampled_from(["NA", "10.1038/x1", ""])),
                "server": maybe(st.sampled_from(["biorxiv", "medRxiv"]))}
               for _ in range(draw(st.integers(0, 3)))]
    document = {"messages": [{"status": "ok", "cursor": 0, "total": maybe(st.integers())}],
                "collection": records if draw(st.integers(0, 5)) else draw(json_values)}
    return draw(corrupted(encoded(json.dumps(document, ensure_ascii=draw(st.booleans())))))


@st.composite
def openreview_documents(draw: st.DrawFn) -> bytes:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    def wrapped(strategy: st.SearchStrategy[Any]) -> Any:
        return {"value": maybe(strategy)} if draw(st.integers(0, 5)) else maybe(strategy)

    notes = [{"id": maybe(st.sampled_from(["aB3xYz9Qw1", "bad id", ""])), "forum": maybe(any_text),
              "cdate": maybe(st.integers()), "pdate": maybe(st.integers() | st.floats()),
              "content": {"title": wrapped(long_text), "abstract": wrapped(long_text),
                          "authors": wrapped(st.lists(any_text)), "keywords": wrapped(st.lists(any_text)),
                          "venue": wrapped(any_text), "venueid": wrapped(any_text), "pdf": wrapped(any_text),
                          "primary_area": wrapped(any_text)} if draw(st.integers(0, 5)) else draw(json_values)}
             for _ in range(draw(st.integers(0, 3)))]
    document = {"notes": notes, "count": maybe(st.integers())}
    return draw(corrupted(encoded(json.dumps(document, ensure_ascii=draw(st.booleans())))))


JATS_PIECES = ["<jats:p>", "</jats:p>", "<jats:sec><jats:title>Methods</jats:title>", "</jats:sec>",
               "<jats:italic>x</jats:italic>", '<mml:math alttext="x^2"><mml:mi>x</mml:mi></mml:math>',
               "<mml:math><mml:msup><mml:mi>n</mml:mi><mml:mn>2</mml:mn></mml:msup></mml:math>", "&nbsp;", "&amp;",
               "<unknown:tag>", "<", "&bogus;", '<!DOCTYPE x [<!ENTITY a "aaaa">]>',
               "<jats:tex-math>$a$</jats:tex-math>"]
markup = st.lists(st.sampled_from(JATS_PIECES) | any_text, max_size=8).map("".join)


@st.composite
def openalex_documents(draw: st.DrawFn) -> bytes:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    works = []
    for number in range(draw(st.integers(0, 3))):
        words = draw(st.lists(any_text, max_size=6))
        work = {"id": maybe(st.sampled_from([f"https://openalex.org/W{number + 1}", "W", ""])),
                "title": maybe(markup | long_text), "doi": maybe(st.sampled_from(["https://doi.org/10.1234/X", "x"])),
                "ids": maybe(st.fixed_dictionaries({"pmid": any_text, "pmcid": any_text})),
                "abstract_inverted_index": maybe(st.just({w: [i] for i, w in enumerate(words)})),
                "authorships": maybe(st.lists(st.fixed_dictionaries({"author": st.fixed_dictionaries(
                    {"display_name": any_text})}), max_size=3)),
                "publication_date": maybe(any_text), "cited_by_count": maybe(st.integers()),
                "referenced_works": maybe(st.lists(any_text, max_size=3)),
                "primary_topic": maybe(st.fixed_dictionaries({"display_name": long_text})),
                "locations": maybe(st.lists(st.fixed_dictionaries({"landing_page_url": any_text}), max_size=2))}
        works.append(work if draw(st.integers(0, 9)) else draw(json_values))
    if draw(st.booleans()):  # the snapshot's JSON Lines
        text = "".join(json.dumps(work, ensure_ascii=draw(st.booleans())) + "\n" for work in works)
    else:
        text = json.dumps({"meta": {"count": len(works)}, "results": works}, indent=draw(st.sampled_from([None, 2])))
    return draw(corrupted(encoded(text)))


@st.composite
def crossref_documents(draw: st.DrawFn) -> bytes:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    items = []
    for _ in range(draw(st.integers(0, 3))):
        item = {"DOI": maybe(st.sampled_from(["10.1234/ABC", "https://doi.org/10.1/x", "x"])),
                "type": maybe(st.sampled_from(["journal-article", "journal", "journal-issue", "posted-content"])),
                "title": maybe(st.lists(markup, max_size=2)), "abstract": maybe(markup),
                "author": maybe(st.lists(st.fixed_dictionaries({"given": any_text, "family": any_text}), max_size=3)),
                "subject": maybe(st.lists(any_text, max_size=3)), "container-title": maybe(st.lists(any_text)),
                "published": maybe(st.fixed_dictionaries({"date-parts": st.lists(st.lists(st.integers(), max_size=3),
                                                                                  max_size=2)})),
                "reference": maybe(st.lists(st.fixed_dictionaries({"DOI": any_text}), max_size=3)),
                "relation": maybe(st.fixed_dictionaries({"has-preprint": st.lists(st.fixed_dictionaries(
                    {"id-type": st.just("doi"), "id": any_text}), max_size=2)})),
                "is-referenced-by-count": maybe(st.integers())}
        items.append(item if draw(st.integers(0, 9)) else draw(json_values))
    document: Any = {"status": "ok", "message-type": "work-list", "message": {"items": items}}
    if not draw(st.integers(0, 3)):
        document = {"status": "ok", "message-type": "work", "message": items[0] if items else {}}
    return draw(corrupted(encoded(json.dumps(document, ensure_ascii=draw(st.booleans())))))


@st.composite
def csljson_documents(draw: st.DrawFn) -> bytes:
    """CSL-JSON as Zotero exports it: an array of items (or the Web API's {"items": [...]}), fields hostile."""
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy | json_values)

    date = st.fixed_dictionaries({"date-parts": st.lists(st.lists(st.integers() | any_text, max_size=3), max_size=2)})
    items = []
    for _ in range(draw(st.integers(0, 3))):
        item = {"id": maybe(any_text), "type": maybe(st.sampled_from(["article-journal", "article", "chapter"])),
                "title": maybe(markup), "abstract": maybe(markup), "container-title": maybe(any_text),
                "author": maybe(st.lists(st.fixed_dictionaries({"given": any_text, "family": any_text})
                                         | st.fixed_dictionaries({"literal": any_text}), max_size=3)),
                "issued": maybe(date | st.fixed_dictionaries({"raw": any_text})),
                "DOI": maybe(st.sampled_from(["10.1234/ABC", "10.48550/arXiv.2503.11731", "x"]) | any_text),
                "URL": maybe(st.sampled_from(["https://arxiv.org/abs/2503.11731", "ftp://x"]) | any_text),
                "number": maybe(any_text), "note": maybe(any_text), "PMID": maybe(any_text),
                "PMCID": maybe(any_text), "volume": maybe(any_text), "page": maybe(any_text)}
        items.append(item if draw(st.integers(0, 9)) else draw(json_values))
    document: Any = items if draw(st.integers(0, 4)) else {"items": items}
    return draw(corrupted(encoded(json.dumps(document, ensure_ascii=draw(st.booleans()),
                                             indent=draw(st.sampled_from([None, 2]))))))


RIS_TAGS = ["TI", "T1", "AU", "A1", "PY", "DA", "Y1", "DO", "UR", "AB", "N2", "T2", "JO", "VL", "IS", "SP", "EP",
            "N1", "AN", "M1", "KW", "XX"]


@st.composite
def ris_documents(draw: st.DrawFn) -> bytes:
    """RIS records (some without an end line, some with continuation lines), values hostile."""
    value = st.sampled_from(["2017/06/12/", "2017///", "Vaswani, Ashish", "arXiv: 2503.11731", "10.1234/x",
                             "https://arxiv.org/abs/2503.11731", "<p>a note</p>", ""]) | any_text
    records = []
    for _ in range(draw(st.integers(0, 4))):
        lines = [f"TY  - {draw(st.sampled_from(['JOUR', 'CHAP', 'GEN', 'PREPRINT', 'x']))}"]
        for tag in draw(st.lists(st.sampled_from(RIS_TAGS), max_size=8)):
            lines.append(f"{tag}  - {draw(value)}")
            if not draw(st.integers(0, 6)):
                lines.append(draw(any_text))  # a continuation (or stray) line
        if draw(st.integers(0, 5)):
            lines.append("ER  - ")
        records.append("\n".join(lines))
    header = draw(st.sampled_from(["", "Provider: x\n", "junk\n"]))
    separator = draw(st.sampled_from(["\n\n", "\n", "\r\n"]))
    return draw(corrupted(encoded(header + separator.join(records))))


DOCUMENTS = {"jsonl": jsonl_documents(), "atom": atom_documents(), "hf": hf_documents(),
             "bibtex": bibtex_documents(), "listing": listing_documents(), "s2": s2_documents(),
             "pubmed": pubmed_documents(), "biorxiv": biorxiv_documents(), "openreview": openreview_documents(),
             "openalex": openalex_documents(), "crossref": crossref_documents(),
             "csljson": csljson_documents(), "ris": ris_documents()}
assert set(DOCUMENTS) == set(FORMATS)
any_document = st.one_of(*DOCUMENTS.values(), st.binary(max_size=300))


# What holds for every parsed record ------------------------------------------------------------------

def assert_storable(paper: Paper) -> None:
    """What any backend needs of a paper: PostgreSQL refuses NUL in text and invalid UTF-8, ids fit."""
    assert paper.id and len(paper.id) <= 64, paper.id
    assert paper.title
    texts = [paper.id, paper.title, paper.abstract, *paper.authors, *paper.categories, *paper.ai_keywords,
             *(v for v in (paper.doi, paper.comment, paper.journal_ref, paper.abs_url, paper.pdf_url,
                           paper.github_repo, paper.project_page, paper.submitter) if v)]
    for text in texts:
        assert "\x00" not in text, (paper.id, text)
        text.encode("utf-8")  # raises on a lone surrogate
    assert all(len(c) <= 64 for c in paper.categories[:1]), paper.categories  # primary_category is VARCHAR(64)


def parse(fmt: str, data: bytes) -> list[Entry | Problem]:
    try:
        items = list(READERS[fmt](io.BytesIO(data), f"fuzz.{fmt}"))
    except PaperscopeError as exc:  # a whole file it cannot read: said so in words
        assert str(exc)
        return []
    for item in items:
        assert isinstance(item, Entry | Problem), item
        if isinstance(item, Problem):
            assert item.message and item.origin == f"fuzz.{fmt}"
            continue
        paper, problems = check_entry(item)
        if paper is not None:
            assert_storable(paper)
        for problem in problems:
            assert problem.message
    return items


@pytest.mark.parametrize("fmt", FORMATS)
def test_parsers_survive_their_own_format_corrupted(fmt: str) -> None:
    @FUZZ
    @given(data=DOCUMENTS[fmt])
    def check(data: bytes) -> None:
        parse(fmt, data)

    check()


@pytest.mark.parametrize("fmt", FORMATS)
def test_parsers_survive_any_other_input(fmt: str) -> None:
    @FUZZ
    @given(data=any_document)
    def check(data: bytes) -> None:
        parse(fmt, data)

    check()


@FUZZ
@given(data=any_document)
def test_detection_names_a_format_or_says_why_not(data: bytes) -> None:
    try:
        assert detect_format(data[:4096], "fuzz") in FORMATS
    except InputError as exc:
        assert "fuzz" in str(exc)
    try:
        assert isinstance(read_text(io.BytesIO(data), "fuzz"), str)
    except InputError as exc:
        assert "fuzz" in str(exc)


# The whole ingest path into a real store, on both backends -------------------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with fresh_database(str(request.param), tmp_path_factory.mktemp("fuzz")) as url, open_store(url) as store:
        yield store


@pytest.mark.search_backend  # its store is the one search_engine indexes (the module's Lite file on Milvus Lite)
def test_ingesting_any_file_stores_or_reports_never_crashes(fuzz_store: Store, tmp_path: Path) -> None:
    ingester = Ingester(fuzz_store, Settings(database_url="unused.db"), batch_size=3)

    @FUZZ_STORE
    @given(data=any_document, name=st.sampled_from(["in.jsonl", "in.xml", "in.json", "in.bib", "in.txt"]))
    def check(data: bytes, name: str) -> None:
        path = tmp_path / name
        path.write_bytes(data)
        before = fuzz_store.count_papers()
        report = ingester.ingest(str(path))
        assert all(message for message in report.failed_sources)
        assert fuzz_store.count_papers() == before + report.added

    check()


# The search query path -------------------------------------------------------------------------------

@given(text=any_text | long_text)
@FUZZ
def test_query_parsing_keeps_words_only(text: str) -> None:
    parsed = parse_user_query(text)
    terms = parsed.words + parsed.prefixes + [w for phrase in parsed.phrases for w in phrase]
    assert len(terms) <= MAX_QUERY_TERMS
    assert '"' not in parsed.as_query_string().replace('" "', "").strip('"') or parsed.phrases


@pytest.fixture(scope="module")
def search_engine(fuzz_store: Store, tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    papers = [Paper(id=f"2501.{n:05d}", title=title, abstract=abstract, authors=[author], categories=[cat],
                    published=dt.date(2025, 1, n), sources=["jsonl"])
              for n, (title, abstract, author, cat) in enumerate([
                  ("Novel Class Discovery", "Estimating the number of novel classes.", "Colin Troisemaine", "cs.LG"),
                  ("Swapping Cluster Assignments", "Contrastive views of an image.", "Mathilde Caron", "cs.CV"),
                  ("Graph Clustering", "Noisy labels diffuse over a graph.", "Artur Back", "cs.SI")], start=1)]
    fuzz_store.upsert_papers(papers)
    folder = tmp_path_factory.mktemp("fuzz-index")
    engine = SearchEngine(fuzz_store, Settings(database_url="unused.db", embedding_model="hashing",
                                               index_dir=str(folder)))
    index_papers(engine)
    return engine


@pytest.mark.search_backend  # reaches search (the Lite pass of .ci/run); the parser tests above never do
def test_any_query_with_any_filter_answers_or_says_why(search_engine: SearchEngine) -> None:
    filters = st.builds(PaperFilter, published_from=st.none() | st.dates(), published_to=st.none() | st.dates(),
                        category=st.none() | any_text, author=st.none() | any_text)

    @FUZZ
    @given(query=any_text | long_text, mode=st.sampled_from(["keyword", "semantic", "hybrid"]), filters=filters,
           limit=st.integers(1, 50), offset=st.integers(0, 20))
    def check(query: str, mode: Any, filters: PaperFilter, limit: int, offset: int) -> None:
        try:
            hits = search_engine.search(query, mode=mode, limit=limit, offset=offset, filters=filters)
        except InputError as exc:
            assert "empty" in str(exc)
            return
        assert len(hits) <= limit and len({hit.id for hit in hits}) == len(hits)

    check()


# Found by fuzzing: one regression test each ---------------------------------------------------------

def test_a_nul_character_rejects_the_record_and_stores_the_rest(store: Store, tmp_path: Path) -> None:
    """Found: a listing title "\\x00]]>" reached the store, and PostgreSQL refuses NUL in text, so the
    whole batch (every good paper in it) failed on PostgreSQL while SQLite stored the garbage."""
    listing = tmp_path / "listing.txt"
    prose = "We propose a method and we measure it on many data sets with care. " * 5
    listing.write_bytes(f"\x00]]>\n\n{prose}\n\nA Good Title\n\n{prose}\n".encode())
    jsonl = tmp_path / "papers.jsonl"
    jsonl.write_text('{"id": "2501.00001", "title": "Fine", "abstract": "Kept."}\n'
                     '{"id": "2501.00002", "title": "Broken", "abstract": "a\\u0000b"}\n', encoding="utf-8")
    report = Ingester(store, Settings(database_url="unused.db")).ingest(str(listing), str(jsonl))
    assert (report.added, report.rejected) == (2, 2)
    messages = [str(p) for p in report.problems if p.rejected]
    assert f"{listing}:line 1: rejected: field 'title' holds a NUL character" in messages[0]
    assert f"{jsonl}:line 2: rejected: field 'abstract' holds a NUL character" in messages[1]
    assert {p.title for p in store.iter_papers()} == {"A Good Title", "Fine"}


def test_a_lone_surrogate_in_a_filter_matches_nothing(store: Store) -> None:
    """Found: an author filter '\\ud800' (what an undecodable byte in argv becomes) crashed the store
    with UnicodeEncodeError; a NUL in a filter crashed PostgreSQL."""
    store.upsert_papers([Paper(id="2501.00001", title="A", authors=["Ada Lovelace"], sources=["jsonl"])])
    for bad in ("\ud800", "ada\x00", "\udcff"):
        assert store.filter_ids(PaperFilter(author=bad)) == set()
        assert store.filter_ids(PaperFilter(category=bad)) == set()
    assert store.filter_ids(PaperFilter(author="lovelace")) == {"2501.00001"}


def test_invalid_unicode_and_overlong_categories_are_rejected_with_the_field(store: Store, tmp_path: Path) -> None:
    """Found with the storability check: a primary category over 64 characters fits SQLite but fails the
    whole batch on PostgreSQL (VARCHAR(64)); text with a lone surrogate fails on both."""
    from paperscope.ingest.base import Entry

    long_category = Paper(id="2501.00003", title="T", categories=["x" * 65], sources=["jsonl"])
    surrogate = Paper(id="2501.00004", title="T", authors=["Ada \udcff"], sources=["jsonl"])
    for paper, field in ((long_category, "primary category"), (surrogate, "field 'authors'")):
        kept, problems = check_entry(Entry("f.jsonl", "line 1", paper))
        assert kept is None and field in problems[0].message
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"id": "2501.00005", "title": "T", "categories": "' + "y" * 80 + ' cs.LG"}\n'
                     '{"id": "2501.00006", "title": "U", "categories": "cs.LG"}\n', encoding="utf-8")
    report = Ingester(store, Settings(database_url="unused.db")).ingest(str(jsonl))
    assert (report.added, report.rejected) == (1, 1) and store.count_papers() == 1


def test_authors_parsed_with_a_number_is_one_rejected_line_not_a_crash(tmp_path: Path) -> None:
    """Found: {"authors_parsed": [[null, 1]]} raised TypeError out of the JSON Lines reader, which
    stopped the whole file at that line instead of rejecting the one record."""
    lines = (b'{"id": "2503.11731", "title": "T", "authors_parsed": [[null, 1]]}\n'
             b'{"id": "2503.11732", "title": "U", "authors_parsed": [["Lovelace", "Ada", null]]}\n')
    items = parse("jsonl", lines)
    assert isinstance(items[0], Problem) and "field 'authors_parsed'" in items[0].message
    assert isinstance(items[1], Entry) and items[1].paper.authors == ["Ada Lovelace"]


def test_titles_without_words_and_without_an_id_are_rejected(store: Store, tmp_path: Path) -> None:
    """Found: every title with no letters or digits ("]]>", "***") got the same derived id (the hash of an
    empty key), so unrelated garbage records merged into one paper."""
    from paperscope.ids import derived_id

    assert derived_id("]]>") == derived_id("***")  # the cause: the key is empty for both
    jsonl = tmp_path / "untitled.jsonl"
    jsonl.write_text('{"title": "]]>"}\n{"title": "***"}\n{"title": "A Real Title"}\n'
                     '{"id": "2501.00009", "title": "∞"}\n', encoding="utf-8")
    report = Ingester(store, Settings(database_url="unused.db")).ingest(str(jsonl))
    assert (report.added, report.rejected) == (2, 2)  # a real id needs no words in its title
    assert all("no letters or digits" in p.message for p in report.problems if p.rejected)
