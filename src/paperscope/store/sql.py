"""The SQL store: SQLite by default, any SQLAlchemy URL (PostgreSQL) with the same code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import StoreError, require_extra
from paperscope.ids import DERIVED_ID_PREFIX, author_key, is_derived_id, parse_arxiv_id
from paperscope.models import Paper
from paperscope.store import migrate
from paperscope.store.accounts import AccountStore
from paperscope.store.base import Outcome, PaperFilter, Store
from paperscope.store.digests import DigestStore
from paperscope.store.schema import PAPER_REFERENCES, embeddings, papers, sync_state
from paperscope.store.topics import TopicStore

if TYPE_CHECKING:
    from paperscope.store.web import WebStore

_PAPER_FIELDS = [f.name for f in dataclasses.fields(Paper)]
_paper_values = operator.attrgetter(*_PAPER_FIELDS)
# SQLite allows 32766 bound parameters; PostgreSQL 65535. Stay well below both.
_IN_CHUNK = 900


def engine_url(database: str) -> str:
    """Turn a `--db` value (a file path or a URL) into a SQLAlchemy URL."""
    if "://" not in database:
        return f"sqlite:///{Path(database).expanduser().resolve()}"
    if database.startswith(("postgresql://", "postgres://")):
        require_extra("psycopg", "postgres", "A PostgreSQL database")
        return "postgresql+psycopg://" + database.split("://", 1)[1]
    return database


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


_JSON_CODEC: dict[str, Any] = {"json_serializer": _dump_json, "json_deserializer": orjson.loads}


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"Cannot create the folder for the database {path}: {exc}. "
                                 "Pass --db with a writable path.") from exc
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **_JSON_CODEC)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **_JSON_CODEC)


class SQLStore(Store):
    """All database I/O of paperscope."""

    def __init__(self, database: str) -> None:
        self.url = engine_url(database)
        self.engine = _create_engine(self.url)
        try:
            migrate.upgrade(self.engine)
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise StoreError(f"Cannot open the database {self._display_url()}: {exc.orig}. "
                             "Check the path or URL (--db or PAPERSCOPE_DATABASE_URL) and that "
                             "the server is running.") from exc

    def _display_url(self) -> str:
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

    def upsert_papers(self, batch: Sequence[Paper]) -> list[Outcome]:
        with self.engine.begin() as conn:
            return _BatchMerge(conn, batch).run()

    def get_paper(self, paper_id: str) -> Paper | None:
        parsed = parse_arxiv_id(paper_id)
        key = parsed[0] if parsed else paper_id
        return self.get_papers([key]).get(key)

    def get_papers(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return _select_by(conn, papers.c.id, list(paper_ids))

    def iter_papers(self, batch_size: int = 1000) -> Iterator[Paper]:
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(papers).where(papers.c.id > last)
                                    .order_by(papers.c.id).limit(batch_size)).mappings().all()
            if not rows:
                return
            yield from (_paper_from_row(row) for row in rows)
            last = rows[-1]["id"]

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
            source_lists = conn.execute(sa.select(papers.c.sources)).scalars()
            by_source: dict[str, int] = {}
            for sources in source_lists:
                for source in sources:
                    by_source[source] = by_source.get(source, 0) + 1
        return {
            "papers": int(total),
            "by_source": dict(sorted(by_source.items())),
            "by_primary_category": {cat or "unknown": int(n) for cat, n in categories},
            "published_from": first.isoformat() if first else None,
            "published_to": last.isoformat() if last else None,
            "schema_version": self.schema_version(),
            "database": self._display_url(),
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
            return set(conn.execute(sa.select(papers.c.id).where(paper_filter_condition(filters))).scalars())

    # Embeddings -----------------------------------------------------------------------------

    def _to_embed_query(self, model: str) -> sa.Select[Any]:
        joined = papers.outerjoin(embeddings, sa.and_(embeddings.c.paper_id == papers.c.id,
                                                      embeddings.c.model == model))
        return (sa.select(papers).select_from(joined)
                .where(sa.or_(embeddings.c.paper_id.is_(None),
                              embeddings.c.content_hash != papers.c.content_hash)))

    def papers_to_embed(self, model: str, batch_size: int = 256) -> Iterator[list[Paper]]:
        last = ""
        while True:
            query = self._to_embed_query(model).where(papers.c.id > last).order_by(papers.c.id).limit(batch_size)
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            last = rows[-1]["id"]
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
        with self.engine.begin() as conn:
            conn.execute(embeddings.delete().where(embeddings.c.model == model,
                                                   embeddings.c.paper_id.in_([p.id for p in batch])))
            conn.execute(embeddings.insert(), rows)

    def iter_embeddings(self, model: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                        batch_size: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
        last = ""
        while True:
            query = (sa.select(embeddings.c.paper_id, embeddings.c.vector)
                     .where(embeddings.c.model == model, embeddings.c.paper_id > last)
                     .order_by(embeddings.c.paper_id).limit(batch_size))
            if since is not None:
                query = query.where(embeddings.c.created_at > since)
            if until is not None:
                query = query.where(embeddings.c.created_at <= until)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            last = rows[-1][0]
            yield [row[0] for row in rows], np.vstack([np.frombuffer(row[1], dtype="<f4") for row in rows])

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
        with self.engine.begin() as conn:
            return int(conn.execute(embeddings.delete().where(embeddings.c.model == model)).rowcount)

    # Sync state -----------------------------------------------------------------------------

    def get_sync_state(self, source: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            state = conn.execute(sa.select(sync_state.c.state)
                                 .where(sync_state.c.source == source)).scalar_one_or_none()
        return dict(state) if state is not None else None

    def set_sync_state(self, source: str, state: dict[str, Any] | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sync_state.delete().where(sync_state.c.source == source))
            if state is not None:
                conn.execute(sync_state.insert().values(source=source, state=state, updated_at=_now()))


def paper_filter_condition(filters: PaperFilter) -> sa.ColumnElement[bool]:
    """The filters (date range, category, author) as a WHERE clause on `papers`."""
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.published_from:
        conditions.append(papers.c.published >= filters.published_from)
    if filters.published_to:
        conditions.append(papers.c.published <= filters.published_to)
    if filters.category:
        # JSON arrays are stored as text; match the quoted element, e.g. "cs.LG".
        conditions.append(sa.cast(papers.c.categories, sa.Text).contains(json.dumps(filters.category)))
    if filters.author:
        needle = filters.author.strip().lower()
        key = author_key(needle)
        author_match = sa.func.lower(sa.cast(papers.c.authors, sa.Text)).contains(needle)
        conditions.append(sa.or_(papers.c.first_author_key == key, author_match) if key else author_match)
    return sa.and_(sa.true(), *conditions)


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
        query = sa.select(papers.c.id).where(papers.c.id >= DERIVED_ID_PREFIX,
                                             papers.c.id < DERIVED_ID_PREFIX[:-1] + ".").limit(1)
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
        now = _now()
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
