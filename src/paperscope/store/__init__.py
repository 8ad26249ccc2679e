"""The store: one package owns all database I/O (SQLite by default, PostgreSQL at scale)."""

from paperscope.config import LISTING_COUNT_LIMIT, Settings
from paperscope.store.accounts import AccountStore, Collection, User
from paperscope.store.base import Listing, Outcome, PaperFilter, Store, TrendingCandidate
from paperscope.store.db import PoolOptions
from paperscope.store.schema import MAX_RECORD_ID
from paperscope.store.sql import SQLStore


def open_store(database: str, pool: PoolOptions | None = None) -> Store:
    """Open (creating and migrating as needed) the database at a path or URL; `pool` sizes the
    connection pool of a server database (a web process with many threads wants more than the default)."""
    return SQLStore(database, pool)


def open_configured_store(settings: Settings) -> Store:
    """The store of `settings`: its database, with the pool the settings size (PAPERSCOPE_DB_POOL_*)."""
    return SQLStore(settings.database_url, PoolOptions(size=settings.db_pool_size,
                                                       max_overflow=settings.db_pool_overflow,
                                                       timeout=settings.db_pool_timeout_seconds))


__all__ = ["LISTING_COUNT_LIMIT", "MAX_RECORD_ID", "AccountStore", "Collection", "Listing", "User", "Outcome",
           "PaperFilter", "PoolOptions", "Store", "SQLStore", "TrendingCandidate", "open_configured_store",
           "open_store"]
