"""The paper listing (`/api/papers`) at scale: a page read through the index in the listing's order (migration
0010) beside the same query with that index dropped, as it ran before.

    python bench/bench_listing.py [--n 100000] [--backends sqlite,postgresql] [--postgres-url URL] [--repeat 5]

The database is bench_filters' (bench/.cache/filters-N.db for SQLite: bench_scale's replicated arXiv cs corpus,
ingested with paperscope; built when missing). For each filter, the median of --repeat runs after a warm-up:
the first page (20 papers), a deep page (offset 10,000) and the count of the matches (which the API returns),
the queries of `Store.list_papers`. The baseline is the listing before migration 0010, measured in the
same run on the same database: the matching ids collected first, inside a transaction that drops
`ix_papers_listing` and is rolled back afterwards (both backends roll back DDL), so the database is left as
it was. Both ways must return the same papers in the same order.
"""

from __future__ import annotations

import sqlalchemy as sa

from bench_filters import build, cached_sqlite, scale_options
from bench_scale import corpus
from benchlib import ARXIV_CS, median_seconds, postgres_databases, require, speedup
from paperscope.store import PaperFilter, open_store
from paperscope.store.filters import paper_filter_ids
from paperscope.store.papers import checks_each_paper, listing_query
from paperscope.store.sql import SQLStore

FILTERS = [PaperFilter(), PaperFilter(category="cs.CV"), PaperFilter(category="cs.LG"),
           PaperFilter(category="cs.DB"), PaperFilter(author="Wang"), PaperFilter(author="Dacheng Tao")]
DEEP = 10_000


def timings(conn: sa.Connection, filters: PaperFilter, repeat: int, before: bool
            ) -> tuple[list[float], list[list[str]]]:
    """Seconds for the count, the first page (the choice of plan included) and the deep page, and the two
    pages' ids. `before`: the pages as queried before (the matching ids collected first, whatever their
    number)."""
    def count() -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(paper_filter_ids(filters).subquery()))
                   .scalar_one())

    count_s, matches = median_seconds(count, repeat)

    def page(offset: int) -> list[str]:
        per_paper = not before and checks_each_paper(conn, filters, matches, offset + 20)
        return [row.id for row in conn.execute(listing_query(filters, limit=20, offset=offset, per_paper=per_paper))]

    first_s, first = median_seconds(lambda: page(0), repeat)
    deep_s, deep = median_seconds(lambda: page(DEEP), repeat)
    return [count_s, first_s, deep_s], [first, deep]


def measure(store: SQLStore, backend: str, repeat: int) -> None:
    print(f"| {backend}, {store.count_papers():,} papers | first page | before | speed-up | page at offset {DEEP:,} "
          "| before | speed-up | count |")
    print("|---|---|---|---|---|---|---|---|")
    for filters in FILTERS:
        with store.engine.connect() as conn:
            count, first, deep = timings(conn, filters, repeat, before=False)[0]
            pages = timings(conn, filters, 1, before=False)[1]
        with store.engine.connect() as conn, conn.begin() as transaction:
            conn.execute(sa.text("DROP INDEX ix_papers_listing"))
            (_, old_first, old_deep), old_pages = timings(conn, filters, repeat, before=True)
            transaction.rollback()
        assert pages == old_pages, f"the listing with {filters} changed its papers"
        label = (f"category {filters.category}" if filters.category else f"author {filters.author!r}"
                 if filters.author else "no filter")
        print(f"| {label} | {first * 1000:,.1f} ms | {old_first * 1000:,.1f} ms | {speedup(old_first, first)} "
              f"| {deep * 1000:,.1f} ms | {old_deep * 1000:,.1f} ms | {speedup(old_deep, deep)} "
              f"| {count * 1000:,.1f} ms |", flush=True)


def main() -> None:
    args = scale_options(__doc__).parse_args()
    path = corpus(args.n, require(ARXIV_CS))
    if "sqlite" in args.backends.split(","):
        with open_store(cached_sqlite(path, args.n)) as store:  # opening migrates an older cached database to the head
            assert isinstance(store, SQLStore)
            measure(store, "sqlite", args.repeat)
    if "postgresql" in args.backends.split(","):
        with postgres_databases(args.postgres_url, ("bench_listing",)) as (database,):
            build(path, database)
            with open_store(database) as store:
                assert isinstance(store, SQLStore)
                with store.engine.connect() as conn:  # what autovacuum does soon after a large ingest
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
                measure(store, "postgresql", args.repeat)


if __name__ == "__main__":
    main()
