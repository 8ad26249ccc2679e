"""The records that travel through paperscope: one `Paper` from ingest to digest.

`Paper.merged_with` holds the merge rules, so every source and every store agree on what
"the same paper seen again" means:

* a record carrying a newer arXiv version (or a later `updated` date) replaces the stored fields;
* otherwise the stored record wins and the incoming one only fills its gaps;
* list fields that accumulate (categories, sources, AI keywords) are unions, first-seen order kept, but the
  categories of the source with the most specific taxonomy lead (arXiv's before MeSH before Semantic Scholar's
  fields of study; see CATEGORY_AUTHORITY), then those of the newer record, so a paper's primary category does not
  depend on which source came first;
* the ids a paper is known by (`ids`) are a sorted union;
* community counts (upvotes, GitHub stars, citations) keep the highest value seen;
* `published` keeps the earliest date, `updated` the latest.

These rules are idempotent and do not depend on the order of inputs, which is why ingesting the
same files twice, or in another order, gives the same database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TypeVar

from paperscope.ids import author_key, id_ref, ref_of_id, title_key


@dataclass(slots=True)
class Paper:
    """One research paper, as every stage of paperscope sees it."""

    id: str
    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # primary first
    published: dt.date | None = None
    updated: dt.date | None = None
    version: int | None = None  # arXiv version number, 1 for "v1"
    abs_url: str | None = None
    pdf_url: str | None = None
    doi: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    sources: list[str] = field(default_factory=list)  # e.g. ["jsonl", "hf"]
    # Hugging Face daily-papers fields, present when the paper was seen there.
    upvotes: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
    submitter: str | None = None
    # Every id the paper is known by, as references "kind:value" (see ids.ID_KINDS), sorted.
    ids: list[str] = field(default_factory=list)
    citation_count: int | None = None  # as the source counts them, not only the citing papers stored here
    # Citation edges a source gave with this record, as references: the papers it cites, the papers citing it.
    # They are stored beside the paper (the `citations` table), not in its row.
    references: list[str] = field(default_factory=list, compare=False, repr=False)
    cited_by: list[str] = field(default_factory=list, compare=False, repr=False)
    # The ids of each author where the source gives them (ids.author_ref), by position in `authors`; the
    # store keeps them as author records (`authors`, `paper_authors`).
    author_ids: list[list[str]] = field(default_factory=list, compare=False, repr=False)

    @property
    def title_key(self) -> str:
        """The normalised title used to link records that have no shared id."""
        return title_key(self.title)

    @property
    def first_author_key(self) -> str:
        """The normalised family name of the first author, or "" when there is none."""
        return author_key(self.authors[0]) if self.authors else ""

    @property
    def content_hash(self) -> str:
        """Changes exactly when the text that search and embeddings read (title, abstract) changes."""
        return content_hash(self.title, self.abstract)

    @property
    def refs(self) -> list[str]:
        """Every reference of this paper: its ids, the one its paperscope id stands for, and its DOI."""
        refs = {*self.ids, ref_of_id(self.id)}
        if self.doi and (doi := id_ref("doi", self.doi)):
            refs.add(doi)
        return sorted(refs)

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    def is_newer_than(self, other: Paper) -> bool:
        """True when this record describes a later revision of the paper than `other`."""
        if self.version is not None and other.version is not None and self.version != other.version:
            return self.version > other.version
        if self.updated is not None and other.updated is not None:
            return self.updated > other.updated
        return self.version is not None and other.version is None

    def merged_with(self, incoming: Paper) -> Paper:
        """This stored record updated with `incoming` (the same paper from another source or run)."""
        newer, older = (incoming, self) if incoming.is_newer_than(self) else (self, incoming)
        merged = dataclasses.replace(newer)
        for f in _SCALAR_FIELDS:
            if getattr(merged, f) in (None, ""):
                setattr(merged, f, getattr(older, f))
        merged.id = self.id
        merged.authors = newer.authors or older.authors
        leading, following = _category_order(self, incoming)
        merged.categories = _union(leading.categories, following.categories)
        merged.sources = _union(self.sources, incoming.sources)
        merged.ai_keywords = _union(self.ai_keywords, incoming.ai_keywords)
        merged.ids = sorted({*self.refs, *incoming.refs})
        merged.references = _union(self.references, incoming.references)
        merged.cited_by = _union(self.cited_by, incoming.cited_by)
        merged.author_ids = incoming.author_ids or self.author_ids
        merged.upvotes = _max(self.upvotes, incoming.upvotes)
        merged.citation_count = _max(self.citation_count, incoming.citation_count)
        merged.github_stars = _max(self.github_stars, incoming.github_stars)
        merged.published = _min(self.published, incoming.published)
        merged.updated = _max(self.updated, incoming.updated)
        return merged


# Sources by how specific their categories are, most specific first: whose categories lead a merged paper's.
CATEGORY_AUTHORITY = ("arxiv", "jsonl", "hf", "openreview", "pubmed", "biorxiv", "medrxiv", "openalex", "crossref",
                      "s2")


def _category_order(a: Paper, b: Paper) -> tuple[Paper, Paper]:
    """(leading, following): whose categories come first in a merge of `a` and `b` (see CATEGORY_AUTHORITY),
    then the newer record's, then the lists' own order, so that the primary category is the same whichever
    record arrived first."""
    rank_a, rank_b = _authority(a), _authority(b)
    if rank_a != rank_b:
        return (a, b) if rank_a < rank_b else (b, a)
    if a.is_newer_than(b) != b.is_newer_than(a):
        return (a, b) if a.is_newer_than(b) else (b, a)
    return (a, b) if a.categories <= b.categories else (b, a)


def _authority(paper: Paper) -> int:
    ranks = [CATEGORY_AUTHORITY.index(s) for s in paper.sources if s in CATEGORY_AUTHORITY]
    return min(ranks, default=len(CATEGORY_AUTHORITY))


def content_hash(title: str, abstract: str) -> str:
    return hashlib.sha1(f"{title}\n{abstract}".encode()).hexdigest()


_LIST_OR_RULED = {"id", "authors", "categories", "sources", "ai_keywords", "upvotes", "github_stars",
                  "published", "updated", "ids", "citation_count", "references", "cited_by", "author_ids"}
# Fields that travel with a record but are stored in tables of their own, not as columns of `papers`.
NOT_COLUMNS = ("references", "cited_by", "author_ids")
_SCALAR_FIELDS = [f.name for f in dataclasses.fields(Paper) if f.name not in _LIST_OR_RULED]


def _union(first: list[str], second: list[str]) -> list[str]:
    if not second or second == first:
        return list(first)
    seen = dict.fromkeys(first)
    seen.update(dict.fromkeys(second))
    return list(seen)


_Ordered = TypeVar("_Ordered", int, dt.date)


def _max(a: _Ordered | None, b: _Ordered | None) -> _Ordered | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def _min(a: _Ordered | None, b: _Ordered | None) -> _Ordered | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
