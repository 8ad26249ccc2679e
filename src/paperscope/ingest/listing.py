"""A plain-text listing of papers, as copied from a papers web page.

The shape is "a title line, a blank line, an abstract paragraph", repeated, with page furniture
around it (a "Subscribe" button, a date, a banner). The text is cut into blocks at blank lines; a
block long enough to be prose is an abstract, and its title is the nearest block before it that
reads like a title rather than like furniture, an author line or a vote count. Blocks that belong
to no abstract are ignored, so furniture never becomes a paper.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from paperscope.ids import derived_id, find_arxiv_id
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import arxiv_links, clean_text
from paperscope.models import Paper

SOURCE = "listing"
# An abstract is prose: long, several words, sentence punctuation. Titles are short.
MIN_ABSTRACT_CHARS = 200
MIN_ABSTRACT_WORDS = 30
MAX_TITLE_CHARS = 300
MAX_TITLE_LINES = 3

_DATE = re.compile(r"^(?:\d{1,2}\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
                   r"(?:\s+\d{1,2})?(?:,?\s+\d{4})?$|^\d{4}-\d{2}-\d{2}$", re.IGNORECASE)
_COUNT = re.compile(r"^[\d\s.,·•|+-]*(?:k|upvotes?|comments?|authors?|votes?)?$", re.IGNORECASE)
_META = re.compile(r"^(?:submitted by|published on|authors?:|by\s|·|•|\d+\s+authors?\b|arxiv:|https?://)",
                   re.IGNORECASE)


def read_listing(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Parse a pasted listing into papers with title and abstract (and an arXiv id where one is shown)."""
    text = read_text(stream, origin)
    blocks = list(_blocks(text))
    previous_abstract = -1
    found = 0
    for index, (lineno, lines) in enumerate(blocks):
        if not _is_abstract(lines):
            continue
        between = blocks[previous_abstract + 1:index]
        previous_abstract = index
        title_block = next((b for b in reversed(between) if _is_title(b[1])), None)
        if title_block is None:
            yield Problem(origin, f"line {lineno}", "a paragraph that reads like an abstract has no title "
                          "line before it; put the title on its own line above the abstract, with a blank "
                          "line between them")
            continue
        found += 1
        title = clean_text(" ".join(title_block[1]))
        abstract = clean_text(" ".join(lines))
        arxiv = next((find_arxiv_id(" ".join(b[1])) for b in between if find_arxiv_id(" ".join(b[1]))), None)
        paper = Paper(id=derived_id(title), title=title, abstract=abstract, sources=[SOURCE])
        if arxiv is not None:
            paper.id, paper.version = arxiv
            paper.abs_url, paper.pdf_url = arxiv_links(paper.id)
        yield Entry(origin, f"line {title_block[0]}", paper)
    if not found:
        yield Problem(origin, "", "no papers found: a listing needs a title line, a blank line and an "
                      f"abstract paragraph (at least {MIN_ABSTRACT_WORDS} words) for each paper")


def _blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the 1-based line number where it starts."""
    current: list[str] = []
    start = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                start = lineno
            current.append(line.strip())
        elif current:
            yield start, current
            current = []
    if current:
        yield start, current


def _is_abstract(lines: list[str]) -> bool:
    text = " ".join(lines)
    return (len(text) >= MIN_ABSTRACT_CHARS and len(text.split()) >= MIN_ABSTRACT_WORDS
            and bool(re.search(r"[.!?](?:\s|$)", text)))


def _is_title(lines: list[str]) -> bool:
    text = " ".join(lines)
    if len(lines) > MAX_TITLE_LINES or len(text) > MAX_TITLE_CHARS or len(text) < 4:
        return False
    if _DATE.match(text) or _COUNT.match(text) or _META.match(text):
        return False
    return not _looks_like_author_list(text)


def _looks_like_author_list(text: str) -> bool:
    """Names separated by commas: "Ada Lovelace, Alan Turing, Grace Hopper"."""
    parts = [p.strip() for p in re.split(r",|\band\b", text) if p.strip()]
    return len(parts) >= 3 and all(1 <= len(p.split()) <= 4 and p[0].isupper() for p in parts) \
        and ":" not in text
