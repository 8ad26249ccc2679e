"""Database helpers every store module shares: opening an engine, translating connection errors, write
transactions, batched reads, and the small conversions between Python values and stored ones.

Write transactions: SQLite starts a plain `BEGIN` as a reader; a transaction that reads, then writes, must
upgrade its lock, and when another connection has committed since its read it fails at once with "database is
locked" (waiting would not help: its snapshot is stale). `BEGIN IMMEDIATE` takes the write lock at the start
and waits for it (the busy timeout) instead. Every store method that writes opens its transaction with
`write_transaction`. PostgreSQL ignores the option: its row locks and MVCC need nothing of the kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from paperscope.errors import DatabaseUnavailable, Fix, StoreError, require_extra

# SQLite allows 32766 bound parameters; PostgreSQL 65535. An IN list stays well below both.
IN_CHUNK = 900
WRITE_LOCK_OPTION = "paperscope_write_lock"  # read by the SQLite engine's "begin" listener (create_engine)

_T = TypeVar("_T")


# Engines --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PoolOptions:
    """Connection pool of a server database (PostgreSQL): per process, `size` connections kept open and
    up to `max_overflow` more under load; `timeout` seconds to wait for a free one."""

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0
    recycle: int = 1800  # seconds; connections older than this are reopened (firewalls drop idle ones)
    connect_timeout: int = 10


def engine_url(database: str) -> str:
    """Turn a `--db` value (a file path or a URL) into a SQLAlchemy URL."""
    if "://" not in database:
        return f"sqlite:///{Path(database).expanduser().resolve()}"
    if database.startswith(("postgresql://", "postgres://")):
        require_extra("psycopg", "postgres", "A PostgreSQL database")
        return "postgresql+psycopg://" + database.split("://", 1)[1]
    return database


def display_url(url: str) -> str:
    """A database URL with the password hidden, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def dump_json(value: Any) -> str:
    """JSON text of a value as the engines store it (orjson)."""
    return orjson.dumps(value).decode()


_JSON_CODEC: dict[str, Any] = {"json_serializer": dump_json, "json_deserializer": orjson.loads}


def create_engine(url: str, pool: PoolOptions) -> Engine:
    """The engine of a database URL: SQLite in WAL mode with paperscope's own BEGIN (see the module), or a
    pooled server connection; connection failures raised as StoreError (`_as_store_error`)."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"Cannot create the folder for the database {path}: {exc}; the database "
                                 "needs a writable path.", fix=Fix.CHOOSE_DATABASE) from exc
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **_JSON_CODEC)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # paperscope, not the sqlite3 module, says where transactions begin (SQLAlchemy's recipe): the
            # module would only BEGIN before the first write, after a merge's reads, so two writers could
            # each merge into the same stale row and one update would be lost.
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(WRITE_LOCK_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    else:
        connect_args: dict[str, Any] = {}
        if url.startswith("postgresql") and "connect_timeout" not in sa.engine.make_url(url).query:
            connect_args["connect_timeout"] = pool.connect_timeout  # an unreachable host fails fast
        # pre-ping: a connection the server dropped (restart, idle timeout) is replaced, not handed out.
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=pool.size, max_overflow=pool.max_overflow,
                                  pool_timeout=pool.timeout, pool_recycle=pool.recycle,
                                  connect_args=connect_args, **_JSON_CODEC)
    sa.event.listen(engine, "handle_error", _as_store_error)
    return engine


def _switch_to_wal(cursor: Any, attempts: int = 200) -> None:
    """WAL mode. Switching a new database to it takes an exclusive lock that SQLite does not wait for (no busy
    handler), so processes opening a new database together retry for up to 10 s."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _as_store_error(context: sa.engine.ExceptionContext) -> None:
    """A lost or refused database connection becomes a StoreError with a message, not a driver traceback."""
    if context.is_pre_ping or not isinstance(context.original_exception, Exception):
        return
    error = context.sqlalchemy_exception
    if isinstance(error, sa.exc.OperationalError) and (context.is_disconnect or context.connection is None):
        reason = first_line(context.original_exception)
        url = context.engine.url if context.engine is not None else None
        if url is not None and url.get_backend_name() == "sqlite":
            raise StoreError(f"Cannot open the SQLite database {url.database}: {reason}; the database must be "
                             "a file you can write.", fix=Fix.CHOOSE_DATABASE) from context.original_exception
        where = url.render_as_string(hide_password=True) if url is not None else "the database"
        raise DatabaseUnavailable(f"Cannot reach the database {where}: {reason}. Check the URL and that the "
                                  "server is running; then try again.", fix=Fix.CHOOSE_DATABASE
                                  ) from context.original_exception


