"""The keyword index's table of its documents: each tantivy document's integer key, paper id and title (SQLite).

tantivy keeps only the key, in a fast field (a column read by document address). A search turns its hits into
paper ids here and scores their titles from here, so a web process never reads tantivy's document store and never
looks the candidates' ids up in the index: at 10M papers those reads mapped 90 MiB of the document store, 69 MiB
of the id field's term dictionary and postings and 131 MiB of the title field's postings and norms into every web
process (decision 0138). This table is read with SQLite's own reads (`pread`), which the OS caches once for every
process and no process maps.

The writer adds rows before it commits the tantivy documents that carry their keys, so every key a reader finds
in the index is already here. Rows are never changed: a paper added again gets a new key and a new row, and the
old row stays (its document is deleted from the index) until a rebuild starts the table again. The running totals
of rows and title tokens give BM25's document count and mean title length; like tantivy's own counts they include
replaced versions (tantivy drops those at its next merge, the totals at the next rebuild).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from paperscope.errors import Fix, StoreError

FILE_NAME = "paperscope-documents.sqlite"
_LOOKUP_CHUNK = 500  # keys a statement (SQLite allows 32,766 parameters)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (key INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS totals (one INTEGER PRIMARY KEY CHECK (one = 1), rows INTEGER NOT NULL,
                                   title_tokens INTEGER NOT NULL);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
"""


class DocumentTable:
    """The documents of one keyword index folder.

    It is opened read-only when first read (a writer may not have made the file yet), for writing when first
    written, and again after `close` (the index was rebuilt). One connection per table, shared by the process's
    threads under a lock."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._writable = False
        self._next_key: int | None = None

    def _connect(self, *, write: bool = False) -> sqlite3.Connection | None:
        if self._connection is not None and (self._writable or not write):
            return self._connection
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        try:
            if write:
                connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")  # a committed index never names a lost key
                connection.executescript(_SCHEMA)
            elif self.path.exists():
                connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                                             isolation_level=None)
            else:
                return None
        except sqlite3.Error as exc:
            raise self._failed("open", exc) from exc
        self._connection, self._writable = connection, write
        return connection

    def close(self) -> None:
        """Let go of the file: the next use opens the one then at the path (a rebuild makes a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
            self._connection, self._writable = None, False
            self._next_key = None

    def add(self, rows: Sequence[tuple[str, str, int]]) -> list[int]:
        """Write (paper id, title, title tokens) rows, durable when this returns; their new keys, in order."""
        if not rows:
            return []
        with self._lock:
            connection = self._connect(write=True)
            assert connection is not None  # opening for writing creates the table
            try:
                connection.execute("BEGIN IMMEDIATE")
                if self._next_key is None:
                    self._next_key = int(connection.execute("SELECT COALESCE(MAX(key), -1) + 1 FROM documents"
                                                            ).fetchone()[0])
                keys = list(range(self._next_key, self._next_key + len(rows)))
                connection.executemany("INSERT INTO documents (key, id, title) VALUES (?, ?, ?)",
                                       [(key, paper_id, title)
                                        for key, (paper_id, title, _) in zip(keys, rows, strict=True)])
                connection.execute("UPDATE totals SET rows = rows + ?, title_tokens = title_tokens + ?",
                                   (len(rows), sum(tokens for _, _, tokens in rows)))
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise self._failed("write", exc) from exc
            self._next_key = keys[-1] + 1
            return keys

    def rows(self, keys: Iterable[int | None]) -> dict[int, tuple[str, str]]:
        """(paper id, title) of each of `keys` the table holds."""
        wanted = sorted({key for key in keys if key is not None})
        found: dict[int, tuple[str, str]] = {}
        if not wanted:
            return found
        with self._lock:
            connection = self._connect()
            if connection is None:  # the writer makes the table before it commits a document
                raise self.missing()
            try:
                for start in range(0, len(wanted), _LOOKUP_CHUNK):
                    chunk = wanted[start:start + _LOOKUP_CHUNK]
                    found.update((key, (paper_id, title)) for key, paper_id, title in connection.execute(
                        f"SELECT key, id, title FROM documents WHERE key IN ({','.join('?' * len(chunk))})", chunk))
            except sqlite3.Error as exc:
                raise self._failed("read", exc) from exc
        return found

    def missing(self) -> StoreError:
        return StoreError(f"The keyword index's document table {self.path} is missing.", fix=Fix.REBUILD_INDEX)

    def _failed(self, action: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"Cannot {action} the keyword index's document table {self.path} ({exc}).",
                          fix=Fix.REBUILD_INDEX)

    def totals(self) -> tuple[int, int]:
        """How many rows were written and how many title tokens they hold (replaced versions too, as tantivy
        counts its deleted documents until a merge drops them)."""
        with self._lock:
            connection = self._connect()
            if connection is None:
                return 0, 0
            try:
                rows, tokens = connection.execute("SELECT rows, title_tokens FROM totals").fetchone() or (0, 0)
            except sqlite3.Error as exc:
                raise self._failed("read", exc) from exc
        return int(rows), int(tokens)
