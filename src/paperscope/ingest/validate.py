"""Checks every record passes before it is stored, whatever format it came from."""

from __future__ import annotations

from paperscope.ids import EXCLUSIVE_KINDS, MAX_ID_CHARS, MAX_REF_CHARS, is_derived_id, split_ref
from paperscope.ingest.base import Entry, Problem
from paperscope.models import Paper

# Longer than any real paper's field by a wide margin: arXiv caps abstracts at 1,920 characters,
# and the longest author lists (collider physics) have about 3,000 names.
MAX_CHARS = {"title": 1_000, "abstract": 20_000, "comment": 5_000, "journal_ref": 2_000, "doi": 500,
             "abs_url": 2_000, "pdf_url": 2_000, "github_repo": 2_000, "project_page": 2_000,
             "submitter": 500}
MAX_AUTHORS = 10_000
MAX_AUTHOR_CHARS = 5_000
# Real metadata does hold a few names run together ("Xiangyu Kongand Xiaoxia Xingand ..."): kept, with a warning.
SUSPECT_AUTHOR_CHARS = 300
MAX_CATEGORIES = 100
MAX_CATEGORY_CHARS = 64  # the stored primary category is VARCHAR(64), enforced by PostgreSQL
MAX_IDS = 100
MAX_CITATIONS = 50_000  # references plus citing papers given with one record
_TEXT_FIELDS = ("id", "title", "abstract", "doi", "comment", "journal_ref", "abs_url", "pdf_url", "github_repo",
                "project_page", "submitter")
_LIST_FIELDS = ("authors", "categories", "ai_keywords", "ids", "references", "cited_by")


def check_entry(entry: Entry) -> tuple[Paper | None, list[Problem]]:
    """The paper to store (or None if rejected) and the problems found in it."""
    origin, where, paper = entry

    def reject(message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(origin, where, message)]

    if not paper.title:
        return reject("the record has no title; every paper needs one (field 'title')")
    unstorable = _unstorable_text(paper)
    if unstorable:
        return reject(unstorable)
    if is_derived_id(paper.id) and not paper.title_key:
        # Its id would be the hash of an empty key, shared by every other title without words.
        return reject(f"the title {paper.title[:60]!r} has no letters or digits, and the record has no id "
                      "to tell it apart; give it a real title or an id")
    for name, limit in MAX_CHARS.items():
        value = getattr(paper, name)
        if value and len(value) > limit:
            return reject(f"field '{name}' is {len(value):,} characters long, over the limit of {limit:,}; "
                          "the record is probably corrupt (a whole file in one field?)")
    if len(paper.id) > MAX_ID_CHARS:
        return reject(f"the id {paper.id[:80]!r} is {len(paper.id)} characters long, over the limit of {MAX_ID_CHARS}")
    if len(paper.ids) > MAX_IDS or len(paper.references) + len(paper.cited_by) > MAX_CITATIONS:
        return reject(f"{len(paper.ids):,} ids and {len(paper.references) + len(paper.cited_by):,} citations, over "
                      f"the limits of {MAX_IDS} and {MAX_CITATIONS:,}")
    contradiction = _two_of_one_kind(paper)
    if contradiction:
        return reject(contradiction)
    long_ref = next((r for r in (*paper.ids, *paper.references, *paper.cited_by) if len(r) > MAX_REF_CHARS), None)
    if long_ref is not None:
        return reject(f"the id {long_ref[:80]!r}... is {len(long_ref):,} characters long, over the limit of "
                      f"{MAX_REF_CHARS}")
    if len(paper.authors) > MAX_AUTHORS:
        return reject(f"{len(paper.authors):,} authors, over the limit of {MAX_AUTHORS:,}")
    longest_name = max(map(len, paper.authors), default=0)
    if longest_name > MAX_AUTHOR_CHARS:
        return reject(f"an author name is {longest_name:,} characters long (limit {MAX_AUTHOR_CHARS}); "
                      "are the authors one unsplit string?")
    if len(paper.categories) > MAX_CATEGORIES:
        return reject(f"{len(paper.categories)} categories, over the limit of {MAX_CATEGORIES}")
    if paper.categories and len(paper.categories[0]) > MAX_CATEGORY_CHARS:
        return reject(f"the primary category is {len(paper.categories[0]):,} characters long (limit "
                      f"{MAX_CATEGORY_CHARS}); categories are short codes such as cs.LG")
    problems = []
    if longest_name > SUSPECT_AUTHOR_CHARS:
        problems.append(Problem(origin, where, f"an author name of '{paper.title[:60]}' is over "
                                f"{SUSPECT_AUTHOR_CHARS} characters (several names run together?): stored as given",
                                rejected=False))
    if not paper.abstract:
        problems.append(Problem(origin, where, f"'{paper.title[:60]}' has an empty abstract: stored, but it "
                                "will not be found by semantic search until a source supplies one",
                                rejected=False))
    return paper, problems


def _two_of_one_kind(paper: Paper) -> str | None:
    """Why a record contradicts itself (two values of an id a paper has once, such as two PMIDs), or None."""
    seen: dict[str, str] = {}
    for ref in paper.refs:
        kind, value = split_ref(ref)
        if kind in EXCLUSIVE_KINDS:
            if kind in seen and seen[kind] != value:
                return (f"the record names two {kind} ids ({seen[kind]} and {value}) and a paper has one; it "
                        "mixes two papers' ids")
            seen[kind] = value
    return None


def _unstorable_text(paper: Paper) -> str | None:
    """Why a text field cannot be stored (a NUL character, or not Unicode), or None.

    PostgreSQL refuses NUL in text and neither database takes lone surrogates (what undecodable
    bytes become in Python); either means the input is binary or damaged, not metadata.
    """
    values = [getattr(paper, name) or "" for name in _TEXT_FIELDS] + [
        item for name in _LIST_FIELDS for item in getattr(paper, name)]
    joined = "\x1f".join(values)
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\x00" not in joined:
            return None
    for name in _TEXT_FIELDS + _LIST_FIELDS:
        value = getattr(paper, name)
        for text in value if isinstance(value, list) else [value or ""]:
            if "\x00" in text:
                return (f"field '{name}' holds a NUL character (\\x00), which is never part of metadata; "
                        "the record is binary or damaged. Fix or remove it")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                return (f"field '{name}' is not valid Unicode text (character {exc.object[exc.start]!r} at "
                        f"position {exc.start + 1}); re-export the file as UTF-8")
    return None
