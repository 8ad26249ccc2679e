"""Checks every record passes before it is stored, whatever format it came from."""

from __future__ import annotations

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


def check_entry(entry: Entry) -> tuple[Paper | None, list[Problem]]:
    """The paper to store (or None if rejected) and the problems found in it."""
    origin, where, paper = entry

    def reject(message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(origin, where, message)]

    if not paper.title:
        return reject("the record has no title; every paper needs one (field 'title')")
    for name, limit in MAX_CHARS.items():
        value = getattr(paper, name)
        if value and len(value) > limit:
            return reject(f"field '{name}' is {len(value):,} characters long, over the limit of {limit:,}; "
                          "the record is probably corrupt (a whole file in one field?)")
    if len(paper.authors) > MAX_AUTHORS:
        return reject(f"{len(paper.authors):,} authors, over the limit of {MAX_AUTHORS:,}")
    longest_name = max(map(len, paper.authors), default=0)
    if longest_name > MAX_AUTHOR_CHARS:
        return reject(f"an author name is {longest_name:,} characters long (limit {MAX_AUTHOR_CHARS}); "
                      "are the authors one unsplit string?")
    if len(paper.categories) > MAX_CATEGORIES:
        return reject(f"{len(paper.categories)} categories, over the limit of {MAX_CATEGORIES}")
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
