"""The topic map in the store: stable ids, retiring, incremental assignments, weeks, and the migration."""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from paperscope.models import Paper
from paperscope.store import SQLStore, Store
from paperscope.store.schema import metadata
from paperscope.store.topics import Assignment, Neighbour, OtherTopic, TopicRecord, week_start


def _topic(topic_id: int, label: str, size: int) -> TopicRecord:
    vector = np.zeros(4, dtype=np.float32)
    vector[topic_id % 4] = 1
    return TopicRecord(id=topic_id, label=label, keywords=[label, "more"], representative_ids=[], size=size,
                       cohesion=0.5, centroid=vector, neighbours=[Neighbour(99, 0.25)])


def test_a_map_is_saved_read_and_replaced_with_ids_kept_or_retired(store: Store) -> None:
    store.upsert_papers([Paper(id=f"2501.0000{i}", title=f"P{i}", published=dt.date(2025, 1, 6 + i))
                         for i in range(1, 5)])
    assert store.topics.current_map() is None and store.topics.next_topic_id() == 1
    first = store.topics.save_map("m", [_topic(1, "graphs", 2), _topic(2, "speech", 1)], [
        Assignment("2501.00001", 1, 0.9, [OtherTopic(2, 0.6)], 0.1, 0.2),
        Assignment("2501.00002", 1, 0.8), Assignment("2501.00003", 2, 0.7), Assignment("2501.00004", None, 0.1)],
        params={"k": 2}, state=b"npz")
    assert (first.n_papers, first.n_topics, first.n_outliers, first.params) == (4, 2, 1, {"k": 2})
    assert store.topics.map_state(first.id) == b"npz"
    graphs = store.topics.get_topic(1)
    assert graphs is not None and graphs.keywords == ["graphs", "more"] and graphs.neighbours == [Neighbour(99, 0.25)]
    assert graphs.centroid.tolist() == [0, 1, 0, 0]
    assert store.topics.paper_ids(1) == ["2501.00001", "2501.00002"]
    assert store.topics.related_paper_ids(2) == ["2501.00001"]
    assert store.topics.assignment("2501.00001") == Assignment("2501.00001", 1, 0.9, [OtherTopic(2, 0.6)], 0.1, 0.2)
    assert store.topics.sizes_per_week() == {1: {dt.date(2025, 1, 6): 2}, 2: {dt.date(2025, 1, 6): 1}}

    # A rebuild keeps topic 1, drops topic 2 (retired) and adds topic 3; ids are never reused.
    store.topics.save_map("m", [_topic(1, "graph learning", 3), _topic(3, "robots", 1)], [
        Assignment("2501.00001", 1, 0.9), Assignment("2501.00002", 1, 0.8), Assignment("2501.00003", 1, 0.7),
        Assignment("2501.00004", 3, 0.6)], params={})
    assert [t.id for t in store.topics.list_topics()] == [1, 3]
    retired = store.topics.get_topic(2)
    assert retired is not None and retired.retired_at is not None
    assert [t.id for t in store.topics.list_topics(include_retired=True)] == [1, 3, 2]
    assert store.topics.next_topic_id() == 4
    kept = store.topics.get_topic(1)
    assert kept is not None and graphs.created_at == kept.created_at and kept.label == "graph learning"

    # Incremental: a new paper joins topic 3 and the sizes follow.
    store.upsert_papers([Paper(id="2501.00005", title="P5", published=dt.date(2025, 1, 14))])
    assert store.topics.add_assignments([Assignment("2501.00005", 3, 0.5)]) == 1
    robots = store.topics.get_topic(3)
    assert robots is not None and robots.size == 2
    assert store.topics.sizes_per_week(3) == {3: {dt.date(2025, 1, 6): 1, dt.date(2025, 1, 13): 1}}
    current = store.topics.current_map()
    assert current is not None and current.n_papers == 5 and current.n_outliers == 0


def test_unassigned_embeddings_are_those_without_an_assignment(store: Store) -> None:
    batch = [Paper(id=f"2501.0000{i}", title=f"P{i}") for i in range(1, 4)]
    store.upsert_papers(batch)
    store.save_embeddings("m", "1", batch, np.eye(3, 4, dtype=np.float32))
    store.topics.save_map("m", [_topic(1, "a", 1)], [Assignment("2501.00001", 1, 1.0)], params={})
    ids = [i for chunk, _ in store.topics.unassigned_embeddings("m") for i in chunk]
    assert ids == ["2501.00002", "2501.00003"]


def test_papers_not_built_are_the_unassigned_and_those_assigned_since_the_build(store: Store) -> None:
    batch = [Paper(id=f"2501.0000{i}", title=f"P{i}") for i in range(1, 6)]
    store.upsert_papers(batch)
    store.save_embeddings("m", "1", batch[:4], np.eye(4, 4, dtype=np.float32))
    store.save_embeddings("other", "1", batch[4:], np.eye(1, 4, dtype=np.float32))
    assert store.topics.papers_not_built("m") == {"2501.00001", "2501.00002", "2501.00003", "2501.00004"}
    store.topics.save_map("m", [_topic(1, "a", 2)], [Assignment("2501.00001", 1, 1.0),
                                                      Assignment("2501.00002", 1, 0.9)], params={})
    store.topics.add_assignments([Assignment("2501.00003", 1, 0.8)])  # incrementally, after the build
    assert store.topics.papers_not_built("m") == {"2501.00003", "2501.00004"}
    assert store.topics.papers_not_built("other") == {"2501.00005"}


def test_week_start_is_monday() -> None:
    assert week_start(dt.date(2025, 3, 23)) == dt.date(2025, 3, 17)  # a Sunday
    assert week_start(dt.date(2025, 3, 17)) == dt.date(2025, 3, 17)


def test_migrations_build_the_schema_of_schema_py(store: Store) -> None:
    assert isinstance(store, SQLStore)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    topic_diffs = [d for d in diff if "topic" in repr(d)]
    assert topic_diffs == []
    assert {"topics", "topic_maps", "topic_assignments"} <= set(sa.inspect(store.engine).get_table_names())
