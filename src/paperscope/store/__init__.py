"""The store: one package owns all database I/O (SQLite by default, PostgreSQL at scale)."""

from paperscope.store.accounts import AccountStore, Collection, User
from paperscope.store.base import Outcome, PaperFilter, Store
from paperscope.store.sql import SQLStore


def open_store(database: str) -> Store:
    """Open (creating and migrating as needed) the database at a path or URL."""
    return SQLStore(database)


__all__ = ["AccountStore", "Collection", "User", "Outcome", "PaperFilter", "Store", "SQLStore", "open_store"]