def first_line(exc: BaseException | None) -> str:
    """The first line of an error's message (its class name when it has none)."""
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


# Transactions and batches ---------------------------------------------------------------------

def write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """`engine.begin()` for a transaction that writes: BEGIN IMMEDIATE on SQLite (see the module)."""
    return engine.execution_options(**{WRITE_LOCK_OPTION: True}).begin()


def in_chunks(values: list[_T]) -> Iterator[list[_T]]:
    """`values` in slices of at most IN_CHUNK, each small enough for one IN list."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start:start + IN_CHUNK]


def keyset_batches(engine: Engine, query: sa.Select[Any], key: sa.ColumnElement[str], batch_size: int
                   ) -> Iterator[Sequence[RowMapping]]:
    """The rows of `query` in batches ordered by the unique text column `key`, each batch read on a short
    connection of its own (so a slow consumer holds no transaction open)."""
    last = ""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(key > last).order_by(key).limit(batch_size)).mappings().all()
        if not rows:
            return
        yield rows
        last = rows[-1][key.name]


# Stored vectors: little-endian float16 (half the bytes; what a unit-length embedding loses to it does not change
# a ranking measurably, docs/decisions/0123) or float32, named per row in `embeddings.vector_dtype`. A vector
# with a value beyond float16's range (65504) is kept as float32 rather than stored as infinity.
VECTOR_DTYPES = {"float16": "<f2", "float32": "<f4"}
STORED_DTYPE = "float16"


def encoded_vector(vector: np.ndarray) -> tuple[bytes, str]:
    """The stored bytes of one vector and their dtype's name: float16, or float32 where float16 cannot hold it."""
    full = np.asarray(vector, dtype="<f4")
    with np.errstate(over="ignore"):
        half = full.astype(VECTOR_DTYPES[STORED_DTYPE])
    if np.isfinite(half).all() or not np.isfinite(full).all():
        return half.tobytes(), STORED_DTYPE
    return full.tobytes(), "float32"


def decoded_vector(blob: bytes, dtype: str) -> np.ndarray:
    """One stored vector as a float32 array of its own."""
    return np.frombuffer(blob, dtype=VECTOR_DTYPES[dtype]).astype(np.float32)


def decoded_vectors(rows: Sequence[RowMapping]) -> tuple[list[str], np.ndarray]:
    """(paper ids, float32 matrix) of rows holding `paper_id`, `vector` and its `vector_dtype`; rows of either
    dtype may share a batch."""
    ids = [row["paper_id"] for row in rows]
    dtypes = {row["vector_dtype"] for row in rows}
    if len(dtypes) == 1:  # the usual case: one buffer, one conversion
        stored = np.frombuffer(b"".join(row["vector"] for row in rows), dtype=VECTOR_DTYPES[dtypes.pop()])
        return ids, stored.reshape(len(rows), -1).astype(np.float32)
    return ids, np.vstack([decoded_vector(row["vector"], row["vector_dtype"]) for row in rows])


def upsert(conn: Connection, table: sa.Table) -> Any:
    """INSERT that replaces the row with the same primary key (ON CONFLICT DO UPDATE, in either dialect)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - paperscope supports the two
        raise StoreError(f"paperscope supports SQLite and PostgreSQL databases, not {dialect}")
    statement = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys, set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys})


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The integer primary key an INSERT of one row created."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


# Values ---------------------------------------------------------------------------------------

def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive datetimes for what was stored as UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def as_utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


def storable(text: str) -> bool:
    """Text both databases can take as a parameter: no NUL (PostgreSQL), no lone surrogate (UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_date(value: dt.datetime | dt.date | str) -> dt.date:
    """The day of a stored date or time (SQLite in an aggregate hands back text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value
