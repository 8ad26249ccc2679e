import ast
import dataclasses
import datetime as dt
import json
import random
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from paperscope.cli.hints import cli_message
from paperscope.errors import Fix, StoreError
from paperscope.ids import derived_id
from paperscope.models import Paper
from paperscope.store import Outcome, Store, migrate, open_store
from paperscope.store.db import engine_url
from paperscope.store.schema import metadata


def arxiv_paper(number: int, **fields: object) -> Paper:
    base: dict[str, object] = {"id": f"2503.{number:05d}", "title": f"Paper number {number}",
                               "abstract": "Text.", "authors": ["Ada Lovelace"], "sources": ["jsonl"]}
    base.update(fields)
    return Paper(**base)  # type: ignore[arg-type]


def title_only(title: str, author: str = "Ada Lovelace", source: str = "bibtex") -> Paper:
    return Paper(id=derived_id(title), title=title, authors=[author], sources=[source])


def test_upsert_reports_each_outcome_and_round_trips_every_field(store: Store) -> None:
    full = arxiv_paper(1, categories=["cs.LG", "stat.ML"], published=dt.date(2025, 3, 1), version=2,
                       doi="10.1/x", upvotes=5, ai_keywords=["k-means"], github_repo="https://github.com/a/b")
    assert store.upsert_papers([full, arxiv_paper(2)]) == [Outcome.ADDED, Outcome.ADDED]
    assert store.upsert_papers([full]) == [Outcome.UNCHANGED]
    assert store.upsert_papers([arxiv_paper(1, sources=["hf"], upvotes=9)]) == [Outcome.UPDATED]
    stored = store.get_paper("arXiv:2503.00001v2")
    assert stored is not None
    assert stored.categories == ["cs.LG", "stat.ML"] and stored.published == dt.date(2025, 3, 1)
    assert stored.upvotes == 9 and stored.sources == ["jsonl", "hf"] and stored.ai_keywords == ["k-means"]
    assert store.count_papers() == 2
    stats = store.stats()
    assert stats["by_source"] == {"hf": 1, "jsonl": 2} and stats["papers"] == 2
    assert stats["by_primary_category"] == {"cs.LG": 1, "unknown": 1}
    assert (stats["published_from"], stats["published_to"]) == ("2025-03-01", "2025-03-01")


def test_duplicates_inside_one_batch_become_one_paper(store: Store) -> None:
    outcomes = store.upsert_papers([arxiv_paper(1), arxiv_paper(1, categories=["cs.CV"]), arxiv_paper(1)])
    assert outcomes == [Outcome.ADDED, Outcome.UPDATED, Outcome.UNCHANGED]
    assert store.count_papers() == 1


def test_title_only_record_links_to_the_stored_arxiv_paper(store: Store) -> None:
    store.upsert_papers([arxiv_paper(7, title="Local Graph Clustering with Noisy Labels")])
    outcome = store.upsert_papers([title_only("Local graph clustering with noisy labels")])
    assert outcome == [Outcome.UPDATED]
    assert store.count_papers() == 1
    assert store.get_paper("2503.00007").sources == ["jsonl", "bibtex"]  # type: ignore[union-attr]


def test_title_match_with_another_first_author_is_another_paper(store: Store) -> None:
    store.upsert_papers([arxiv_paper(7, title="Introduction")])
    assert store.upsert_papers([title_only("Introduction", author="Alan Turing")]) == [Outcome.ADDED]
    assert store.count_papers() == 2


def test_arxiv_record_absorbs_an_earlier_title_only_record(store: Store) -> None:
    store.upsert_papers([title_only("Probabilistic Partitive Partitioning (PPP)", source="listing")])
    outcome = store.upsert_papers([arxiv_paper(9, title="Probabilistic Partitive Partitioning (PPP)")])
    assert outcome == [Outcome.UPDATED]
    assert store.count_papers() == 1
    merged = store.get_paper("2503.00009")
    assert merged is not None and merged.sources == ["listing", "jsonl"]
    absorbed = store.get_paper(derived_id("Probabilistic Partitive Partitioning (PPP)"))
    assert absorbed is not None and absorbed.id == "2503.00009"  # the old id reaches the paper it joined
    assert store.get_papers([derived_id("Probabilistic Partitive Partitioning (PPP)")]) == {}


