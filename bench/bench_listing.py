"""The paper listing (`/api/papers`) at scale: a page read through the index in the listing's order (migration
0010) beside the same query with that index dropped, as it ran before; and the count of matches the API returns
with every page, bounded (decision 0129) beside the whole count.

    python bench/bench_listing.py [--n 100000] [--backends sqlite,postgresql] [--postgres-url URL] [--repeat 5]
    python bench/bench_listing.py --db bench/.cache/scale-db-1000000.db --count-only   # an existing database

The database is bench_filters' (bench/.cache/filters-N.db for SQLite: bench_scale's replicated arXiv cs corpus,
ingested with paperscope; built when missing), or with --db an existing SQLite database (migrated in place to the
head on opening). For each filter, the median of --repeat runs after a warm-up:

* the pages: the first page (20 papers), a deep page (offset 10,000) and the count of the matches, the queries of
  `Store.list_papers`. The baseline is the listing before migration 0010, measured in the same run on the same
  database: the matching ids collected first, inside a transaction that drops `ix_papers_listing` and is rolled
  back afterwards (both backends roll back DDL), so the database is left as it was. Both ways must return the
  same papers in the same order. --count-only leaves this table out.
* the count: the whole count of the matches (the baseline) beside the bounded count `list_papers` makes for the
  first and the deep page (up to LISTING_COUNT_LIMIT or the page's end, and as far as the choice of plan needs);
  then `list_papers` itself, as it ships and with a count limit past every match (the whole count), which must
  return the same page. Filters that match nothing in the database (author filters on a store made without
  author-word rows, such as make_scale_db's) are left out, saying so.
* the bounded count of the unfiltered listing and of the largest category at other limits (--limits).
"""

from __future__ import annotations

import argparse
from functools import partial

import sqlalchemy as sa

from bench_filters import build, cached_sqlite, scale_options
from bench_scale import corpus
from benchlib import ARXIV_CS, median_seconds, postgres_databases, require, speedup
from paperscope.config import LISTING_COUNT_LIMIT
from paperscope.store import PaperFilter, open_store
from paperscope.store.filters import paper_filter_ids
from paperscope.store.papers import checks_each_paper, count_matches, listing_query, matches_deciding
from paperscope.store.sql import SQLStore

FILTERS = [PaperFilter(), PaperFilter(category="cs.CV"), PaperFilter(category="cs.LG"),
           PaperFilter(category="cs.DB"), PaperFilter(author="Wang"), PaperFilter(author="Dacheng Tao")]
DEEP = 10_000
PAGE = 20
EVERY_MATCH = 10**15  # a count limit past every match: the whole count


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
        print(f"| {label_of(filters)} | {first * 1000:,.1f} ms | {old_first * 1000:,.1f} ms "
              f"| {speedup(old_first, first)} "
              f"| {deep * 1000:,.1f} ms | {old_deep * 1000:,.1f} ms | {speedup(old_deep, deep)} "
              f"| {count * 1000:,.1f} ms |", flush=True)


def label_of(filters: PaperFilter) -> str:
    return (f"category {filters.category}" if filters.category else f"author {filters.author!r}"
            if filters.author else "no filter")


def bounded_count(conn: sa.Connection, filters: PaperFilter, offset: int, count_limit: int) -> int:
    """The count `list_papers` makes for a page at `offset` (a database with no hidden papers)."""
    rows = offset + PAGE
    return count_matches(conn, filters, max(max(count_limit, rows) + 1, matches_deciding(conn, filters, rows)))


