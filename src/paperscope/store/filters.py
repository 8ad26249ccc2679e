"""The paper filters (date range, category, author) as SQL, and the indexed tables that answer the category and
author filters instead of each paper's JSON.

`paper_categories` holds one row per (paper, category) and `paper_author_words` one row per word of each
author's name (`ids.author_words`: lower-cased, accents folded). Every write of `papers` rewrites a paper's rows
in its own transaction (`write_filter_rows`), and migration 0009 fills them for papers stored before it.

A category filter is an exact match. An author filter matches papers with one author whose name has, for
every word of the filter, a word starting with it: "caron", "Mathilde Caron", "caron, m", "HUAISONG" and
"lovel" match "Mathilde Caron", "Huaisong Zhang" and "Ada Lovelace" as expected; each word is an index range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from paperscope.ids import author_words
from paperscope.models import Paper
from paperscope.store.base import PaperFilter
from paperscope.store.db import in_chunks, storable
from paperscope.store.schema import paper_author_words, paper_categories, papers

# Values are cut to this many characters, in the tables and in the filters alike: a PostgreSQL B-tree entry
# must stay under a third of a page (2,704 bytes), and only a corrupt record has a longer category or name word.
INDEXED_CHARS = 200
_SURROGATES = range(0xD800, 0xE000)


# The filters as SQL ----------------------------------------------------------------------------

def paper_filter_condition(filters: PaperFilter, *, per_paper: bool = False) -> sa.ColumnElement[bool]:
    """The filters (date range, category, author) as a WHERE clause on `papers`. With `per_paper` the
    category and the author are checked on each paper by key (for a query reading papers in an index's
    order and stopping early), else the ids passing them are collected first."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.published_from:
        conditions.append(papers.c.published >= filters.published_from)
    if filters.published_to:
        conditions.append(papers.c.published <= filters.published_to)
    if not all(storable(text) for text in (filters.category, filters.author) if text):
        conditions.append(sa.false())  # stored text holds no NUL or lone surrogate: no match
    elif per_paper:
        if filters.category:
            conditions.append(has_category(papers.c.id, filters.category))
        if filters.author:
            conditions.append(has_author(papers.c.id, filters.author))
    else:
        matching = filter_table_ids(filters)
        if matching is not None:
            conditions.append(papers.c.id.in_(matching))
    return sa.and_(sa.true(), *conditions)


def paper_filter_ids(filters: PaperFilter) -> sa.Select[str]:
    """The ids of the papers that pass the filters, each once. Without a date range they are read from the
    filter tables alone: a broad filter (a category of half the papers) then reads no row of `papers`."""
    matching = filter_table_ids(filters)
    if matching is None or filters.published_from or filters.published_to:
        return sa.select(papers.c.id).where(paper_filter_condition(filters))
    return matching


def filter_table_ids(filters: PaperFilter, among: Sequence[str] | None = None) -> sa.Select[str] | None:
    """Ids of the papers passing the category and author filters (the filter tables), None for no such filter;
    only those `among` these ids when given."""
    if not all(storable(text) for text in (filters.category, filters.author) if text):
        return sa.select(papers.c.id).where(sa.false())  # stored text holds no NUL or lone surrogate: no match
    selects = [category_ids(filters.category, among)] if filters.category else []
    if filters.author:
        by_author = author_ids(filters.author, among)
        selects.append(by_author if by_author is not None else sa.select(papers.c.id).where(sa.false()))
    if len(selects) < 2:
        return selects[0] if selects else None
    both = sa.intersect(*selects).subquery()
    return sa.select(both.c[0])


# The filter tables ------------------------------------------------------------------------------

def category_rows(paper_id: str, categories: Iterable[str]) -> list[dict[str, Any]]:
    """The `paper_categories` rows of one paper."""
    return [{"paper_id": paper_id, "category": category}
            for category in dict.fromkeys(c[:INDEXED_CHARS] for c in categories)]


def author_word_rows(paper_id: str, authors: Iterable[str]) -> list[dict[str, Any]]:
    """The `paper_author_words` rows of one paper: each distinct word of each author's name, with the
    author's position in the list."""
    return [{"paper_id": paper_id, "position": position, "word": word}
            for position, name in enumerate(authors)
            for word in dict.fromkeys(w[:INDEXED_CHARS] for w in author_words(name))]


