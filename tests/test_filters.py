"""Category and author filters read the filter tables (migration 0009), kept in step with every write of papers;
the listing reads its pages in the order of its index (migration 0010)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from paperscope.ids import derived_id
from paperscope.models import Paper
from paperscope.store import Outcome, PaperFilter, Store, migrate, open_store
from paperscope.store.db import engine_url
from paperscope.store.papers import listing_query, walk_pays
from paperscope.store.schema import metadata, papers
from paperscope.store.sql import SQLStore
from tests.conftest import fresh_database

FILTER_TABLES = ("paper_categories", "paper_author_words")


def paper(number: int, authors: list[str], categories: list[str], **fields: object) -> Paper:
    given: dict[str, object] = {"title": f"Paper {number}", "abstract": "Text.", "sources": ["jsonl"], **fields}
    return Paper(id=f"2504.{number:05d}", authors=authors, categories=categories, **given)  # type: ignore[arg-type]


@pytest.fixture
def library(store: Store) -> Store:
    store.upsert_papers([
        paper(1, ["Ada Lovelace", "Charles Babbage"], ["cs.LG", "stat.ML"], published=dt.date(2025, 1, 1)),
        paper(2, ["Mathilde Caron", "Alan Turing"], ["cs.CV"], published=dt.date(2025, 2, 1)),
        paper(3, ["Huaisong Zhang"], ["cs.RO", "cs.LG"], published=dt.date(2025, 3, 1)),
        paper(4, ["Jörg Müller", "Ada Turing"], ["stat.ML"], published=dt.date(2025, 4, 1)),
        paper(5, ["Lovelace, Augusta Ada"], ["cs.LGX"]),
    ])
    return store


def found(store: Store, **filters: object) -> set[str]:
    return {pid.removeprefix("2504.0000") for pid in store.filter_ids(PaperFilter(**filters))}  # type: ignore[arg-type]


def test_a_category_matches_exactly_in_any_position(library: Store) -> None:
    assert found(library, category="cs.LG") == {"1", "3"}  # primary or cross-listed; not "cs.LGX"
    assert found(library, category="stat.ML") == {"1", "4"}
    assert found(library, category="cs.LGX") == {"5"}
    assert found(library, category="cs.L") == set() and found(library, category="cs") == set()
    assert found(library, category="cs.lg") == set()  # categories are codes: case matters, as before


def test_an_author_matches_by_family_name_given_name_full_name_and_word_prefix(library: Store) -> None:
    assert found(library, author="lovelace") == {"1", "5"}
    assert found(library, author="LOVELACE") == {"1", "5"}
    assert found(library, author="Huaisong") == {"3"}  # a given name
    assert found(library, author="Ada Lovelace") == {"1", "5"}  # "Lovelace, Augusta Ada" has both words
    assert found(library, author="Lovelace, Ada") == {"1", "5"}
    assert found(library, author="lovel") == {"1", "5"}  # a word's start, as the old substring match allowed
    assert found(library, author="Caron, M.") == {"2"}  # an initial
    assert found(library, author="turing") == {"2", "4"}  # any author of the list, not only the first
    assert found(library, author="muller") == {"4"} and found(library, author="MÜLLER") == {"4"}
    assert found(library, author="babbage") == {"1"}


def test_every_word_of_an_author_filter_must_name_the_same_author(library: Store) -> None:
    # Paper 2 has an "Alan" and a "Turing", paper 1 an "Ada" and a "Lovelace": only paper 4 has an "Ada Turing".
    assert found(library, author="Ada Turing") == {"4"}
    assert found(library, author="Mathilde Turing") == set()
    assert found(library, author="ovelace") == set()  # inside a word: not a name anyone types
    assert found(library, author="...") == set()  # no letters: nothing, not everything


def test_filters_combine_with_each_other_and_with_dates(library: Store) -> None:
    assert found(library, category="cs.LG", author="zhang") == {"3"}
    assert found(library, category="cs.LG", author="caron") == set()
    assert found(library, category="stat.ML", published_from=dt.date(2025, 2, 1)) == {"4"}
    assert found(library, author="turing", published_to=dt.date(2025, 3, 1)) == {"2"}
    listed, total, more = library.list_papers(PaperFilter(category="cs.LG"))
    assert total == 2 and not more and [p.id for p in listed] == ["2504.00003", "2504.00001"]  # newest first


def test_a_newer_version_with_other_authors_no_longer_matches_the_old_ones(store: Store) -> None:
    store.upsert_papers([paper(1, ["Ada Lovelace"], ["cs.LG"], version=1)])
    assert found(store, author="lovelace") == {"1"}
    assert store.upsert_papers([paper(1, ["Alan Turing"], ["cs.AI"], version=2)]) == [Outcome.UPDATED]
    assert found(store, author="lovelace") == set()
    assert found(store, author="turing") == {"1"}
    # Categories accumulate across records of a paper (models.Paper.merged_with): both match.
    assert found(store, category="cs.AI") == {"1"} and found(store, category="cs.LG") == {"1"}
    # An older record changes nothing that is stored, and nothing in the filters either.
    assert store.upsert_papers([paper(1, ["Grace Hopper"], [], version=1)]) == [Outcome.UNCHANGED]
    assert found(store, author="hopper") == set() and found(store, author="turing") == {"1"}


def test_an_absorbed_title_only_record_leaves_the_filters_with_it(store: Store) -> None:
    title = "Probabilistic Partitive Partitioning"
    store.upsert_papers([Paper(id=derived_id(title), title=title, authors=["Ada Lovelace"], categories=["cs.DS"],
                               sources=["bibtex"])])
    assert store.filter_ids(PaperFilter(category="cs.DS")) == {derived_id(title)}
    store.upsert_papers([paper(9, ["Ada Lovelace", "Alan Turing"], ["cs.LG"], title=title)])
    assert store.filter_ids(PaperFilter(category="cs.DS")) == {"2504.00009"}  # the derived id's rows are gone
    assert store.filter_ids(PaperFilter(author="lovelace")) == {"2504.00009"}
    assert store.filter_ids(PaperFilter(category="cs.LG")) == {"2504.00009"}


def test_a_failed_batch_leaves_no_filter_rows_behind(store: Store) -> None:
    store.upsert_papers([paper(1, ["Ada Lovelace"], ["cs.LG"], version=1)])
    broken = paper(1, ["Alan \ud800Turing"], ["cs.AI"], version=2)  # a lone surrogate: no database stores it
    with pytest.raises((sa.exc.StatementError, TypeError)):  # raised by SQLAlchemy, or by psycopg itself
        store.upsert_papers([paper(2, ["Grace Hopper"], ["cs.PL"]), broken])
    assert store.count_papers() == 1
    assert found(store, author="hopper") == set() and found(store, category="cs.PL") == set()
    assert found(store, author="lovelace") == {"1"} and found(store, category="cs.AI") == set()


def test_sqlite_answers_the_filters_from_the_indexes(tmp_path: Path) -> None:
    from paperscope.store.filters import paper_filter_condition, paper_filter_ids

    def plan(conn: sa.Connection, query: sa.Select[Any]) -> str:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        return " | ".join(str(row[-1]) for row in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))

    with SQLStore(str(tmp_path / "plan.db")) as store, store.engine.connect() as conn:
        for filters in (PaperFilter(category="cs.LG"), PaperFilter(author="Ada Lovelace"),
                        PaperFilter(category="cs.LG", author="lovelace")):
            condition = plan(conn, sa.select(papers.c.id).where(paper_filter_condition(filters)))
            assert "SCAN papers" not in condition, condition
            assert "ix_paper_categories_category" in condition or "ix_paper_author_words_word" in condition
            ids = plan(conn, paper_filter_ids(filters))  # what a filtered search reads: papers not at all
            assert "papers " not in ids and "ix_paper_" in ids, ids
        dated = plan(conn, paper_filter_ids(PaperFilter(category="cs.LG", published_from=dt.date(2025, 1, 1))))
        assert "papers " in dated and "ix_paper_categories_category" in dated, dated


# The migration --------------------------------------------------------------------------------------

def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


@pytest.fixture
def engine_at_0008(backend: str, tmp_path: Path) -> Iterator[tuple[str, sa.Engine]]:
    with fresh_database(backend, tmp_path) as url:
        engine = sa.create_engine(engine_url(url))
        migrate.upgrade(engine, "0008")
        yield url, engine
        engine.dispose()


def test_migration_0009_fills_the_filter_tables_from_papers_stored_before_it(
        engine_at_0008: tuple[str, sa.Engine]) -> None:
    url, engine = engine_at_0008
    assert not set(FILTER_TABLES) & set(sa.inspect(engine).get_table_names())
    now = dt.datetime.now(dt.UTC)
    count = 5_050  # more than one batch of the backfill (5,000)
    rows = [{"id": f"p{n:05d}", "title": f"Paper {n}", "abstract": "", "authors": [f"Given{n} Family{n % 7}"],
             "categories": [f"cat.{n % 3}", "cs.XX"] if n % 2 else [], "sources": ["jsonl"], "ai_keywords": [],
             "title_key": f"paper {n}", "first_author_key": f"family{n % 7}", "content_hash": "0" * 40,
             "added_at": now, "modified_at": now} for n in range(count)]
    rows.append({**rows[0], "id": "p99999", "authors": [], "categories": []})
    with engine.begin() as conn:
        conn.execute(papers.insert(), rows)
    with open_store(url) as store:  # opening upgrades to the head: 0009 runs here
        assert store.schema_version() == migrate.head_revision()
        assert store.filter_ids(PaperFilter(category="cat.1")) == {
            f"p{n:05d}" for n in range(count) if n % 2 and n % 3 == 1}
        assert len(store.filter_ids(PaperFilter(category="cs.XX"))) == count // 2
        assert store.filter_ids(PaperFilter(author="given5049")) == {"p05049"}  # past the first batch
        assert store.filter_ids(PaperFilter(author=f"Family{5049 % 7}, Given5049")) == {"p05049"}
        assert store.filter_ids(PaperFilter(author=f"Given5049 Family{5049 % 7 + 1}")) == set()
        assert len(store.filter_ids(PaperFilter(author="family3"))) == len(range(3, count, 7))
        # Written after the migration: kept in step like any other.
        store.upsert_papers([Paper(id="p00001", title="Paper 1", authors=["Ada Lovelace"], categories=["cs.AI"],
                                   version=9, sources=["jsonl"])])
        assert store.filter_ids(PaperFilter(author="family1")) == {f"p{n:05d}" for n in range(8, count, 7)}
        assert store.filter_ids(PaperFilter(author="lovelace")) == {"p00001"}


def test_migration_0009_builds_the_tables_of_schema_py_and_goes_back(engine_at_0008: tuple[str, sa.Engine]) -> None:
    _, engine = engine_at_0008
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if any(name in repr(d) for name in FILTER_TABLES)] == []
    assert set(FILTER_TABLES) <= set(sa.inspect(engine).get_table_names())
    _alembic(engine, "downgrade", "0008")
    assert not set(FILTER_TABLES) & set(sa.inspect(engine).get_table_names())
    assert migrate.current_revision(engine) == "0008"


def test_listing_pages_run_newest_first_with_undated_papers_last(store: Store) -> None:
    dates = [dt.date(2025, 1, 1), dt.date(2025, 3, 1), None, dt.date(2025, 3, 1), None, dt.date(2025, 2, 1), None]
    for number, published in enumerate(dates, start=1):  # one write each: undated papers differ by when added
        authors = ["Charles Babbage", "Ada Lovelace"] if number % 3 == 0 else ["Ada Lovelace"]
        store.upsert_papers([paper(number, authors, ["cs.LG"] if number % 2 else ["cs.CV"], published=published)])

    def pages(filters: PaperFilter) -> list[str]:
        listed = []
        for offset in range(0, 9, 3):
            page = store.list_papers(filters, limit=3, offset=offset).papers
            listed += [p.id.removeprefix("2504.0000") for p in page]
        return listed

    # Same date: the later added first. Undated (daily listings): after every dated paper, newest added first.
    assert pages(PaperFilter()) == ["4", "2", "6", "1", "7", "5", "3"]
    assert pages(PaperFilter(category="cs.LG")) == ["1", "7", "5", "3"]  # half the papers: checked one by one
    assert walk_pays(4, 7, 9) and not walk_pays(300, 100_000, 20)  # a rare category is collected, then sorted
    assert isinstance(store, SQLStore)
    cases = {("cs.LG", None): 2, ("cs.CV", None): 2, (None, "charles babbage"): 1, ("cs.LG", "lovel"): 2,
             (None, "Lovelace, Ada"): 2, (None, "Ada Babbage"): 0, ("cs.XX", None): 0}  # papers on the page
    for (category, author), shown in cases.items():
        filters = PaperFilter(category=category, author=author, published_from=dt.date(2025, 1, 15)
                              if category == "cs.CV" else None)
        with store.engine.connect() as conn:
            both = [[row.id for row in conn.execute(listing_query(filters, limit=2, offset=1, per_paper=walk))]
                    for walk in (False, True)]
        assert both[0] == both[1] and len(both[0]) == shown, (filters, both)


@pytest.fixture
def engine_at_0009(backend: str, tmp_path: Path) -> Iterator[sa.Engine]:
    with fresh_database(backend, tmp_path) as url:
        engine = sa.create_engine(engine_url(url))
        migrate.upgrade(engine, "0009")
        yield engine
        engine.dispose()


def _listing_plan(engine: sa.Engine) -> str:
    """How the database reads the first listing page (PostgreSQL told to avoid a full scan, so that a small
    table shows what a large one gets)."""
    page = listing_query(None, limit=20).with_only_columns(papers.c.id, papers.c.title)  # columns of every revision
    query = str(page.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {query}"))


def test_migration_0010_lets_the_listing_read_pages_in_index_order_and_goes_back(engine_at_0009: sa.Engine) -> None:
    engine = engine_at_0009
    assert "ix_papers_listing" not in _listing_plan(engine)
    migrate.upgrade(engine)
    plan = _listing_plan(engine)
    assert "ix_papers_listing" in plan and "ORDER BY" not in plan and "Sort" not in plan, plan
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("papers")}
    assert "ix_papers_listing" in indexes and "ix_papers_published" not in indexes  # the listing index leads with it
    _alembic(engine, "downgrade", "0009")
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("papers")}
    assert "ix_papers_published" in indexes and "ix_papers_listing" not in indexes


def test_passing_filters_checks_given_papers_alike_to_collecting_every_match(library: Store) -> None:
    everyone = [f"2504.{n:05d}" for n in range(1, 6)] + ["2504.99999"]  # one id that is not stored
    for filters in (PaperFilter(category="cs.LG"), PaperFilter(author="Ada Turing"), PaperFilter(author="lovel"),
                    PaperFilter(category="stat.ML", author="turing"), PaperFilter(published_to=dt.date(2025, 2, 1)),
                    PaperFilter(category="cs.LG", published_from=dt.date(2025, 2, 1)), PaperFilter(author="\x00"),
                    PaperFilter(author="...")):
        assert library.passing_filters(filters, everyone[1:4]) == library.filter_ids(filters) & set(everyone[1:4])
        assert library.passing_filters(filters, everyone) == library.filter_ids(filters)
    assert library.count_filter_matches(PaperFilter(category="cs.LG"), at_most=1) == 1
    assert library.count_filter_matches(PaperFilter(category="cs.LG"), at_most=10) == 2
