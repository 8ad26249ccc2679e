"""The SQL store: SQLite by default, any SQLAlchemy URL (PostgreSQL) with the same code."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import operator
import random
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import DatabaseUnavailable, Fix, StoreError, require_extra
from paperscope.ids import DERIVED_ID_PREFIX, is_derived_id, parse_arxiv_id
from paperscope.models import Paper
from paperscope.store import migrate
from paperscope.store.accounts import AccountStore
from paperscope.store.base import Outcome, PaperFilter, Store
from paperscope.store.batches import decoded_vectors, keyset_batches
from paperscope.store.digests import DigestStore
from paperscope.store.filters import author_ids, category_ids, has_author, has_category, write_filter_rows
from paperscope.store.schema import PAPER_REFERENCES, embeddings, papers, sync_state
from paperscope.store.topics import TopicStore
from paperscope.store.transactions import WRITE_LOCK_OPTION, write_transaction

if TYPE_CHECKING:
    from paperscope.store.web import WebStore

_PAPER_FIELDS = [f.name for f in dataclasses.fields(Paper)]
_paper_values = operator.attrgetter(*_PAPER_FIELDS)
# SQLite allows 32766 bound parameters; PostgreSQL 65535. Stay well below both.
_IN_CHUNK = 900
_WRITE_ATTEMPTS = 10
_PAPERS_LOCK_KEY = 0x70617065727301  # pg_advisory_xact_lock key of "merging into papers" ("papers" + 1)


def _is_write_conflict(exc: sa.exc.DBAPIError) -> bool:
    """A failure a retry of the whole transaction can cure: a concurrent insert of the same key, a
    serialization failure or deadlock (PostgreSQL), a busy or stale-snapshot database (SQLite)."""
    code = getattr(exc.orig, "sqlstate", None)
    if code is not None:
        return code in {"23505", "40001", "40P01"}
    text = str(exc.orig).lower()
    return (isinstance(exc, sa.exc.IntegrityError) and "unique" in text) or "locked" in text or "busy" in text


def engine_url(database: str) -> str:
    """Turn a `--db` value (a file path or a URL) into a SQLAlchemy URL."""
    if "://" not in database:
        return f"sqlite:///{Path(database).expanduser().resolve()}"
    if database.startswith(("postgresql://", "postgres://")):
        require_extra("psycopg", "postgres", "A PostgreSQL database")
        return "postgresql+psycopg://" + database.split("://", 1)[1]
    return database


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


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


_JSON_CODEC: dict[str, Any] = {"json_serializer": _dump_json, "json_deserializer": orjson.loads}


def _create_engine(url: str, pool: PoolOptions) -> Engine:
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


@dataclasses.dataclass(frozen=True)
class PoolOptions:
    """Connection pool of a server database (PostgreSQL): per process, `size` connections kept open and
    up to `max_overflow` more under load; `timeout` seconds to wait for a free one."""

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0
    recycle: int = 1800  # seconds; connections older than this are reopened (firewalls drop idle ones)
    connect_timeout: int = 10


def _as_store_error(context: sa.engine.ExceptionContext) -> None:
    """A lost or refused database connection becomes a StoreError with a message, not a driver traceback."""
    if context.is_pre_ping or not isinstance(context.original_exception, Exception):
        return
    error = context.sqlalchemy_exception
    if isinstance(error, sa.exc.OperationalError) and (context.is_disconnect or context.connection is None):
        reason = _first_line(context.original_exception)
        url = context.engine.url if context.engine is not None else None
        if url is not None and url.get_backend_name() == "sqlite":
            raise StoreError(f"Cannot open the SQLite database {url.database}: {reason}; the database must be "
                             "a file you can write.", fix=Fix.CHOOSE_DATABASE) from context.original_exception
        where = url.render_as_string(hide_password=True) if url is not None else "the database"
        raise DatabaseUnavailable(f"Cannot reach the database {where}: {reason}. Check the URL and that the "
                                  "server is running; then try again.", fix=Fix.CHOOSE_DATABASE
                                  ) from context.original_exception


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


class SQLStore(Store):
    """All database I/O of paperscope."""

    def __init__(self, database: str, pool: PoolOptions | None = None) -> None:
        self.url = engine_url(database)
        self.engine = _create_engine(self.url, pool or PoolOptions())
        try:
            migrate.upgrade(self.engine)
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise StoreError(f"Cannot open the database {self.display_url()}: {_first_line(exc.orig)}. "
                             "Check the path or URL, that the file is writable or the server is running.",
                             fix=Fix.CHOOSE_DATABASE) from exc
        except StoreError:
            self.engine.dispose()
            raise

    def display_url(self) -> str:
        """The database URL with the password hidden, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @functools.cached_property
    def accounts(self) -> AccountStore:
        """Users, libraries, votes and collections, on the same database."""
        return AccountStore(self.engine)

    @functools.cached_property
    def topics(self) -> TopicStore:
        """The topic map: topics, assignments, layout; on the same database."""
        return TopicStore(self.engine)

    @functools.cached_property
    def web(self) -> WebStore:
        """Sessions, API tokens, sign-in throttling, submissions and page listings of the web app."""
        from paperscope.store.web import WebStore

        return WebStore(self.engine)

    @functools.cached_property
    def digests(self) -> DigestStore:
        """Subscriptions, follows, the outbox and the papers sent to each user, on the same database."""
        return DigestStore(self.engine)

    def schema_version(self) -> str | None:
        return migrate.current_revision(self.engine)

    # Papers ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _merging(self) -> Iterator[Connection]:
        """A transaction holding the papers' write lock from before its first read: writers that merge
        records into stored papers queue instead of each overwriting the other's merge. It also makes
        modification times rise in commit order, which the indexes' watermarks rely on."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(**{WRITE_LOCK_OPTION: True})  # BEGIN IMMEDIATE
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PAPERS_LOCK_KEY)))
                yield conn

    def upsert_papers(self, batch: Sequence[Paper]) -> list[Outcome]:
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                with self._merging() as conn:
                    return _BatchMerge(conn, batch).run()
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                # Another process stored one of these papers between our read and our write (a unique
                # violation on PostgreSQL, a stale snapshot or lock on SQLite): merge again from what is
                # stored now. Anything else, or the same failure every time, is raised.
                if attempt == _WRITE_ATTEMPTS - 1 or not _is_write_conflict(exc):
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # jitter: the racers part
        raise AssertionError("unreachable")

    def get_paper(self, paper_id: str) -> Paper | None:
        parsed = parse_arxiv_id(paper_id)
        key = parsed[0] if parsed else paper_id
        return self.get_papers([key]).get(key)

    def get_papers(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return _select_by(conn, papers.c.id, list(paper_ids))

    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]:
        for rows in keyset_batches(self.engine, sa.select(papers), papers.c.id, batch_size):
            yield from (_paper_from_row(row) for row in rows)

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())

    def stats(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one()
            categories = conn.execute(
                sa.select(papers.c.primary_category, sa.func.count())
                .group_by(papers.c.primary_category).order_by(sa.func.count().desc())
            ).all()
            first, last = conn.execute(sa.select(sa.func.min(papers.c.published),
                                                 sa.func.max(papers.c.published))).one()
            by_source = _count_sources(conn)
        return {
            "papers": int(total),
            "by_source": dict(sorted(by_source.items())),
            "by_primary_category": {cat or "unknown": int(n) for cat, n in categories},
            "published_from": first.isoformat() if first else None,
            "published_to": last.isoformat() if last else None,
            "schema_version": self.schema_version(),
            "database": self.display_url(),
        }

    def papers_modified_since(self, since: dt.datetime | None, batch_size: int = 1000
                              ) -> Iterator[tuple[list[Paper], dt.datetime]]:
        # Strictly after `since`, then keyset pagination on (modified_at, id) within this run.
        last_time: dt.datetime | None = None
        last_id = ""
        while True:
            query = sa.select(papers).order_by(papers.c.modified_at, papers.c.id).limit(batch_size)
            if since is not None:
                query = query.where(papers.c.modified_at > since)
            if last_time is not None:
                query = query.where(sa.or_(papers.c.modified_at > last_time,
                                           sa.and_(papers.c.modified_at == last_time, papers.c.id > last_id)))
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            last_time, last_id = rows[-1]["modified_at"], rows[-1]["id"]
            yield [_paper_from_row(row) for row in rows], _aware(last_time)

    def filter_ids(self, filters: PaperFilter) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(paper_filter_ids(filters)).scalars())

    def count_filter_matches(self, filters: PaperFilter, at_most: int) -> int:
        first = paper_filter_ids(filters).limit(at_most).subquery()
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(first)).scalar_one())

    def passing_filters(self, filters: PaperFilter, paper_ids: Collection[str]) -> set[str]:
        passing: set[str] = set()
        values = sorted(set(paper_ids))
        dates = PaperFilter(published_from=filters.published_from, published_to=filters.published_to)
        with self.engine.connect() as conn:
            for start in range(0, len(values), _IN_CHUNK):
                chunk = values[start:start + _IN_CHUNK]
                matching = _filter_table_ids(filters, among=chunk)
                query = sa.select(papers.c.id).where(papers.c.id.in_(chunk), paper_filter_condition(dates))
                if matching is not None:
                    query = query.where(papers.c.id.in_(matching))
                passing.update(conn.execute(query).scalars())
        return passing

    # Embeddings -----------------------------------------------------------------------------

    def _to_embed_query(self, model: str) -> sa.Select[Any]:
        joined = papers.outerjoin(embeddings, sa.and_(embeddings.c.paper_id == papers.c.id,
                                                      embeddings.c.model == model))
        return (sa.select(papers).select_from(joined)
                .where(sa.or_(embeddings.c.paper_id.is_(None),
                              embeddings.c.content_hash != papers.c.content_hash)))

    def papers_to_embed(self, model: str, batch_size: int = 256) -> Iterator[list[Paper]]:
        for rows in keyset_batches(self.engine, self._to_embed_query(model), papers.c.id, batch_size):
            yield [_paper_from_row(row) for row in rows]

    def count_papers_to_embed(self, model: str) -> int:
        with self.engine.connect() as conn:
            subquery = self._to_embed_query(model).subquery()
            return int(conn.execute(sa.select(sa.func.count()).select_from(subquery)).scalar_one())

    def save_embeddings(self, model: str, model_version: str, batch: Sequence[Paper],
                        vectors: np.ndarray) -> None:
        if len(batch) != len(vectors):
            raise ValueError(f"{len(batch)} papers but {len(vectors)} vectors")
        now = _now()
        rows = [{"paper_id": p.id, "model": model, "model_version": model_version, "content_hash": p.content_hash,
                 "vector": np.asarray(v, dtype="<f4").tobytes(), "created_at": now}
                for p, v in zip(batch, vectors, strict=True)]
        with write_transaction(self.engine) as conn:
            conn.execute(_upsert(conn, embeddings), rows)

    def iter_embeddings(self, model: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                        batch_size: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
        query = sa.select(embeddings.c.paper_id, embeddings.c.vector).where(embeddings.c.model == model)
        if since is not None:
            query = query.where(embeddings.c.created_at > since)
        if until is not None:
            query = query.where(embeddings.c.created_at <= until)
        for rows in keyset_batches(self.engine, query, embeddings.c.paper_id, batch_size):
            yield decoded_vectors(rows)

    def latest_modification_time(self) -> dt.datetime | None:
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(papers.c.modified_at))).scalar_one_or_none()
        return _aware(latest) if latest is not None else None

    def latest_embedding_time(self, model: str) -> dt.datetime | None:
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(embeddings.c.created_at))
                                  .where(embeddings.c.model == model)).scalar_one_or_none()
        return _aware(latest) if latest is not None else None

    def get_embedding(self, paper_id: str, model: str) -> np.ndarray | None:
        with self.engine.connect() as conn:
            blob = conn.execute(sa.select(embeddings.c.vector).where(
                embeddings.c.paper_id == paper_id, embeddings.c.model == model)).scalar_one_or_none()
        return None if blob is None else np.frombuffer(blob, dtype="<f4").copy()

    def embedding_models(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(embeddings.c.model, embeddings.c.model_version, sa.func.count())
                                .group_by(embeddings.c.model, embeddings.c.model_version)).all()
        models: dict[str, dict[str, Any]] = {}
        for model, version, count in rows:
            entry = models.setdefault(model, {"versions": [], "count": 0})
            entry["versions"].append(version)
            entry["count"] += int(count)
        return models

    def delete_embeddings(self, model: str) -> int:
        with write_transaction(self.engine) as conn:
            return int(conn.execute(embeddings.delete().where(embeddings.c.model == model)).rowcount)

    # Sync state -----------------------------------------------------------------------------

    def get_sync_state(self, source: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            state = conn.execute(sa.select(sync_state.c.state)
                                 .where(sync_state.c.source == _sync_key(source))).scalar_one_or_none()
        return dict(state) if state is not None else None

    def set_sync_state(self, source: str, state: dict[str, Any] | None) -> None:
        with write_transaction(self.engine) as conn:
            key = _sync_key(source)
            if state is None:
                conn.execute(sync_state.delete().where(sync_state.c.source == key))
            else:
                conn.execute(_upsert(conn, sync_state), [{"source": key, "state": state, "updated_at": _now()}])


def paper_filter_condition(filters: PaperFilter, *, per_paper: bool = False) -> sa.ColumnElement[bool]:
    """The filters (date range, category, author) as a WHERE clause on `papers`. With `per_paper` the
    category and the author are checked on each paper by key (for a query reading papers in an index's
    order and stopping early), else the ids passing them are collected first."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.published_from:
        conditions.append(papers.c.published >= filters.published_from)
    if filters.published_to:
        conditions.append(papers.c.published <= filters.published_to)
    if not all(_storable(text) for text in (filters.category, filters.author) if text):
        conditions.append(sa.false())  # stored text holds no NUL or lone surrogate: no match
    elif per_paper:
        if filters.category:
            conditions.append(has_category(papers.c.id, filters.category))
        if filters.author:
            conditions.append(has_author(papers.c.id, filters.author))
    else:
        matching = _filter_table_ids(filters)
        if matching is not None:
            conditions.append(papers.c.id.in_(matching))
    return sa.and_(sa.true(), *conditions)


