"""BibTeX files as Zotero, Google Scholar, DBLP or arXiv export them, read with bibtexparser v2.

Every entry with a title becomes a paper located as "line N" (where its `@type{` starts). Its id is
the arXiv id when the entry names one anywhere (eprint, URL, arXiv's DOI, "arXiv preprint arXiv:..."),
otherwise an id derived from the title, which the store links to a paper it already has with the
same title and first author.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from bibtexparser import model
from bibtexparser.entrypoint import parse_string
from bibtexparser.library import Library
from bibtexparser.middlewares import (
    BlockMiddleware,
    LatexDecodingMiddleware,
    NormalizeFieldKeys,
    default_parse_stack,
)
from bibtexparser.middlewares.middleware import Middleware
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from pylatexenc.latex2text import (  # type: ignore[import-untyped]
    LatexNodes2Text,
    MacroTextSpec,
    get_default_latex_context_db,
)

from paperscope.ids import derived_id, find_arxiv_id, parse_arxiv_id
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import arxiv_links, clean_text
from paperscope.models import Paper

SOURCE = "bibtex"
Fields = Callable[[str], str]  # an entry's field by name, as clean text ("" when absent)

# Fields copied as written: in URLs and DOIs "%" and "~" are characters, not LaTeX.
_VERBATIM_FIELDS = {"url", "doi", "eprint", "file", "archiveprefix", "eprinttype", "primaryclass"}
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(\S+)", re.IGNORECASE)
_BARE_NEW_ID = re.compile(r"\b\d{4}\.\d{4,5}(?:v\d+)?\b")
_NOT_A_VENUE = re.compile(r"\barxiv\b|\bcorr\b|\bpreprint\b|\be-?prints?\b", re.IGNORECASE)
_ARXIV_ONLY_NOTE = re.compile(r"^arxiv:\s*\S+(?:\s*\[[^\]]*\])?\.?$", re.IGNORECASE)
_CATEGORY = re.compile(r"^[a-z\-]+(?:\.[A-Za-z\-]+)?$")
_ENTRY_KEY = re.compile(r"\s*@\s*\w+\s*[{(]\s*([^,\s{}()=]+)\s*,")
_LATEX_ESCAPE = re.compile(r"\\([_%&#$~])")
_BARE_PERCENT = re.compile(r"(?<!\\)%")
# What LaTeX turns into other text: macros, groups, math, ties, comments, dash and quote ligatures.
_LATEX_MARKUP = re.compile(r"[\\{}$~%]|--|``|''")
_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for name in names}


def read_bibtex(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers from a BibTeX file; @comment, @string and @preamble blocks are skipped.

    Field mapping: title and abstract with braces and LaTeX turned into Unicode; authors in order as
    "First von Last Jr" ("others" dropped); `published` from year, month and day (or biblatex `date`):
    a year alone gives January 1st of that year, a year and month the 1st of that month (left out for
    an arXiv paper, whose arXiv record carries the exact date); `journal_ref`
    from journal or booktitle with volume, number, pages and year, unless the "venue" is arXiv itself;
    `doi` unless it is arXiv's own (10.48550/arXiv.ID), which gives the arXiv id instead; `comment` from
    `note` unless it only repeats the arXiv id. Keywords are ignored.

    Yields a rejected Problem for an entry without a title or a block bibtexparser cannot parse (the
    entries around it are still read), and a warning for a date it cannot read (the paper is kept
    without one). Raises InputError if the bytes are not UTF-8/UTF-16 text.
    """
    text = read_text(stream, origin)
    with _quiet_bibtexparser():  # the whole file is parsed at once anyway
        library = parse_string(text, parse_stack=_parse_stack())
        items = [item for block in library.blocks for item in _read_block(block, library, text, origin)]
    yield from items


