"""The store: one package owns all database I/O (SQLite by default, PostgreSQL at scale)."""

from paperscope.store.base import Outcome, PaperFilter, Store
from paperscope.store.sql import SQLStore


def open_store(database: str) -> Store:
    """Open (creating and migrating as needed) the database at a path or URL."""
    return SQLStore(database)


__all__ = ["Outcome", "PaperFilter", "Store", "SQLStore", "open_store"]