def paper_filter_ids(filters: PaperFilter) -> sa.Select[str]:
    """The ids of the papers that pass the filters, each once. Without a date range they are read from the
    filter tables alone: a broad filter (a category of half the papers) then reads no row of `papers`."""
    matching = _filter_table_ids(filters)
    if matching is None or filters.published_from or filters.published_to:
        return sa.select(papers.c.id).where(paper_filter_condition(filters))
    return matching


def _filter_table_ids(filters: PaperFilter, among: Sequence[str] | None = None) -> sa.Select[str] | None:
    """Ids of the papers passing the category and author filters (store/filters.py), None for no such filter;
    only those `among` these ids when given."""
    if not all(_storable(text) for text in (filters.category, filters.author) if text):
        return sa.select(papers.c.id).where(sa.false())  # stored text holds no NUL or lone surrogate: no match
    selects = [category_ids(filters.category, among)] if filters.category else []
    if filters.author:
        by_author = author_ids(filters.author, among)
        selects.append(by_author if by_author is not None else sa.select(papers.c.id).where(sa.false()))
    if len(selects) < 2:
        return selects[0] if selects else None
    both = sa.intersect(*selects).subquery()
    return sa.select(both.c[0])


class _BatchMerge:
    """Merges one batch of incoming records into the stored papers inside one transaction."""

    def __init__(self, conn: Connection, batch: Sequence[Paper]) -> None:
        self.conn = conn
        self.batch = batch
        self.current = _select_by(conn, papers.c.id, list({p.id for p in batch}))
        # Linking by title is needed only when title-only records are in play, on either side.
        self.linking = any(is_derived_id(p.id) for p in batch) or self._has_derived_papers()
        self.by_title = self._title_candidates() if self.linking else {}
        self.stored_ids = set(self.current) | {p.id for ps in self.by_title.values() for p in ps}
        # What the filter tables hold for each stored paper, to rewrite only the rows of papers that changed.
        self.stored_filters = {p.id: (p.authors, p.categories)
                               for p in [*self.current.values(), *(p for ps in self.by_title.values() for p in ps)]}
        self.absorbed: dict[str, str] = {}  # derived id -> the real id of the paper that absorbed it
        self.dirty: set[str] = set()

    def _title_candidates(self) -> dict[str, list[Paper]]:
        """Stored papers a record of this batch may link to by title (see Store.upsert_papers)."""
        keys = list({p.title_key for p in self.batch if p.id not in self.current})
        by_title: dict[str, list[Paper]] = {}
        for paper in _select_by(self.conn, papers.c.title_key, keys).values():
            by_title.setdefault(paper.title_key, []).append(paper)
        return by_title

    def _has_derived_papers(self) -> bool:
        # The range [title, titlf) holds every id starting with "title-" in byte order and in linguistic
        # collations (which may ignore the hyphen) alike, so the primary key index serves it on any
        # PostgreSQL cluster; the LIKE then keeps exactly the derived ids.
        stem = DERIVED_ID_PREFIX.rstrip("-")
        query = (sa.select(papers.c.id)
                 .where(papers.c.id >= stem, papers.c.id < stem[:-1] + chr(ord(stem[-1]) + 1),
                        papers.c.id.startswith(DERIVED_ID_PREFIX, autoescape=True))
                 .limit(1))
        return self.conn.execute(query).first() is not None

    def _title_match(self, paper: Paper, derived: bool) -> Paper | None:
        """A known paper with the same title (and compatible first author), real ids preferred."""
        author = paper.first_author_key
        matches = [
            other for other in self.by_title.get(paper.title_key, [])
            if other.id != paper.id and other.id not in self.absorbed
            and is_derived_id(other.id) == derived
            and (not author or not other.first_author_key or author == other.first_author_key)
        ]
        return matches[0] if matches else None

    def run(self) -> list[Outcome]:
        outcomes = [self._merge_one(paper) for paper in self.batch]
        self._write()
        return outcomes

    def _merge_one(self, paper: Paper) -> Outcome:
        target = paper.id
        absorbing = False
        if self.linking and paper.id not in self.current and paper.title_key:
            if is_derived_id(paper.id):
                match = self._title_match(paper, derived=False) or self._title_match(paper, derived=True)
                if match is not None:
                    target = match.id
                    self.current.setdefault(target, match)
            else:
                match = self._title_match(paper, derived=True)
                if match is not None:  # a title-only record becomes this paper's record
                    self.absorbed[match.id] = target
                    self.current[target] = dataclasses.replace(self.current.get(match.id, match), id=target)
                    absorbing = True
        stored = self.current.get(target)
        if stored is None:
            merged = paper if target == paper.id else dataclasses.replace(paper, id=target)
            outcome = Outcome.ADDED
        else:
            merged = stored.merged_with(paper)
            changed = absorbing or merged != stored
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        if outcome is not Outcome.UNCHANGED:
            self.dirty.add(target)
        self.current[target] = merged
        if self.linking:
            same_title = self.by_title.setdefault(merged.title_key, [])
            same_title[:] = [p for p in same_title if p.id != target] + [merged]
        return outcome

    def _write(self) -> None:
        now = _lock_holder_time(self.conn)
        inserts = [_row(self.current[i], added_at=now, modified_at=now)
                   for i in self.dirty if i not in self.stored_ids and i not in self.absorbed]
        updates = [_row(self.current[i], modified_at=now)
                   for i in self.dirty if i in self.stored_ids and i not in self.absorbed]
        if inserts:
            self.conn.execute(papers.insert(), inserts)
        if self.absorbed:
            _repoint_references(self.conn, self.absorbed)
            self.conn.execute(papers.delete().where(papers.c.id.in_(list(self.absorbed))))
        if updates:
            columns: dict[str, Any] = {name: sa.bindparam(f"new_{name}") for name in updates[0] if name != "id"}
            statement = papers.update().where(papers.c.id == sa.bindparam("old_id")).values(columns)
            self.conn.execute(statement, [
                {"old_id": row["id"], **{f"new_{k}": v for k, v in row.items() if k != "id"}}
                for row in updates
            ])
        # The filter tables, in the same transaction; an absorbed paper's rows went with it (ON DELETE CASCADE).
        write_filter_rows(self.conn, [self.current[row["id"]] for row in inserts], replace=False)
        changed = [paper for paper in (self.current[row["id"]] for row in updates)
                   if (paper.authors, paper.categories) != self.stored_filters.get(paper.id)]
        write_filter_rows(self.conn, changed, replace=True)


