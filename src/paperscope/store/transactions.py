"""Write transactions that cannot fail halfway on SQLite because another process wrote meanwhile.

SQLite starts a plain `BEGIN` as a reader; a transaction that reads, then writes, must upgrade its lock,
and when another connection has committed since its read it fails at once with "database is locked"
(waiting would not help: its snapshot is stale). `BEGIN IMMEDIATE` takes the write lock at the start and
waits for it (the busy timeout) instead. Every store method that writes opens its transaction here.
PostgreSQL ignores the option: its row locks and MVCC need nothing of the kind.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine

WRITE_LOCK_OPTION = "paperscope_write_lock"  # read by the SQLite engine's "begin" listener (store/sql.py)


def write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """`engine.begin()` for a transaction that writes: BEGIN IMMEDIATE on SQLite."""
    return engine.execution_options(**{WRITE_LOCK_OPTION: True}).begin()