def _read_block(block: model.Block, library: Library, text: str, origin: str) -> Iterator[Item]:
    where = f"line {(block.start_line or 0) + 1}"  # bibtexparser counts lines from 0
    if isinstance(block, model.Entry):
        yield from _read_entry(block, origin, where)
    elif isinstance(block, model.DuplicateBlockKeyBlock):
        # A key used twice: harmless here (ids come from the content), so read the entry anyway.
        yield from _read_recovered(block, library, origin, where, warning=None)
    elif isinstance(block, model.DuplicateFieldKeyBlock):
        keys = ", ".join(f"'{key}'" for key in sorted(block.duplicate_keys))
        yield from _read_recovered(block, library, origin, where, warning=(
            f"field {keys} appears more than once; the first value was used. Remove the duplicate."))
    elif isinstance(block, model.MiddlewareErrorBlock):
        yield from _read_partial(block, origin, where)
    elif isinstance(block, model.ParsingFailedBlock):
        yield _unparsable(block, text, origin, where)
    # Strings, preambles and comments are not papers.


def _read_partial(block: model.MiddlewareErrorBlock, origin: str, where: str) -> Iterator[Item]:
    """An entry whose LaTeX could not all be decoded: kept, with those fields as written."""
    entry = block.ignore_error_block
    if isinstance(entry, model.Entry):
        yield from _read_entry(entry, origin, where)
        yield Problem(origin, where, f"entry '{entry.key}': some LaTeX could not be turned into text "
                      f"({_reason(block.error)}); those fields were kept as written", rejected=False)
    else:
        yield Problem(origin, where, f"this block could not be read: {_reason(block.error)}")


def _read_recovered(block: model.ParsingFailedBlock, library: Library, origin: str, where: str,
                    warning: str | None) -> Iterator[Item]:
    """An entry bibtexparser set aside before its middlewares ran: dedupe its fields and transform it."""
    entry = block.ignore_error_block
    if not isinstance(entry, model.Entry):
        yield Problem(origin, where, f"this block could not be read: {_reason(block.error)}")
        return
    seen: set[str] = set()
    fields = []
    for field in entry.fields:
        if field.key.lower() not in seen:
            seen.add(field.key.lower())
            fields.append(field)
    entry.fields = fields
    # The file's @string definitions go along, so that `booktitle = icml` still resolves.
    recovered = Library(blocks=[*copy.deepcopy(library.strings), entry])
    for middleware in _parse_stack():
        recovered = middleware.transform(recovered)
    for inner in recovered.blocks:
        if isinstance(inner, model.Entry):
            yield from _read_entry(inner, origin, where)
        elif isinstance(inner, model.MiddlewareErrorBlock):
            yield from _read_partial(inner, origin, where)
    if warning:
        yield Problem(origin, where, f"entry '{entry.key}': {warning}", rejected=False)


def _unparsable(block: model.ParsingFailedBlock, text: str, origin: str, where: str) -> Problem:
    match = _ENTRY_KEY.match(block.raw or "")
    what = f"entry '{match[1]}'" if match else "this block"
    stop = getattr(block.error, "end_index", None)
    stopped = (f" (reading stopped at line {text.count(chr(10), 0, stop) + 1})"
               if isinstance(stop, int) and text else "")
    return Problem(origin, where, f"{what} could not be parsed{stopped}: {_reason(block.error)}. Check "
                   "its braces, quotes and the commas between fields; the other entries were read.")


def _reason(error: Exception) -> str:
    reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
    return clean_text(reason).rstrip(".")


def _read_entry(entry: model.Entry, origin: str, where: str) -> Iterator[Item]:
    fields: dict[str, Any] = {}
    for field in entry.fields:
        fields.setdefault(field.key.lower(), field.value)

    def text(name: str) -> str:
        value = fields.get(name)
        return clean_text(value) if isinstance(value, str | int) else ""

    title = text("title")
    if not title:
        yield Problem(origin, where, f"entry '{entry.key}': no title; add a title = {{...}} field, or "
                      "remove the entry if it is not a paper")
        return
    warnings: list[str] = []
    arxiv_id = _arxiv_id(text)
    doi = _doi(text("doi"))
    url = _verbatim(text("url"))
    abs_url: str | None = None
    pdf_url: str | None = None
    if arxiv_id:
        abs_url, pdf_url = arxiv_links(arxiv_id)
    elif url.startswith(("http://", "https://")):
        abs_url = url
    elif doi:
        abs_url = f"https://doi.org/{doi}"
    category = text("primaryclass")
    authors = fields.get("author")
    paper = Paper(
        id=arxiv_id or derived_id(title),
        title=title,
        abstract=text("abstract"),
        authors=[name for name in authors if name] if isinstance(authors, list) else [],
        categories=[category] if arxiv_id and _CATEGORY.match(category) else [],
        # arXiv's own dates are exact; a BibTeX year would pull them back to January 1st on merge.
        published=None if arxiv_id else _published(text, warnings),
        abs_url=abs_url,
        pdf_url=pdf_url,
        doi=doi,
        comment=_comment(text("note")),
        journal_ref=_journal_ref(text),
        sources=[SOURCE],
    )
    yield Entry(origin, where, paper)
    for warning in warnings:
        yield Problem(origin, where, f"entry '{entry.key}': {warning}", rejected=False)