def _repoint_references(conn: Connection, moves: dict[str, str]) -> None:
    """Move users' rows (library, tags, votes, collections) from absorbed paper ids to their new ids."""
    for table, column_name in PAPER_REFERENCES:
        column = table.c[column_name]
        rows = conn.execute(sa.select(table).where(column.in_(list(moves)))).mappings().all()
        if not rows:
            continue
        conn.execute(table.delete().where(column.in_(list(moves))))
        key_columns = [c.name for c in table.primary_key.columns]
        moved = {tuple(moves.get(r[k], r[k]) if k == column_name else r[k] for k in key_columns):
                 {**r, column_name: moves[r[column_name]]} for r in rows}
        existing = conn.execute(sa.select(*[table.c[k] for k in key_columns])
                                .where(column.in_(list(set(moves.values()))))).all()
        for key in existing:
            moved.pop(tuple(key), None)
        if moved:
            conn.execute(table.insert(), list(moved.values()))
def _sync_key(source: str) -> str:
    """The stored key of a source: itself, or for a source longer than the column (a long arXiv query;
    PostgreSQL enforces VARCHAR(255)) its start and a hash of the whole, the same on every run."""
    column_type = sync_state.c.source.type
    limit = column_type.length if isinstance(column_type, sa.String) and column_type.length else 255
    if len(source) <= limit:
        return source
    return source[:limit - 41] + "#" + hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()