def test_a_failing_batch_changes_nothing(store: Store) -> None:
    store.upsert_papers([arxiv_paper(1)])
    unserialisable = arxiv_paper(3, ai_keywords=[object()])  # the JSON column cannot store this
    with pytest.raises((sa.exc.StatementError, TypeError)):  # SQLite's driver wraps the TypeError, psycopg not
        store.upsert_papers([arxiv_paper(1, abstract="changed", version=3), arxiv_paper(2), unserialisable])
    assert store.count_papers() == 1
    assert store.get_paper("2503.00001").abstract == "Text."  # type: ignore[union-attr]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    open_store(str(tmp_path / "w.db")).close()
    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sync_state_round_trips_and_clears(store: Store) -> None:
    assert store.get_sync_state("arxiv:cs.LG") is None
    store.set_sync_state("arxiv:cs.LG", {"high_water": "2025-06-01T00:00:00Z"})
    assert store.get_sync_state("arxiv:cs.LG") == {"high_water": "2025-06-01T00:00:00Z"}
    store.set_sync_state("arxiv:cs.LG", None)
    assert store.get_sync_state("arxiv:cs.LG") is None


def test_a_source_longer_than_its_column_keeps_its_own_state(store: Store) -> None:
    """A long arXiv query is a legal source; PostgreSQL enforces the 255-character key column."""
    long_query, other = "arxiv:" + "a" * 1000, "arxiv:" + "a" * 999 + "b"
    store.set_sync_state(long_query, {"high_water": "x"})
    store.set_sync_state(other, {"high_water": "y"})
    assert store.get_sync_state(long_query) == {"high_water": "x"}
    assert store.get_sync_state(other) == {"high_water": "y"}
    store.set_sync_state(long_query, None)
    assert store.get_sync_state(long_query) is None and store.get_sync_state(other) == {"high_water": "y"}


def _store_at_first_revision(database_url: str, authors: list[str], categories: list[str]) -> None:
    """A database at migration 0001 holding one paper, 2401.00001, as that revision stored it."""
    engine = sa.create_engine(engine_url(database_url))
    migrate.upgrade(engine, "0001")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO papers (id, title, abstract, authors, categories, sources, ai_keywords, title_key, "
            "added_at, modified_at) VALUES ('2401.00001', 'Old Paper', 'Kept.', :authors, :categories, "
            "'[\"jsonl\"]', '[]', 'old paper', :now, :now)"),
            {"now": now, "authors": json.dumps(authors), "categories": json.dumps(categories)})
    engine.dispose()


def test_an_older_database_is_upgraded_in_place(database_url: str) -> None:
    _store_at_first_revision(database_url, ["Grace Hopper"], [])
    with open_store(database_url) as store:
        assert store.schema_version() == migrate.head_revision() != "0001"
        assert store.get_paper("2401.00001").abstract == "Kept."  # type: ignore[union-attr]
        store.set_sync_state("x", {"a": 1})  # a table the upgrade added
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            key = conn.execute(sa.text("SELECT first_author_key FROM papers WHERE id='2401.00001'")).scalar_one()
    assert key == "hopper"  # the upgrade filled the new column for old rows


def test_every_migration_goes_back_and_forth_with_papers_stored(database_url: str) -> None:
    with open_store(database_url) as store:
        store.upsert_papers([arxiv_paper(1, authors=["Lovelace, Ada", "Grace Hopper"], categories=["cs.LG"])])
    engine = sa.create_engine(engine_url(database_url))
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    revisions = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]  # newest first

    def alembic(action: str, revision: str) -> None:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)

    for revision, previous in zip(revisions, [*revisions[1:], "base"], strict=True):  # down, up, down again
        for action, target in [("downgrade", previous), ("upgrade", revision), ("downgrade", previous)]:
            alembic(action, target)
            assert migrate.current_revision(engine) == (None if target == "base" else target)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    alembic("upgrade", "head")
    assert set(sa.inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}
    engine.dispose()
    with open_store(database_url) as store:
        assert store.count_papers() == 0 and store.schema_version() == migrate.head_revision()