def _arxiv_id(text: Fields) -> str | None:
    """The arXiv id an entry names, in any of the forms exporters use, without version."""
    prefix = (text("archiveprefix") or text("eprinttype")).lower()
    eprint = _verbatim(text("eprint"))
    if eprint and prefix in ("", "arxiv"):
        found = parse_arxiv_id(eprint) or find_arxiv_id(eprint)
        if found:
            return found[0]
    for name in ("doi", "url", "journal", "note", "howpublished", "booktitle"):
        value = _verbatim(text(name))
        doi = _ARXIV_DOI.search(value)
        found = (parse_arxiv_id(doi[1]) if doi else None) or find_arxiv_id(value)
        if found:
            return found[0]
    venue = text("journal")
    if re.search(r"\barxiv\b|\bcorr\b", venue, re.IGNORECASE):
        # DBLP and Semantic Scholar: journal = {CoRR}, volume = {abs/2301.00001};
        # some Scholar entries: journal = {arXiv preprint 2301.00001}.
        volume = text("volume").removeprefix("abs/")
        bare = _BARE_NEW_ID.search(venue)
        found = parse_arxiv_id(volume) or (parse_arxiv_id(bare[0]) if bare else None)
        if found:
            return found[0]
    return None


def _verbatim(value: str) -> str:
    """A URL or DOI with the LaTeX escapes exporters add (\\_ \\%) and any \\url{} wrapper removed."""
    value = re.sub(r"^\\url\{(.*)\}$", r"\1", value.strip())
    return _LATEX_ESCAPE.sub(r"\1", value)


def _doi(value: str) -> str | None:
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", _verbatim(value), flags=re.IGNORECASE)
    if not doi or _ARXIV_DOI.match(doi):
        return None  # arXiv's own DOI is not a publication DOI; it gave the arXiv id instead
    return doi


def _comment(note: str) -> str | None:
    note = re.sub(r"^comment:\s*", "", note, flags=re.IGNORECASE)
    if not note or _ARXIV_ONLY_NOTE.match(note):
        return None
    return note


def _journal_ref(text: Fields) -> str | None:
    """"Neural Computation 9(8), 1735-1780 (1997)", like arXiv's journal_ref; None for arXiv itself."""
    venue = text("journal") or text("booktitle")
    if not venue or _NOT_A_VENUE.search(venue):
        return None
    volume, number = text("volume"), text("number")
    pages = re.sub(r"\s*[–—-]+\s*", "-", text("pages"))
    ref = venue + (f" {volume}" if volume else "") + (f"({number})" if volume and number else "")
    ref += f", {pages}" if pages else ""
    year = text("year")
    return ref + (f" ({year})" if re.fullmatch(r"\d{4}", year) else "")


def _published(text: Fields, warnings: list[str]) -> dt.date | None:
    """The publication date from year/month/day, or from biblatex's `date`; problems go to `warnings`."""
    year_text, month_text, day_text = text("year"), text("month"), text("day")
    iso = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T/ ].*)?", text("date"))
    if iso and not year_text:
        year_text, month_text, day_text = iso[1], iso[2] or "", iso[3] or ""
    elif text("date") and not year_text:
        warnings.append(f"date {text('date')!r} is not a date; the paper is kept without a publication "
                        "date. Write it as YYYY-MM-DD.")
        return None
    if not year_text:
        return None
    if not re.fullmatch(r"\d{4}", year_text) or not 1000 <= int(year_text) <= 2999:
        warnings.append(f"year {year_text!r} is not a year; the paper is kept without a publication date. "
                        "Write the year as four digits, e.g. year = {2023}.")
        return None
    year = int(year_text)
    month = _month(month_text) if month_text else None
    if month_text and month is None:
        warnings.append(f"month {month_text!r} is not a month; only the year was kept. "
                        "Write it as a number (3) or a name (mar).")
        return dt.date(year, 1, 1)
    if month is None:
        return dt.date(year, 1, 1)
    try:
        day = int(day_text) if day_text else 1
        return dt.date(year, month, day)
    except ValueError:
        warnings.append(f"day {day_text!r} is not a day of {year}-{month:02d}; only the year and month "
                        "were kept.")
        return dt.date(year, month, 1)