def _count_sources(conn: Connection) -> dict[str, int]:
    """Papers per source, counted by the database from the JSON lists (no 1M rows into Python)."""
    function = {"postgresql": sa.func.json_array_elements_text, "sqlite": sa.func.json_each}.get(conn.dialect.name)
    if function is None:  # pragma: no cover - paperscope supports the two
        raise StoreError(f"paperscope supports SQLite and PostgreSQL databases, not {conn.dialect.name}")
    element = function(papers.c.sources).table_valued("value").alias("source")
    query = sa.select(element.c.value, sa.func.count()).select_from(papers).join(element, sa.true()) \
        .group_by(element.c.value)
    return {str(source): int(count) for source, count in conn.execute(query)}


def _storable(text: str) -> bool:
    """Text both databases can take as a parameter: no NUL (PostgreSQL), no lone surrogate (UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _upsert(conn: Connection, table: sa.Table) -> Any:
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


def _select_by(conn: Connection, column: sa.Column[Any], values: list[str]) -> dict[str, Paper]:
    found: dict[str, Paper] = {}
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start:start + _IN_CHUNK]
        for row in conn.execute(sa.select(papers).where(column.in_(chunk))).mappings():
            paper = _paper_from_row(row)
            found[paper.id] = paper
    return found


def _row(paper: Paper, **timestamps: dt.datetime) -> dict[str, Any]:
    row = dict(zip(_PAPER_FIELDS, _paper_values(paper), strict=True))
    row["primary_category"] = paper.primary_category
    row["title_key"] = paper.title_key
    row["first_author_key"] = paper.first_author_key
    row["content_hash"] = paper.content_hash
    row.update(timestamps)
    return row


def _paper_from_row(row: Any) -> Paper:
    return Paper(**{name: row[name] for name in _PAPER_FIELDS})


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for what was stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _lock_holder_time(conn: Connection) -> dt.datetime:
    """The modification time of a merge, taken while it holds the write lock: on PostgreSQL from the
    server's clock, so that writers on several machines with skewed clocks still stamp in commit order."""
    if conn.dialect.name == "postgresql":
        return _aware(conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one())
    return _now()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