def test_the_migrations_fill_old_rows_as_a_write_does_today(database_url: str) -> None:
    # The migrations keep their own copies of the rules (ids, filters): when a rule changes, rows stored
    # under the old one need a migration of their own, and this test says so.
    _store_at_first_revision(database_url, ["Grace Hopper", "L\u00f6velace, Ada"], ["cs.LG", "stat.ML"])
    with open_store(database_url) as store:
        migrated = store.get_paper("2401.00001")
        assert migrated is not None
        store.upsert_papers([dataclasses.replace(migrated, id="2401.00002", ids=[])])  # the same paper, written today
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            keys = conn.execute(sa.text("SELECT id, first_author_key, content_hash FROM papers ORDER BY id")).all()
            refs = conn.execute(sa.text("SELECT paper_id, ref FROM paper_ids ORDER BY paper_id")).all()
            filter_rows = [conn.execute(sa.text(f"SELECT {columns} FROM {table} WHERE paper_id = :id "
                                                f"ORDER BY {columns}"), {"id": paper_id}).all()
                           for table, columns in [("paper_categories", "category"),
                                                  ("paper_author_words", "position, word")]
                           for paper_id in ("2401.00001", "2401.00002")]
    assert keys[0][1:] == keys[1][1:] == ("hopper", migrated.content_hash)
    assert migrated.ids == ["arxiv:2401.00001"]
    assert refs == [("2401.00001", "arxiv:2401.00001"), ("2401.00002", "arxiv:2401.00002")]
    assert filter_rows[0] == filter_rows[1] and filter_rows[2] == filter_rows[3] and filter_rows[3]


def test_no_migration_imports_paperscope_code() -> None:
    versions = Path(migrate.__file__).with_name("migrations") / "versions"
    for script in sorted(versions.glob("*.py")):
        imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(script.read_text()))
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(script.read_text()))
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert "paperscope" not in imported, f"{script.name} imports paperscope: replaying it would follow today's code"


def test_a_database_from_a_newer_paperscope_is_refused(database_url: str) -> None:
    with open_store(database_url) as store, store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text("UPDATE alembic_version SET version_num='9999'"))
    with pytest.raises(StoreError, match="newer paperscope"):
        open_store(database_url)


def test_an_unopenable_path_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="Cannot create the folder") as caught:
        open_store(str(blocker / "sub" / "x.db"))
    assert caught.value.fix is Fix.CHOOSE_DATABASE and "--db" in cli_message(caught.value)


def test_iter_papers_reads_everything_in_batches(store: Store) -> None:
    store.upsert_papers([arxiv_paper(n) for n in range(1, 26)])
    assert [p.id for p in store.iter_papers(batch_size=7)] == [f"2503.{n:05d}" for n in range(1, 26)]


def test_papers_modified_since_is_strictly_after_the_watermark(store: Store) -> None:
    store.upsert_papers([arxiv_paper(n) for n in range(1, 6)])
    batches = list(store.papers_modified_since(None, batch_size=2))
    assert [len(b) for b, _ in batches] == [2, 2, 1]
    watermark = batches[-1][1]
    assert list(store.papers_modified_since(watermark)) == []
    store.upsert_papers([arxiv_paper(9)])
    assert [[p.id for p in b] for b, _ in store.papers_modified_since(watermark)] == [["2503.00009"]]


