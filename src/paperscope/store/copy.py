"""Copy a whole database to another (SQLite to PostgreSQL, typically), table by table.

Every table of `schema.metadata` is copied in dependency order (a table after the tables its foreign keys
point to), in batches, so a table a later version adds is copied without changing this module. The copy
is one transaction on the target: interrupted, it leaves the target as empty as it found it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from paperscope.errors import Fix, StoreError
from paperscope.store.db import dump_json, engine_url
from paperscope.store.schema import metadata as paperscope_metadata
from paperscope.store.sql import SQLStore

# Tables the migrations keep for themselves; the target gets its own when it is created.
_BOOKKEEPING = {"alembic_version"}

CopyProgress = Callable[[str, int], None]  # (table, rows copied so far)


@dataclass
class CopyReport:
    """Rows copied per table, in the order they were copied."""

    source: str
    target: str
    tables: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{table} {rows}" for table, rows in self.tables.items())
        return f"copied {self.source} to {self.target}: {counts}"


def copy_database(source: str, target: str, *, batch_size: int = 2000,
                  progress: CopyProgress | None = None) -> CopyReport:
    """Copy every record of the database `source` into the new or empty database `target`.

    Both are brought to this version's schema first. Refuses (StoreError) a target that holds any row,
    and a source with a table this version does not know (it would not be copied).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    source_url = sa.engine.make_url(engine_url(source))
    if source_url.get_backend_name() == "sqlite" and not Path(source_url.database or "").is_file():
        raise StoreError(f"There is no database at {source_url.database} to copy.", fix=Fix.CHOOSE_DATABASE)
    with SQLStore(source) as source_store, SQLStore(target) as target_store:
        if source_store.engine.url == target_store.engine.url:
            raise StoreError("The source and the target are the same database.", fix=Fix.CHOOSE_COPY_TARGET)
        report = CopyReport(source_store.display_url(), target_store.display_url())
        tables = paperscope_metadata.sorted_tables
        # One snapshot of the source for the whole copy (SQLite's read transaction gives one by itself).
        isolation = {"isolation_level": "REPEATABLE READ"} if source_url.get_backend_name() == "postgresql" else {}
        with source_store.engine.connect().execution_options(**isolation) as reading:
            _refuse_unknown_tables(reading, {t.name for t in tables}, report.source)
            with target_store.engine.begin() as writing:
                _refuse_non_empty(writing, tables, report.target)
                for table in tables:
                    try:
                        report.tables[table.name] = copy_table(reading, writing, table, batch_size, progress)
                    except sa.exc.DBAPIError as exc:
                        raise StoreError(f"Copying table {table.name} into {report.target} failed: "
                                         f"{str(exc.orig).strip().splitlines()[0]}. Nothing was kept in the "
                                         "target; fix the row named above in the source and copy again."
                                         ) from exc
                    _reset_sequences(writing, table)
                _verify_counts(reading, writing, tables)
    return report


def copy_table(reading: Connection, writing: Connection, table: sa.Table, batch_size: int,
               progress: CopyProgress | None = None) -> int:
    """Stream every row of `table` from one connection into the other; returns the number of rows."""
    aware = [c.name for c in table.columns if isinstance(c.type, sa.DateTime) and c.type.timezone]
    copied = 0
    ordered = sa.select(table).order_by(*table.primary_key.columns)
    result = reading.execution_options(stream_results=True, yield_per=batch_size).execute(ordered)
    for rows in result.mappings().partitions(batch_size):
        batch = [dict(row) for row in rows]
        for row in batch:
            for name in aware:  # SQLite returns naive UTC; PostgreSQL would read naive as its session zone
                value = row[name]
                if isinstance(value, dt.datetime) and value.tzinfo is None:
                    row[name] = value.replace(tzinfo=dt.UTC)
        if writing.dialect.name == "postgresql":
            _copy_in(writing, table, batch)
        else:
            writing.execute(table.insert(), batch)
        copied += len(batch)
        if progress is not None:
            progress(table.name, copied)
    return copied


def _copy_in(writing: Connection, table: sa.Table, batch: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY FROM STDIN, inside the copy's transaction: about 3x an executemany of INSERTs."""
    import psycopg
    from psycopg import sql
    from psycopg.types.json import Json

    columns = list(table.columns)
    json_columns = {c.name for c in columns if isinstance(c.type, sa.JSON)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in columns))
    driver = writing.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in batch:
                copy.write_row([Json(row[c.name], dumps=dump_json)
                                if c.name in json_columns and row[c.name] is not None else row[c.name]
                                for c in columns])
    except psycopg.Error as exc:  # the driver's own error, as SQLAlchemy would have wrapped it
        raise sa.exc.DBAPIError(statement.as_string(driver), None, exc) from exc


def _refuse_unknown_tables(reading: Connection, known: set[str], where: str) -> None:
    unknown = sorted(set(sa.inspect(reading).get_table_names()) - known - _BOOKKEEPING)
    if unknown:
        raise StoreError(f"The database {where} has tables this version of paperscope does not know "
                         f"({', '.join(unknown)}); they would not be copied. Copy with the paperscope version "
                         "that wrote them.")


def _refuse_non_empty(writing: Connection, tables: list[sa.Table], where: str) -> None:
    filled = {t.name: n for t in tables
              if (n := writing.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())}
    if filled:
        counts = ", ".join(f"{name} {rows}" for name, rows in filled.items())
        raise StoreError(f"The target database {where} is not empty ({counts} rows); db copy only fills an "
                         "empty database, so that nothing is merged by accident. Create a new one "
                         "(createdb NAME) or drop its tables, then copy again.")


def _reset_sequences(writing: Connection, table: sa.Table) -> None:
    """After explicit ids were copied, a PostgreSQL serial/identity column must continue after the largest."""
    if writing.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest stored id by itself
    for column in table.primary_key.columns:
        if not isinstance(column.type, sa.Integer):
            continue
        sequence = writing.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))).scalar()
        if sequence is not None:
            writing.execute(sa.select(sa.func.setval(
                sequence, sa.select(sa.func.coalesce(sa.func.max(column), 1)).scalar_subquery(),
                sa.select(sa.func.max(column).is_not(None)).scalar_subquery())))


def _verify_counts(reading: Connection, writing: Connection, tables: list[sa.Table]) -> None:
    for table in tables:
        count = sa.select(sa.func.count()).select_from(table)
        source_rows, target_rows = reading.execute(count).scalar_one(), writing.execute(count).scalar_one()
        if source_rows != target_rows:  # the source changed during the copy
            raise StoreError(f"Table {table.name}: {source_rows} rows in the source but {target_rows} copied; "
                             "the source was written to during the copy. Stop other paperscope processes "
                             "and copy again (nothing was kept).")