def _month(value: str) -> int | None:
    value = value.strip().rstrip(".").lower()
    if value.isdigit():
        return int(value) if 1 <= int(value) <= 12 else None
    return _MONTHS.get(value)


# --- bibtexparser set-up ----------------------------------------------------------------------------


@functools.cache
def _latex_decoder() -> LatexNodes2Text:
    """LaTeX to Unicode: accents and braces go, math stays as written (so titles match arXiv's)."""
    context = get_default_latex_context_db()
    context.add_context_category("paperscope-bibtex", prepend=True,
                                 macros=[MacroTextSpec("url", simplify_repl="%s")])
    return LatexNodes2Text(latex_context=context, keep_braced_groups=False, math_mode="verbatim")


def _escape_percent(latex: str) -> str:
    """A bare % in a field is a percent sign (BibTeX has no comments inside values), not a LaTeX comment."""
    return _BARE_PERCENT.sub(r"\\%", latex)


def _decode(latex: str) -> str:
    if not _LATEX_MARKUP.search(latex):  # most names and many titles: skip the (slow) LaTeX parser
        return latex
    try:
        return str(_latex_decoder().latex_to_text(_escape_percent(latex)))
    except Exception:  # pylatexenc is tolerant; should it still fail, keep the text as written
        return latex


class _SplitAuthors(BlockMiddleware):
    """`author` as a list of "First von Last Jr" names in Unicode.

    Names are split on the LaTeX source, so braces still protect "{Barnes and Noble}", and each part is
    decoded afterwards. Unlike bibtexparser's SplitNameParts, a slightly malformed name (a trailing
    comma) does not cost the whole entry.
    """

    def __init__(self) -> None:
        super().__init__(allow_inplace_modification=True, allow_parallel_execution=True)

    @classmethod
    def metadata_key(cls) -> str:
        return "paperscope_split_authors"

    def transform_entry(self, entry: model.Entry, library: Library) -> model.Block:
        for field in entry.fields:
            if field.key == "author" and isinstance(field.value, str):
                field.value = _split_names(field.value)
        return entry


def _split_names(value: str) -> list[str]:
    names = []
    for raw in split_multiple_persons_names(value):
        if raw.strip().lower() == "others":  # "and others": et al.
            continue
        try:
            parts = parse_single_name_into_parts(raw, strict=False)
            name = " ".join(_decode(" ".join(part)) for part in (parts.first, parts.von, parts.last, parts.jr)
                            if part)
        except Exception:  # an odd name keeps its words rather than losing the entry
            name = _decode(raw)
        name = clean_text(name.replace("{", "").replace("}", ""))
        if name:
            names.append(name)
    return names


class _DecodeLatex(LatexDecodingMiddleware):
    """bibtexparser's LaTeX decoding of the fields with LaTeX in them, except URL-like fields."""

    def __init__(self) -> None:
        super().__init__(allow_inplace_modification=True, decoder=_latex_decoder())

    def transform_entry(self, entry: model.Entry, library: Library) -> model.Block:
        every_field = entry.fields
        entry.fields = [f for f in every_field if f.key not in _VERBATIM_FIELDS and isinstance(f.value, str)
                        and _LATEX_MARKUP.search(f.value)]
        for field in entry.fields:
            field.value = _escape_percent(field.value)
        block = super().transform_entry(entry, library)
        entry.fields = every_field  # the decoded fields were changed in place
        return block


@functools.cache
def _parse_stack() -> tuple[Middleware, ...]:
    return (*default_parse_stack(allow_inplace_modification=True), NormalizeFieldKeys(),
            _SplitAuthors(), _DecodeLatex())


@contextlib.contextmanager
def _quiet_bibtexparser() -> Iterator[None]:
    """Silence bibtexparser's own log lines: they repeat, with 0-based line numbers, our Problems."""
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
