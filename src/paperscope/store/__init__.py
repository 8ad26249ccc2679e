"""The store: one package owns all database I/O (SQLite by default, PostgreSQL at scale)."""

from paperscope.store.accounts import AccountStore, Collection, User
from paperscope.store.base import Outcome, PaperFilter, Store
from paperscope.store.sql import PoolOptions, SQLStore


def open_store(database: str, pool: PoolOptions | None = None) -> Store:
    """Open (creating and migrating as needed) the database at a path or URL; `pool` sizes the
    connection pool of a server database (a web process with many threads wants more than the default)."""
    return SQLStore(database, pool)


__all__ = ["AccountStore", "Collection", "User", "Outcome", "PaperFilter", "PoolOptions", "Store", "SQLStore",
           "open_store"]