def measure_count(store: SQLStore, backend: str, repeat: int) -> list[PaperFilter]:
    """The count table; returns the filters that match something."""
    papers_total = store.count_papers()
    print(f"| {backend}, {papers_total:,} papers | matches | whole count (baseline) | bounded, first page "
          f"| speed-up | bounded, offset {DEEP:,} | list_papers, first page | with the whole count | speed-up "
          f"| list_papers, offset {DEEP:,} | with the whole count | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    matching = []
    for filters in FILTERS:
        with store.engine.connect() as conn:
            whole_s, matches = median_seconds(partial(count_matches, conn, filters, EVERY_MATCH), repeat)
            if not matches:
                print(f"| {label_of(filters)} | 0: no match in this database, left out |", flush=True)
                continue
            matching.append(filters)
            first_s, first = median_seconds(partial(bounded_count, conn, filters, 0, LISTING_COUNT_LIMIT), repeat)
            deep_s, _ = median_seconds(partial(bounded_count, conn, filters, DEEP, LISTING_COUNT_LIMIT), repeat)
        listings = {}
        for offset in (0, DEEP):
            for count_limit in (LISTING_COUNT_LIMIT, EVERY_MATCH):
                listings[offset, count_limit] = median_seconds(partial(
                    store.list_papers, filters, limit=PAGE, offset=offset, count_limit=count_limit), repeat)
            (_, bounded), (_, whole) = listings[offset, LISTING_COUNT_LIMIT], listings[offset, EVERY_MATCH]
            assert bounded.papers == whole.papers, f"the bounded count changed the page of {filters} at {offset}"
            assert whole.total == matches and not whole.total_is_lower_bound
            shown = max(LISTING_COUNT_LIMIT, offset + PAGE)
            assert (bounded.total, bounded.total_is_lower_bound) in ((matches, False), (shown, matches > shown))
        ms = {key: seconds * 1000 for key, (seconds, _) in listings.items()}
        print(f"| {label_of(filters)} | {matches:,} ({matches / papers_total:.1%}) | {whole_s * 1000:,.1f} ms "
              f"| {first_s * 1000:,.2f} ms | {speedup(whole_s, first_s)} | {deep_s * 1000:,.2f} ms "
              f"| {ms[0, LISTING_COUNT_LIMIT]:,.1f} ms | {ms[0, EVERY_MATCH]:,.1f} ms "
              f"| {speedup(ms[0, EVERY_MATCH], ms[0, LISTING_COUNT_LIMIT])} "
              f"| {ms[DEEP, LISTING_COUNT_LIMIT]:,.1f} ms | {ms[DEEP, EVERY_MATCH]:,.1f} ms "
              f"| {speedup(ms[DEEP, EVERY_MATCH], ms[DEEP, LISTING_COUNT_LIMIT])} |", flush=True)
        assert first == matches or LISTING_COUNT_LIMIT < first < matches
    return matching


def measure_limits(store: SQLStore, limits: list[int], filters: list[PaperFilter], repeat: int) -> None:
    """The bounded count of the first page at other count limits."""
    print("| count limit | " + " | ".join(label_of(f) for f in filters) + " |")
    print("|---|" + "---|" * len(filters))
    with store.engine.connect() as conn:
        for limit in limits:
            cells = [median_seconds(partial(bounded_count, conn, f, 0, limit), repeat)[0] * 1000 for f in filters]
            print(f"| {limit:,} | " + " | ".join(f"{ms:,.2f} ms" for ms in cells) + " |", flush=True)


def run(store: SQLStore, backend: str, args: argparse.Namespace) -> None:
    if not args.count_only:
        measure(store, backend, args.repeat)
        print()
    matching = measure_count(store, backend, args.repeat)
    if args.limits:
        print()
        measure_limits(store, [int(x) for x in args.limits.split(",")], matching[:2], args.repeat)


def main() -> None:
    parser = scale_options(__doc__)
    parser.add_argument("--db", help="an existing SQLite database (migrated in place to the head)")
    parser.add_argument("--count-only", action="store_true", help="the count tables alone, not the pages'")
    parser.add_argument("--limits", default="1000,10000,100000",
                        help="count limits of the last table, comma-separated (empty: no such table)")
    args = parser.parse_args()
    if args.db:
        with open_store(args.db) as store:  # opening migrates an older database to the head
            assert isinstance(store, SQLStore)
            run(store, "sqlite", args)
        return
    path = corpus(args.n, require(ARXIV_CS))
    if "sqlite" in args.backends.split(","):
        with open_store(cached_sqlite(path, args.n)) as store:  # opening migrates an older cached database to the head
            assert isinstance(store, SQLStore)
            run(store, "sqlite", args)
    if "postgresql" in args.backends.split(","):
        with postgres_databases(args.postgres_url, ("bench_listing",)) as (database,):
            build(path, database)
            with open_store(database) as store:
                assert isinstance(store, SQLStore)
                with store.engine.connect() as conn:  # what autovacuum does soon after a large ingest
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
                run(store, "postgresql", args)


if __name__ == "__main__":
    main()
