"""Reading papers: by id, in batches, by filter, the listing's pages, trending candidates, dates and counts;
and where each incremental source got to (sync state).

`PaperStore` holds these methods of `Store` for `SQLStore`, on its engine; storing papers is the merge
(store/merge.py), their vectors are in store/embeddings.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.config import LISTING_COUNT_LIMIT
from paperscope.errors import StoreError
from paperscope.ids import parse_paper_ref, ref_of_id
from paperscope.models import NOT_COLUMNS, Paper
from paperscope.store.base import Listing, PaperFilter, TrendingCandidate
from paperscope.store.db import (
    as_date,
    as_utc,
    display_url,
    in_chunks,
    keyset_batches,
    upsert,
    utc_now,
    write_transaction,
)
from paperscope.store.filters import filter_table_ids, paper_filter_condition, paper_filter_ids
from paperscope.store.migrate import current_revision
from paperscope.store.moderation import HIDDEN_PAPER_IDS
from paperscope.store.schema import citations, paper_ids, papers, sync_state, votes

PAPER_FIELDS = [f.name for f in dataclasses.fields(Paper) if f.name not in NOT_COLUMNS]


class PaperStore:
    """The paper-reading methods of `Store` (see there for each method's contract). Every method runs in its
    own transaction."""

    engine: Engine
    url: str

    # Papers by id -------------------------------------------------------------------------------

    def get_paper(self, paper_id: str) -> Paper | None:
        with self.engine.connect() as conn:
            found = select_papers(conn, papers.c.id, [paper_id]).get(paper_id)
            ref = None if found else parse_paper_ref(paper_id) or ref_of_id(paper_id)
            if ref is None:
                return found
            owner = conn.execute(sa.select(paper_ids.c.paper_id).where(paper_ids.c.ref == ref)).scalar()
            return select_papers(conn, papers.c.id, [owner]).get(owner) if owner else None

    def cited_papers(self, paper_id: str, *, limit: int = 100, offset: int = 0) -> tuple[list[Paper], int]:
        own = sa.select(paper_ids.c.ref).where(paper_ids.c.paper_id == paper_id)
        cited = (sa.select(paper_ids.c.paper_id).join(citations, citations.c.cited_ref == paper_ids.c.ref)
                 .where(citations.c.citing_ref.in_(own)))
        return self._citation_page(cited, paper_id, limit, offset)

    def citing_papers(self, paper_id: str, *, limit: int = 100, offset: int = 0) -> tuple[list[Paper], int]:
        own = sa.select(paper_ids.c.ref).where(paper_ids.c.paper_id == paper_id)
        citing = (sa.select(paper_ids.c.paper_id).join(citations, citations.c.citing_ref == paper_ids.c.ref)
                  .where(citations.c.cited_ref.in_(own)))
        return self._citation_page(citing, paper_id, limit, offset)

    def citation_neighbours(self, paper_id: str, *, limit: int = 100) -> list[tuple[str, int]]:
        own_refs = sa.select(paper_ids.c.ref).where(paper_ids.c.paper_id == paper_id)
        citing = sa.select(citations.c.citing_ref).where(citations.c.cited_ref.in_(own_refs))
        cited = sa.select(citations.c.cited_ref).where(citations.c.citing_ref.in_(own_refs))
        other = citations.alias("other")
        # Co-citation: what the papers citing it also cite. Bibliographic coupling: what else cites its references.
        cocited = (sa.select(other.c.cited_ref.label("ref"), sa.func.count().label("n"))
                   .where(other.c.citing_ref.in_(citing)).group_by(other.c.cited_ref))
        coupled = (sa.select(other.c.citing_ref.label("ref"), sa.func.count().label("n"))
                   .where(other.c.cited_ref.in_(cited)).group_by(other.c.citing_ref))
        shared = sa.union_all(cocited, coupled).subquery()
        query = (sa.select(paper_ids.c.paper_id, sa.func.sum(shared.c.n).label("n"))
                 .join(shared, shared.c.ref == paper_ids.c.ref)
                 .where(paper_ids.c.paper_id != paper_id)
                 .group_by(paper_ids.c.paper_id).order_by(sa.desc("n"), paper_ids.c.paper_id).limit(limit))
        with self.engine.connect() as conn:
            return [(row.paper_id, int(row.n)) for row in conn.execute(query)]

    def _citation_page(self, linked: sa.Select[Any], paper_id: str, limit: int, offset: int
                       ) -> tuple[list[Paper], int]:
        """A page of the papers whose ids `linked` selects (the paper itself left out), newest first, and
        their number."""
        condition = sa.and_(papers.c.id.in_(linked), papers.c.id != paper_id, papers.c.id.not_in(HIDDEN_PAPER_IDS))
        order = [papers.c.published.desc().nulls_last(), papers.c.id]
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(papers).where(condition)).scalar_one()
            rows = conn.execute(sa.select(papers).where(condition).order_by(*order).limit(limit).offset(offset))
            return [paper_from_row(row) for row in rows.mappings()], int(total)

    def get_papers(self, paper_ids: Iterable[str], *, include_hidden: bool = False) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return select_papers(conn, papers.c.id, list(paper_ids), visible_only=not include_hidden)

    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]:
        for rows in keyset_batches(self.engine, sa.select(papers), papers.c.id, batch_size):
            yield from (paper_from_row(row) for row in rows)

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())

    def stats(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one()
            categories = conn.execute(
                sa.select(papers.c.primary_category, sa.func.count())
                .group_by(papers.c.primary_category).order_by(sa.func.count().desc())
            ).all()
            first, last = conn.execute(sa.select(sa.func.min(papers.c.published),
                                                 sa.func.max(papers.c.published))).one()
            by_source = _count_sources(conn)
        return {
            "papers": int(total),
            "by_source": dict(sorted(by_source.items())),
            "by_primary_category": {cat or "unknown": int(n) for cat, n in categories},
            "published_from": first.isoformat() if first else None,
            "published_to": last.isoformat() if last else None,
            "schema_version": current_revision(self.engine),
            "database": display_url(self.url),
        }

    # Papers by time -----------------------------------------------------------------------------

    def papers_modified_since(self, since: dt.datetime | None, batch_size: int = 1000
                              ) -> Iterator[tuple[list[Paper], dt.datetime]]:
        # Strictly after `since`, then keyset pagination on (modified_at, id) within this run.
        last_time: dt.datetime | None = None
        last_id = ""
        while True:
            query = sa.select(papers).order_by(papers.c.modified_at, papers.c.id).limit(batch_size)
            if since is not None:
                query = query.where(papers.c.modified_at > since)
            if last_time is not None:
                # The plain range first: with only the OR, SQLite scans the index from its start for every batch
                # (quadratic: 7.5 s a batch midway through 10M papers) instead of seeking to `last_time`.
                query = query.where(papers.c.modified_at >= last_time,
                                    sa.or_(papers.c.modified_at > last_time,
                                           sa.and_(papers.c.modified_at == last_time, papers.c.id > last_id)))
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            last_time, last_id = rows[-1]["modified_at"], rows[-1]["id"]
            yield [paper_from_row(row) for row in rows], as_utc(last_time)

    def latest_modification_time(self) -> dt.datetime | None:
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(papers.c.modified_at))).scalar_one_or_none()
        return as_utc(latest) if latest is not None else None

    def papers_added_since(self, since: dt.datetime | None, limit: int | None = None) -> list[str]:
        query = sa.select(papers.c.id).order_by(papers.c.added_at.desc(), papers.c.id)
        if since is not None:
            query = query.where(papers.c.added_at > since)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def paper_dates(self, paper_ids: Sequence[str] | None = None) -> dict[str, dt.date]:
        found: dict[str, dt.date] = {}
        query = sa.select(papers.c.id, papers.c.published, papers.c.added_at)
        with self.engine.connect() as conn:
            if paper_ids is None:
                rows: Iterable[Any] = conn.execute(query)
                found.update(_dates(rows))
            else:
                for chunk in in_chunks(list(paper_ids)):
                    found.update(_dates(conn.execute(query.where(papers.c.id.in_(chunk)))))
        return found

    def latest_paper_date(self) -> dt.date | None:
        with self.engine.connect() as conn:
            published, added, undated = conn.execute(sa.select(
                sa.func.max(papers.c.published),
                sa.func.max(papers.c.added_at),
                sa.func.count().filter(papers.c.published.is_(None)))).one()
        dates = [published] if published else []
        if added is not None and undated:
            dates.append(as_utc(added).date())
        return max(dates) if dates else None

    def trending_candidates(self, first: dt.date, last: dt.date) -> list[TrendingCandidate]:
        start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        vote_counts = (sa.select(votes.c.paper_id, sa.func.count().label("n"))
                       .group_by(votes.c.paper_id).subquery())
        query = (sa.select(papers.c.id, papers.c.upvotes, papers.c.published, papers.c.added_at, vote_counts.c.n)
                 .select_from(papers.outerjoin(vote_counts, vote_counts.c.paper_id == papers.c.id))
                 .where(sa.or_(papers.c.published.between(first, last),
                               sa.and_(papers.c.published.is_(None), papers.c.added_at >= start,
                                       papers.c.added_at < end)),
                        papers.c.id.not_in(HIDDEN_PAPER_IDS)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [TrendingCandidate(id=pid, upvotes=int(up or 0), votes=int(n or 0),
                                  date=published or as_utc(added).date())
                for pid, up, published, added, n in rows]

    # Papers by filter ---------------------------------------------------------------------------

    def filter_ids(self, filters: PaperFilter) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(paper_filter_ids(filters)).scalars())

    def count_filter_matches(self, filters: PaperFilter, at_most: int) -> int:
        with self.engine.connect() as conn:
            return count_matches(conn, filters, at_most)

    def passing_filters(self, filters: PaperFilter, paper_ids: Collection[str]) -> set[str]:
        passing: set[str] = set()
        dates = PaperFilter(published_from=filters.published_from, published_to=filters.published_to)
        with self.engine.connect() as conn:
            for chunk in in_chunks(sorted(set(paper_ids))):
                matching = filter_table_ids(filters, among=chunk)
                query = sa.select(papers.c.id).where(papers.c.id.in_(chunk), paper_filter_condition(dates))
                if matching is not None:
                    query = query.where(papers.c.id.in_(matching))
                passing.update(conn.execute(query).scalars())
        return passing

    def list_papers(self, filters: PaperFilter | None = None, *, limit: int = 20, offset: int = 0,
                    count_limit: int = LISTING_COUNT_LIMIT) -> Listing:
        filters = filters or PaperFilter()
        rows = offset + limit
        shown = max(count_limit, rows)  # past this many matches the count says "more than"
        with self.engine.connect() as conn:
            hidden = list(conn.execute(HIDDEN_PAPER_IDS).scalars())
        hidden_passing = len(self.passing_filters(filters, hidden)) if hidden else 0  # a handful
        with self.engine.connect() as conn:
            # One more than `shown` visible papers, and as many as `checks_each_paper` needs to decide as the
            # whole count would.
            at_most = max(shown + 1 + hidden_passing, matches_deciding(conn, filters, rows))
            counted = count_matches(conn, filters, at_most)
            per_paper = checks_each_paper(conn, filters, counted, rows)
            query = listing_query(filters, limit=limit, offset=offset, per_paper=per_paper)
            found = conn.execute(query.where(papers.c.id.not_in(HIDDEN_PAPER_IDS))).mappings().all()
        listed = [paper_from_row(row) for row in found]
        if counted >= at_most:
            return Listing(listed, shown, total_is_lower_bound=True)
        return Listing(listed, counted - hidden_passing)

    # Sync state ---------------------------------------------------------------------------------

    def get_sync_state(self, source: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            state = conn.execute(sa.select(sync_state.c.state)
                                 .where(sync_state.c.source == _sync_key(source))).scalar_one_or_none()
        return dict(state) if state is not None else None

    def set_sync_state(self, source: str, state: dict[str, Any] | None) -> None:
        with write_transaction(self.engine) as conn:
            key = _sync_key(source)
            if state is None:
                conn.execute(sync_state.delete().where(sync_state.c.source == key))
            else:
                conn.execute(upsert(conn, sync_state), [{"source": key, "state": state, "updated_at": utc_now()}])


# The listing ------------------------------------------------------------------------------------

def listing_query(filters: PaperFilter | None, *, limit: int, offset: int = 0,
                  per_paper: bool = False) -> sa.Select[Any]:
    """One page of the listing: newest first, undated papers last, in the order of `ix_papers_listing`.
    `per_paper`: check the category and author filters on each paper while reading that index (`walk_pays`)."""
    order = [papers.c.published.desc().nulls_last(), papers.c.added_at.desc(), papers.c.id]
    condition = paper_filter_condition(filters or PaperFilter(), per_paper=per_paper)
    return sa.select(papers).where(condition).order_by(*order).limit(limit).offset(offset)


def count_matches(conn: Connection, filters: PaperFilter, at_most: int) -> int:
    """How many papers pass the filters (hidden ones too), counting no further than `at_most`."""
    first = paper_filter_ids(filters).limit(at_most).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(first)).scalar_one())


def checks_each_paper(conn: sa.Connection, filters: PaperFilter, matches: int, rows: int) -> bool:
    """Whether a listing page of `rows` (offset + limit) checks the category and author filters on each paper
    along the listing index (else their `matches` are collected first, then sorted). PostgreSQL is given the
    per-paper form and chooses between the two plans from its statistics; SQLite cannot, so `walk_pays`
    decides, from an upper bound of the number of papers (the largest rowid: no count of the table). A count of
    the matches that stopped at `matches_deciding` or later decides as the whole count."""
    if not (filters.category or filters.author):
        return False
    if conn.dialect.name != "sqlite":
        return True
    return walk_pays(matches, largest_rowid(conn), rows)


def matches_deciding(conn: sa.Connection, filters: PaperFilter, rows: int) -> int:
    """The fewest matches for which `checks_each_paper` walks the listing index for a page of `rows`; 0 where
    no count decides (no category or author filter, or PostgreSQL)."""
    if not (filters.category or filters.author) or conn.dialect.name != "sqlite":
        return 0
    return fewest_matches_to_walk(largest_rowid(conn), rows)


def largest_rowid(conn: sa.Connection) -> int:
    """An upper bound of the number of papers on SQLite, read from the end of the table's b-tree."""
    return int(conn.execute(sa.text("SELECT max(rowid) FROM papers")).scalar_one() or 0)


def walk_pays(matches: int, papers_total: int, rows: int) -> bool:
    """Whether a page of `rows` (offset + limit) costs less read along the listing index, checking each paper
    (about rows * papers_total / matches checks), than collecting and sorting all `matches` papers. A check
    costs about a fifth of a sorted row on SQLite (bench/bench_listing.py); PostgreSQL plans from its statistics."""
    return rows * papers_total <= 4 * matches * matches


def fewest_matches_to_walk(papers_total: int, rows: int) -> int:
    """The smallest number of matches for which `walk_pays`: every larger number walks too."""
    quarter = -(-rows * papers_total // 4)  # walk_pays <=> matches * matches >= ceil(rows * papers_total / 4)
    root = math.isqrt(quarter)
    return root if root * root >= quarter else root + 1


# Rows -------------------------------------------------------------------------------------------

def select_papers(conn: Connection, column: sa.Column[Any], values: list[str], *, visible_only: bool = False
                  ) -> dict[str, Paper]:
    """The papers whose `column` is one of `values` (those no admin hid, with `visible_only`), keyed by id."""
    found: dict[str, Paper] = {}
    query = sa.select(papers).where(papers.c.id.not_in(HIDDEN_PAPER_IDS)) if visible_only else sa.select(papers)
    for chunk in in_chunks(values):
        for row in conn.execute(query.where(column.in_(chunk))).mappings():
            paper = paper_from_row(row)
            found[paper.id] = paper
    return found


def paper_from_row(row: Any) -> Paper:
    """The Paper of a `papers` row."""
    return Paper(**{name: row[name] for name in PAPER_FIELDS})


def _count_sources(conn: Connection) -> dict[str, int]:
    """Papers per source, counted by the database from the JSON lists (no 1M rows into Python)."""
    function = {"postgresql": sa.func.json_array_elements_text, "sqlite": sa.func.json_each}.get(conn.dialect.name)
    if function is None:  # pragma: no cover - paperscope supports the two
        raise StoreError(f"paperscope supports SQLite and PostgreSQL databases, not {conn.dialect.name}")
    element = function(papers.c.sources).table_valued("value").alias("source")
    query = sa.select(element.c.value, sa.func.count()).select_from(papers).join(element, sa.true()) \
        .group_by(element.c.value)
    return {str(source): int(count) for source, count in conn.execute(query)}


def _dates(rows: Iterable[Any]) -> Iterator[tuple[str, dt.date]]:
    for paper_id, published, added_at in rows:
        yield paper_id, published or as_date(added_at)


def _sync_key(source: str) -> str:
    """The stored key of a source: itself, or for a source longer than the column (a long arXiv query;
    PostgreSQL enforces VARCHAR(255)) its start and a hash of the whole, the same on every run."""
    column_type = sync_state.c.source.type
    limit = column_type.length if isinstance(column_type, sa.String) and column_type.length else 255
    if len(source) <= limit:
        return source
    return source[:limit - 41] + "#" + hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()
