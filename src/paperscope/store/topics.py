"""The topic map in the database: builds, topics with stable ids, and one assignment per paper.

`TopicStore` shares the engine of a `SQLStore` (`store.topics`); like the rest of `store/`, it is the only
code that reads or writes these tables. `paperscope.topics` computes maps; this module keeps them.

What is stored (tables in schema.py, section "Topics"):

* a **map** (`MapInfo`) per build: the embedding model, when, how many papers, topics and outliers, the
  parameters (method, chosen k, ...), the broad `areas` its topics were merged into (`TopicArea`: the map's
  upper level) and the fitted model's state (`state`, bytes) that incremental assignment predicts with. The
  newest build is the current map.
* **topics** (`TopicRecord`): `id` (stable: a rebuild matches new topics to old ones by centroid and keeps
  their ids; an old topic that no longer matches is retired, `retired_at` set, and its id is never reused),
  `label`, `keywords`, `representative_ids` (most central papers first), `size`, `cohesion` (0..1),
  `centroid` (unit vector in the embedding space), `x`/`y` (its centre on the 2-D map), `neighbours`
  (nearest topics with a `separability` 0..1: low means an uncertain border), `parent_id` (the earlier topic
  it split from), `emerging` and `emerged_at` (new against the previous map, and since when), `description`
  (an LLM explanation, when asked for), `created_at`.
* **assignments** (`Assignment`): per paper its main `topic_id` (None for an outlier), `score` (cosine to the
  topic centre), `other_topics` (further topics it is close to, with scores), `x`/`y` on the map.

Reading, for pages and the CLI: `current_map()`, `list_topics()`, `get_topic(id)`, `paper_ids(topic_id)`,
`assignment(paper_id)`, `labels_of(paper_ids)`, `assignments()`, `layout()`, `sizes_per_week()`. Writing:
`save_map(...)` replaces the whole current map in one transaction; `add_assignments(...)` adds papers to it
incrementally.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.store.db import (
    as_date,
    as_utc,
    decoded_vectors,
    in_chunks,
    inserted_id,
    keyset_batches,
    utc_now,
    write_transaction,
)
from paperscope.store.schema import MAX_RECORD_ID, embeddings, papers, topic_assignments, topic_maps, topics


@dataclass(frozen=True, slots=True)
class TopicArea:
    """A broad area of the map: a group of neighbouring topics (`topic_ids`), its label and centre."""

    id: int  # 1.. within its build, the area with the most topics first
    label: str
    keywords: list[str]
    topic_ids: list[int]
    size: int  # papers in its topics when the map was built
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class MapInfo:
    """One build of the topic map."""

    id: int
    model: str
    built_at: dt.datetime
    n_papers: int
    n_topics: int
    n_outliers: int
    params: dict[str, Any]
    areas: list[TopicArea] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: int
    separability: float  # 0: the two topics overlap completely in the map; 1: a clean border


@dataclass(frozen=True, slots=True)
class OtherTopic:
    id: int
    score: float


@dataclass(slots=True)
class TopicRecord:
    """A topic as stored. `id` is stable across rebuilds."""

    id: int
    label: str
    keywords: list[str]
    representative_ids: list[str]
    size: int
    cohesion: float
    centroid: np.ndarray
    x: float = 0.0
    y: float = 0.0
    neighbours: list[Neighbour] = field(default_factory=list)
    parent_id: int | None = None
    emerging: bool = False
    emerged_at: dt.date | None = None
    description: str | None = None
    created_at: dt.datetime | None = None  # set by save_map for a new topic
    retired_at: dt.datetime | None = None
    map_id: int | None = None


@dataclass(slots=True)
class Assignment:
    """Where one paper sits in the map."""

    paper_id: str
    topic_id: int | None  # None: an outlier
    score: float
    other_topics: list[OtherTopic] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0


class TopicStore:
    """Database I/O for topic maps. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Writing ----------------------------------------------------------------------------------

    def save_map(self, model: str, records: Sequence[TopicRecord], assignments: Iterable[Assignment], *,
                 params: dict[str, Any], state: bytes | None = None,
                 areas: Sequence[TopicArea] = ()) -> MapInfo:
        """Make this the current map, in one transaction: topics are upserted by id (ids chosen by the
        caller; see `next_topic_id`), current topics not among them are retired, and every assignment
        is replaced by the given ones."""
        now = utc_now()
        with write_transaction(self.engine) as conn:
            map_id = inserted_id(conn.execute(topic_maps.insert().values(
                model=model, built_at=now, n_papers=0, n_topics=len(records), n_outliers=0, params=params,
                state=state, areas=[_area_row(a) for a in areas])))
            created = dict(conn.execute(sa.select(topics.c.id, topics.c.created_at)).all())
            ids = [r.id for r in records]
            conn.execute(topics.update().where(topics.c.retired_at.is_(None), topics.c.id.notin_(ids))
                         .values(retired_at=now))
            conn.execute(topic_assignments.delete())
            if ids:
                conn.execute(topics.delete().where(topics.c.id.in_(ids)))
                conn.execute(topics.insert(), [_topic_row(r, map_id, created.get(r.id) or now) for r in records])
            n_papers = n_outliers = 0
            for batch in _batched(assignments, 5000):  # a generator of millions is never held whole
                conn.execute(topic_assignments.insert(), [_assignment_row(a, map_id, now) for a in batch])
                n_papers += len(batch)
                n_outliers += sum(1 for a in batch if a.topic_id is None)
            conn.execute(topic_maps.update().where(topic_maps.c.id == map_id)
                         .values(n_papers=n_papers, n_outliers=n_outliers))
            return _map_info(conn.execute(sa.select(topic_maps).where(topic_maps.c.id == map_id)).mappings().one())

    def add_assignments(self, assignments: Sequence[Assignment]) -> int:
        """Add (or replace) papers' assignments in the current map and update topic sizes; returns how many."""
        if not assignments:
            return 0
        now = utc_now()
        with write_transaction(self.engine) as conn:
            map_id = conn.execute(sa.select(sa.func.max(topic_maps.c.id))).scalar()
            if map_id is None:
                raise ValueError("there is no topic map to add to")
            for chunk in in_chunks([a.paper_id for a in assignments]):
                conn.execute(topic_assignments.delete().where(topic_assignments.c.paper_id.in_(chunk)))
            conn.execute(topic_assignments.insert(), [_assignment_row(a, map_id, now) for a in assignments])
            _recount(conn, map_id)
        return len(assignments)

    def set_descriptions(self, descriptions: dict[int, str | None]) -> None:
        """Attach (or with None, remove) LLM explanations of topics."""
        with write_transaction(self.engine) as conn:
            for topic_id, text in descriptions.items():
                conn.execute(topics.update().where(topics.c.id == topic_id).values(description=text))

    def next_topic_id(self) -> int:
        """The id a new topic gets: one above every id ever used (retired ones included)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(topics.c.id))).scalar() or 0) + 1

    # Reading ----------------------------------------------------------------------------------

    def current_map(self) -> MapInfo | None:
        """The newest build, or None when no map was built yet."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(topic_maps).order_by(topic_maps.c.id.desc()).limit(1)).mappings().first()
        return _map_info(row) if row else None

    def map_state(self, map_id: int) -> bytes | None:
        """The fitted model saved with a build."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(topic_maps.c.state).where(topic_maps.c.id == map_id)).scalar()

    def list_topics(self, *, include_retired: bool = False) -> list[TopicRecord]:
        """The current topics, largest first (retired ones too, after them, when asked)."""
        query = sa.select(topics).order_by(topics.c.retired_at.is_not(None), topics.c.size.desc(), topics.c.id)
        if not include_retired:
            query = query.where(topics.c.retired_at.is_(None))
        with self.engine.connect() as conn:
            return [_topic_from_row(row) for row in conn.execute(query).mappings()]

    def get_topic(self, topic_id: int) -> TopicRecord | None:
        """A topic by id, current or retired."""
        if not 0 <= topic_id <= MAX_RECORD_ID:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(topics).where(topics.c.id == topic_id)).mappings().first()
        return _topic_from_row(row) if row else None

    def paper_ids(self, topic_id: int, *, limit: int | None = None, offset: int = 0) -> list[str]:
        """Papers whose main topic this is, most central first."""
        query = (sa.select(topic_assignments.c.paper_id).where(topic_assignments.c.topic_id == topic_id)
                 .order_by(topic_assignments.c.score.desc(), topic_assignments.c.paper_id).offset(offset))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def related_paper_ids(self, topic_id: int, *, limit: int = 50) -> list[str]:
        """Papers that list this topic among their other topics (their main topic is another one)."""
        needle = f'"id": {topic_id},'
        compact = f'"id":{topic_id},'
        text = sa.cast(topic_assignments.c.other_topics, sa.Text)
        query = (sa.select(topic_assignments.c.paper_id, topic_assignments.c.other_topics)
                 .where(sa.or_(text.contains(needle), text.contains(compact))))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        scored = [(next(o["score"] for o in others if o["id"] == topic_id), pid) for pid, others in rows
                  if any(o["id"] == topic_id for o in others)]
        return [pid for _score, pid in sorted(scored, key=lambda s: (-s[0], s[1]))[:limit]]

    def papers_not_built(self, model: str) -> set[str]:
        """Papers embedded with `model` that the current map was not built from: those without an assignment and
        those assigned to it incrementally since it was built. These are the papers that arrived since the last
        build, so a rebuild never holds the ids of every paper it was built from (10M strings at 10M papers)."""
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(topic_maps.c.id))).scalar()
            joined = (embeddings
                      .outerjoin(topic_assignments, sa.and_(topic_assignments.c.paper_id == embeddings.c.paper_id,
                                                            topic_assignments.c.map_id == latest))
                      .outerjoin(topic_maps, topic_maps.c.id == topic_assignments.c.map_id))
            return set(conn.execute(sa.select(embeddings.c.paper_id).select_from(joined).where(
                embeddings.c.model == model,
                sa.or_(topic_assignments.c.paper_id.is_(None),
                       topic_assignments.c.assigned_at > topic_maps.c.built_at))).scalars())

    def assignment(self, paper_id: str) -> Assignment | None:
        """Where a paper sits in the current map, or None if it has no assignment."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(topic_assignments)
                               .where(topic_assignments.c.paper_id == paper_id)).mappings().first()
        return _assignment_from_row(row) if row else None

    def labels_of(self, paper_ids: list[str]) -> dict[str, tuple[int, str]]:
        """(topic id, label) of each of these papers that has a topic in the current map."""
        if not paper_ids:
            return {}
        query = (sa.select(topic_assignments.c.paper_id, topics.c.id, topics.c.label)
                 .select_from(topic_assignments.join(topics, topics.c.id == topic_assignments.c.topic_id))
                 .where(topic_assignments.c.paper_id.in_(paper_ids)))
        with self.engine.connect() as conn:
            return {pid: (int(tid), label) for pid, tid, label in conn.execute(query).all()}

    def assignments(self, batch_size: int = 10_000) -> Iterator[Assignment]:
        """Every paper's assignment, in paper id order."""
        for rows in keyset_batches(self.engine, sa.select(topic_assignments), topic_assignments.c.paper_id,
                                   batch_size):
            yield from (_assignment_from_row(row) for row in rows)

    def layout(self, *, topic_id: int | None = None, limit: int | None = None) -> list[tuple[str, int | None, float,
                                                                                                 float]]:
        """(paper id, topic id, x, y) per paper: the points of the 2-D map (one topic's, when given)."""
        query = sa.select(topic_assignments.c.paper_id, topic_assignments.c.topic_id, topic_assignments.c.x,
                          topic_assignments.c.y).order_by(topic_assignments.c.paper_id)
        if topic_id is not None:
            query = query.where(topic_assignments.c.topic_id == topic_id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [(pid, tid, float(x), float(y)) for pid, tid, x, y in conn.execute(query).all()]

    def unassigned_embeddings(self, model: str, batch_size: int = 10_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """Vectors of `model` whose papers have no assignment yet: what incremental assignment works on."""
        joined = embeddings.outerjoin(topic_assignments, topic_assignments.c.paper_id == embeddings.c.paper_id)
        query = (sa.select(embeddings.c.paper_id, embeddings.c.vector, embeddings.c.vector_dtype)
                 .select_from(joined).where(embeddings.c.model == model, topic_assignments.c.paper_id.is_(None)))
        for rows in keyset_batches(self.engine, query, embeddings.c.paper_id, batch_size):
            yield decoded_vectors(rows)

    def sizes_per_week(self, topic_id: int | None = None) -> dict[int, dict[dt.date, int]]:
        """Papers per topic per week (weeks start on Monday; a paper counts by its published date, else
        the day it was stored): {topic id: {monday: count}}, weeks without papers left out."""
        joined = topic_assignments.join(papers, papers.c.id == topic_assignments.c.paper_id)
        day = sa.func.coalesce(papers.c.published, papers.c.added_at)
        query = (sa.select(topic_assignments.c.topic_id, papers.c.published, papers.c.added_at, sa.func.count())
                 .select_from(joined).where(topic_assignments.c.topic_id.is_not(None))
                 .group_by(topic_assignments.c.topic_id, papers.c.published, papers.c.added_at).order_by(day))
        if topic_id is not None:
            query = query.where(topic_assignments.c.topic_id == topic_id)
        weeks: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
        with self.engine.connect() as conn:
            for tid, published, added_at, count in conn.execute(query):
                monday = week_start(published or as_date(added_at))
                weeks[tid][monday] += int(count)
        return {tid: dict(sorted(per_week.items())) for tid, per_week in weeks.items()}


def week_start(day: dt.date) -> dt.date:
    """The Monday of a date's week."""
    return day - dt.timedelta(days=day.weekday())


# Rows -----------------------------------------------------------------------------------------

def _topic_row(record: TopicRecord, map_id: int, created_at: dt.datetime) -> dict[str, Any]:
    return {
        "id": record.id, "map_id": map_id, "label": record.label, "keywords": list(record.keywords),
        "representative_ids": list(record.representative_ids), "description": record.description,
        "size": int(record.size), "cohesion": float(record.cohesion),
        "centroid": np.asarray(record.centroid, dtype="<f4").tobytes(), "x": float(record.x), "y": float(record.y),
        "neighbours": [{"id": int(n.id), "separability": round(float(n.separability), 4)} for n in record.neighbours],
        "parent_id": record.parent_id, "emerging": bool(record.emerging), "emerged_at": record.emerged_at,
        "created_at": created_at, "retired_at": None,
    }


def _topic_from_row(row: Any) -> TopicRecord:
    return TopicRecord(
        id=row["id"], label=row["label"], keywords=list(row["keywords"]),
        representative_ids=list(row["representative_ids"]), size=row["size"], cohesion=row["cohesion"],
        centroid=np.frombuffer(row["centroid"], dtype="<f4").copy(), x=row["x"], y=row["y"],
        neighbours=[Neighbour(n["id"], n["separability"]) for n in row["neighbours"]], parent_id=row["parent_id"],
        emerging=bool(row["emerging"]), emerged_at=row["emerged_at"], description=row["description"],
        created_at=as_utc(row["created_at"]), retired_at=as_utc(row["retired_at"]) if row["retired_at"] else None,
        map_id=row["map_id"])


def _assignment_row(a: Assignment, map_id: int, now: dt.datetime) -> dict[str, Any]:
    return {"paper_id": a.paper_id, "topic_id": a.topic_id, "score": round(float(a.score), 5),
            "other_topics": [{"id": int(o.id), "score": round(float(o.score), 4)} for o in a.other_topics],
            "x": float(a.x), "y": float(a.y), "map_id": map_id, "assigned_at": now}


def _assignment_from_row(row: Any) -> Assignment:
    return Assignment(paper_id=row["paper_id"], topic_id=row["topic_id"], score=row["score"],
                      other_topics=[OtherTopic(o["id"], o["score"]) for o in row["other_topics"]],
                      x=row["x"], y=row["y"])


def _area_row(area: TopicArea) -> dict[str, Any]:
    return {"id": int(area.id), "label": area.label, "keywords": list(area.keywords),
            "topic_ids": [int(t) for t in area.topic_ids], "size": int(area.size), "x": round(float(area.x), 5),
            "y": round(float(area.y), 5)}


def _map_info(row: Any) -> MapInfo:
    areas = [TopicArea(id=a["id"], label=a["label"], keywords=list(a["keywords"]), topic_ids=list(a["topic_ids"]),
                       size=a["size"], x=a["x"], y=a["y"]) for a in row["areas"] or []]
    return MapInfo(id=row["id"], model=row["model"], built_at=as_utc(row["built_at"]), n_papers=row["n_papers"],
                   n_topics=row["n_topics"], n_outliers=row["n_outliers"], params=dict(row["params"]), areas=areas)


def _recount(conn: Connection, map_id: int) -> None:
    counts: dict[int | None, int] = {tid: int(n) for tid, n in conn.execute(
        sa.select(topic_assignments.c.topic_id, sa.func.count()).group_by(topic_assignments.c.topic_id))}
    for topic_id in conn.execute(sa.select(topics.c.id).where(topics.c.retired_at.is_(None))).scalars():
        conn.execute(topics.update().where(topics.c.id == topic_id).values(size=int(counts.get(topic_id, 0))))
    total = sum(counts.values())
    conn.execute(topic_maps.update().where(topic_maps.c.id == map_id).values(
        n_papers=total, n_outliers=int(counts.get(None, 0))))


def _batched(items: Iterable[Assignment], size: int) -> Iterator[list[Assignment]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