def test_writers_in_parallel_on_the_same_papers_store_each_once(database_url: str) -> None:
    """Several processes (here: threads, each with its own store and connections) ingesting overlapping
    input: a concurrent insert of the same paper is merged again, never a failure or a duplicate."""
    open_store(database_url).close()
    papers = [arxiv_paper(n) for n in range(1, 201)]
    errors: list[BaseException] = []

    def ingest(seed: int) -> None:
        order = [dataclasses.replace(p, sources=[f"source-{seed}"]) for p in papers]
        random.Random(seed).shuffle(order)
        try:
            with open_store(database_url) as store:
                for start in range(0, len(order), 25):
                    store.upsert_papers(order[start:start + 25])
        except BaseException as exc:  # reported below, with the thread's traceback gone
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_store(database_url) as store:
        assert store.count_papers() == 200
        stored = list(store.iter_papers())
    assert [p.id for p in stored] == [p.id for p in papers]
    # No lost update: every writer's merge of every paper survived the others'.
    assert {tuple(sorted(p.sources)) for p in stored} == {tuple(f"source-{seed}" for seed in range(4))}


def test_embeddings_round_trip_at_float16_precision_and_replace_earlier_ones(store: Store) -> None:
    batch = [arxiv_paper(1), arxiv_paper(2)]
    store.upsert_papers(batch)
    vectors = np.array([[0.1, -2.5, 3e-8], [1.0, 0.0, -0.0]], dtype=np.float32)
    stored = vectors.astype(np.float16).astype(np.float32)  # what float16 storage keeps of them
    store.save_embeddings("m", "v1", batch, vectors)
    store.save_embeddings("m", "v2", batch[:1], vectors[1:])  # the same paper again: replaced
    read = store.get_embedding("2503.00001", "m")
    assert read is not None and read.dtype == np.float32 and np.array_equal(read, stored[1])
    ids, matrix = store.load_embeddings("m")
    assert ids == ["2503.00001", "2503.00002"] and np.array_equal(matrix, stored[[1, 1]])
    assert store.embedding_models() == {"m": {"versions": ["v1", "v2"], "count": 2}} or \
        store.embedding_models() == {"m": {"versions": ["v2", "v1"], "count": 2}}


def test_batches_larger_than_a_statement_may_bind(store: Store) -> None:
    many = [arxiv_paper(n, title=f"Paper {n}", authors=[f"Author {n}"]) for n in range(1, 5001)]
    assert set(store.upsert_papers(many)) == {Outcome.ADDED}
    assert len(store.get_papers([p.id for p in many] + ["9999.99999"])) == 5000


def test_filters_treat_like_wildcards_literally(store: Store) -> None:
    from paperscope.store import PaperFilter

    store.upsert_papers([arxiv_paper(1, authors=["Ada_Lovelace"], categories=["cs.LG"]),
                         arxiv_paper(2, authors=["AdaXLovelace"], categories=["csXLG"])])
    assert store.filter_ids(PaperFilter(author="ada_lovelace")) == {"2503.00001"}
    assert store.filter_ids(PaperFilter(category="cs.LG")) == {"2503.00001"}
    assert store.filter_ids(PaperFilter(author="%")) == set()


def test_processes_opening_a_new_database_at_once_upgrade_it_once(database_url: str) -> None:
    # `serve --workers N` and its worker open the same new database together: one upgrades, the others wait
    # for it and find the schema current (without the lock they raced to create the same tables).
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            with open_store(database_url) as store:
                assert store.schema_version() == migrate.head_revision()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_it, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "an upgrade waited on another for a minute"
    assert failures == []


def test_papers_modified_since_seeks_each_batch_instead_of_scanning_from_the_start(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "p.db")) as store:
        store.upsert_papers([arxiv_paper(n) for n in range(1, 8)])
        plans: list[str] = []

        def explain(conn: sa.Connection, cursor: object, statement: str, parameters: object, context: object,
                    executemany: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "FROM papers" in statement:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                plans.append(" | ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}",
                                                                       parameters)))  # type: ignore[arg-type]

        sa.event.listen(store.engine, "before_cursor_execute", explain)  # type: ignore[attr-defined]
        batches = list(store.papers_modified_since(None, batch_size=3))
    assert sum(len(batch) for batch, _ in batches) == 7
    later = plans[1:]  # every batch after the first continues from the last one's watermark
    assert later and all("SEARCH papers USING INDEX ix_papers_modified_at" in plan for plan in later), later