def write_filter_rows(conn: Connection, batch: Sequence[Paper], *, replace: bool) -> None:
    """Store the filter rows of these papers (already in `papers`), first removing their old rows when
    `replace`; on the caller's connection, so they commit or roll back with the papers."""
    if not batch:
        return
    if replace:
        for chunk in in_chunks([paper.id for paper in batch]):
            conn.execute(paper_categories.delete().where(paper_categories.c.paper_id.in_(chunk)))
            conn.execute(paper_author_words.delete().where(paper_author_words.c.paper_id.in_(chunk)))
    categories = [row for paper in batch for row in category_rows(paper.id, paper.categories)]
    words = [row for paper in batch for row in author_word_rows(paper.id, paper.authors)]
    if categories:
        conn.execute(paper_categories.insert(), categories)
    if words:
        conn.execute(paper_author_words.insert(), words)


def category_ids(category: str, among: Sequence[str] | None = None) -> sa.Select[str]:
    """Ids of the papers with this category (exactly, any position: primary or cross-listed); only those
    `among` these ids when given (looked up by key, however many papers have the category)."""
    query = sa.select(paper_categories.c.paper_id).where(paper_categories.c.category == category[:INDEXED_CHARS])
    return query.where(paper_categories.c.paper_id.in_(among)) if among is not None else query


def has_category(paper_id: sa.ColumnElement[str], category: str) -> sa.ColumnElement[bool]:
    """Whether the paper `paper_id` has this category: one probe of the table's key, per paper."""
    return sa.exists().where(paper_categories.c.paper_id == paper_id,
                             paper_categories.c.category == category[:INDEXED_CHARS])


def _indexed_words(author: str) -> list[str]:
    """The words of an author filter as the table holds them."""
    return [word[:INDEXED_CHARS] for word in author_words(author)]


def has_author(paper_id: sa.ColumnElement[str], author: str) -> sa.ColumnElement[bool]:
    """Whether the paper `paper_id` has an author matching `author` (as `author_ids`): probes of the table's
    key, per paper."""
    words = _indexed_words(author)
    if not words:
        return sa.false()
    rows = [paper_author_words.alias(f"word{i}") for i in range(len(words))]
    conditions = []
    for row, word in zip(rows, words, strict=True):
        conditions += [row.c.paper_id == paper_id, _starts_with(row.c.word, word)]
        if row is not rows[0]:
            conditions.append(row.c.position == rows[0].c.position)  # every word on the same author
    return sa.exists().where(*conditions)


def author_ids(author: str, among: Sequence[str] | None = None) -> sa.Select[str] | None:
    """Ids of the papers with an author whose name has a word starting with each word of `author` (see the
    module), or None when `author` has no letters or digits: no name matches. Only those `among` these ids
    when given (looked up by key, however many papers the name matches)."""
    words = _indexed_words(author)
    if not words:
        return None
    table = paper_author_words
    restrict = [table.c.paper_id.in_(among)] if among is not None else []
    if len(words) == 1:
        return sa.select(table.c.paper_id).where(_starts_with(table.c.word, words[0]), *restrict).distinct()
    # Every word on the same author: intersect the (paper, position) pairs each word finds.
    same_author = sa.intersect(*[sa.select(table.c.paper_id, table.c.position)
                                 .where(_starts_with(table.c.word, word), *restrict) for word in words]).subquery()
    return sa.select(same_author.c.paper_id)


def _starts_with(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    """`column` starts with `prefix`, as a range the column's index answers (the column compares in code
    point order: BINARY on SQLite, collation "C" on PostgreSQL)."""
    upper = _successor(prefix)
    if upper is None:  # the prefix is all U+10FFFF: nothing sorts after it but its extensions
        return column >= prefix
    return sa.and_(column >= prefix, column < upper)


def _successor(prefix: str) -> str | None:
    """The first string after every string that starts with `prefix`, in code point order."""
    stem = prefix.rstrip(chr(0x10FFFF))
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if following in _SURROGATES:  # not text either database takes: skip to the next real character
        following = _SURROGATES.stop
    return stem[:-1] + chr(following)
