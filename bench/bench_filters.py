"""Category and author filters at scale: the filter tables of migration 0009 beside the JSON text scan they replace.

    python bench/bench_filters.py [--n 100000] [--backends sqlite,postgresql] [--postgres-url URL] [--repeat 5]
    python bench/bench_filters.py --db /tmp/copy-of-a-0008.db     # an existing SQLite database: migrate, measure

The corpus is bench_scale's: the 17,142 real papers of ../shared/data/arxiv/cs replicated to N (new ids, perturbed
text), so authors and categories are real and each occurs N / 17,142 times as often. It is ingested with paperscope
(the write path fills the filter tables); the SQLite database is cached as bench/.cache/filters-N.db. Then:

* the migration: the database is taken back to 0008 (the filter tables dropped) and upgraded again; the time of
  the upgrade is the backfill of N papers;
* each filter, two ways on the same database, median of --repeat runs after one warm-up: `Store.filter_ids` (the
  allowed-id set a filtered search reads) and `list_papers` (the API's listing: the count and the first page);
  the baseline is the condition before 0009, `CAST(categories AS TEXT) LIKE '%"cs.LG"%'` and
  `lower(CAST(authors AS TEXT)) LIKE '%needle%' OR first_author_key = key`, timed on the same queries.

The matching papers are counted both ways: categories must agree; author filters differ by design (see
store/filters.py: word prefixes of one author now, a substring of the whole list before).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from bench_scale import corpus
from benchlib import ARXIV_CS, CACHE, arguments, median_seconds, postgres_databases, require, speedup
from paperscope.config import Settings
from paperscope.ids import author_key
from paperscope.ingest.pipeline import Ingester
from paperscope.store import PaperFilter, migrate, open_store
from paperscope.store.db import engine_url
from paperscope.store.schema import papers
from paperscope.store.sql import SQLStore

FILTERS = [PaperFilter(category="cs.CV"), PaperFilter(category="cs.LG"), PaperFilter(category="cs.DB"),
           PaperFilter(author="Wang"), PaperFilter(author="Hao"), PaperFilter(author="Dacheng Tao")]
ORDER = [papers.c.published.desc().nulls_last(), papers.c.added_at.desc(), papers.c.id]


def like_condition(filters: PaperFilter) -> sa.ColumnElement[bool]:
    """The baseline: the category and author conditions of paperscope before migration 0009."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.category:
        conditions.append(sa.cast(papers.c.categories, sa.Text).contains(json.dumps(filters.category),
                                                                         autoescape=True))
    if filters.author:
        needle = filters.author.strip().lower()
        key = author_key(needle)
        match = sa.func.lower(sa.cast(papers.c.authors, sa.Text)).contains(needle, autoescape=True)
        conditions.append(sa.or_(papers.c.first_author_key == key, match) if key else match)
    return sa.and_(sa.true(), *conditions)


def measure(store: SQLStore, backend: str, repeat: int) -> None:
    def old_ids(filters: PaperFilter) -> set[str]:
        with store.engine.connect() as conn:
            return set(conn.execute(sa.select(papers.c.id).where(like_condition(filters))).scalars())

    def old_listing(filters: PaperFilter) -> tuple[list[str], int]:
        condition = like_condition(filters)
        with store.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(papers).where(condition)).scalar_one()
            page = conn.execute(sa.select(papers).where(condition).order_by(*ORDER).limit(20)).mappings().all()
        return [row["id"] for row in page], int(total)

    def new_listing(filters: PaperFilter) -> tuple[list[str], int]:
        page, total = store.list_papers(filters, limit=20)
        return [p.id for p in page], total

    print(f"| {backend} | filter | matches (0009 / before) | filter_ids 0009 | before | speed-up | "
          "listing 0009 | before | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for filters in FILTERS:
        new_s, new = median_seconds(lambda f=filters: store.filter_ids(f), repeat)  # type: ignore[misc]
        old_s, old = median_seconds(lambda f=filters: old_ids(f), repeat)  # type: ignore[misc]
        new_list_s, new_page = median_seconds(lambda f=filters: new_listing(f), repeat)  # type: ignore[misc]
        old_list_s, old_page = median_seconds(lambda f=filters: old_listing(f), repeat)  # type: ignore[misc]
        if filters.category:
            assert new == old and new_page == old_page, f"the category filter {filters.category} changed its matches"
        label = f"category {filters.category}" if filters.category else f"author {filters.author!r}"
        print(f"| | {label} | {len(new):,} / {len(old):,} | {new_s * 1000:,.1f} ms | {old_s * 1000:,.1f} ms | "
              f"{speedup(old_s, new_s)} | {new_list_s * 1000:,.1f} ms | {old_list_s * 1000:,.1f} ms | "
              f"{speedup(old_list_s, new_list_s)} |", flush=True)


def time_migration(database: str) -> float:
    """Take the database back to 0008 if it is past it, then time the upgrade to the head (the backfill)."""
    engine = sa.create_engine(engine_url(database))
    if migrate.current_revision(engine) != "0008":
        config = Config()
        config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0008")
    start = time.perf_counter()
    migrate.upgrade(engine)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def run(database: str, backend: str, repeat: int) -> None:
    engine = sa.create_engine(engine_url(database))  # not the store: opening it would migrate before the clock
    with engine.connect() as conn:
        n = int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())
    engine.dispose()
    seconds = time_migration(database)
    print(f"{backend}: migration 0009 (backfill of the filter tables) for {n:,} papers: {seconds:,.1f} s "
          f"({n / seconds:,.0f} papers/s)", flush=True)
    with open_store(database) as store:
        assert isinstance(store, SQLStore)
        measure(store, backend, repeat)


def build(path: Path, database: str) -> None:
    with open_store(database) as store:
        if store.count_papers() == 0:
            start = time.perf_counter()
            report = Ingester(store, Settings(database_url=database)).ingest(str(path))
            print(f"ingested {report.added:,} papers in {time.perf_counter() - start:,.0f} s", flush=True)


def scale_options(description: str | None) -> argparse.ArgumentParser:
    """The options of the benchmarks on bench_scale's corpus: its size, the backends, a server, repeats."""
    parser = arguments(description)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--postgres-url", help="a server where the benchmark may create a database")
    parser.add_argument("--repeat", type=int, default=5)
    return parser


def cached_sqlite(path: Path, n: int) -> str:
    """bench/.cache/filters-N.db, ingested from the corpus at `path` when it is new."""
    database = str(CACHE / f"filters-{n}.db")
    build(path, database)
    return database


def main() -> None:
    parser = scale_options(__doc__)
    parser.add_argument("--db", help="an existing SQLite database (at revision 0008 or later; it is migrated "
                                     "in place, so pass a copy)")
    args = parser.parse_args()
    if args.db:
        run(args.db, "sqlite", args.repeat)
        return
    path = corpus(args.n, require(ARXIV_CS))
    if "sqlite" in args.backends.split(","):
        run(cached_sqlite(path, args.n), "sqlite", args.repeat)
    if "postgresql" in args.backends.split(","):
        with postgres_databases(args.postgres_url, ("bench_filters",)) as (url,):
            build(path, url)
            run(url, "postgresql", args.repeat)


if __name__ == "__main__":
    main()
