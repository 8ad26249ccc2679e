"""indexing.py: the embedding loop (batches, progress, stop) and the topic-map rule of each caller.

The topic map's own building and placing are tested in tests/test_topics.py; here they are recorded, so the
rules (which map is built or placed into, when) are checked on a few papers with the hashing embedder.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperscope.config import Settings
from paperscope.errors import PaperscopeError
from paperscope.index.search import SearchEngine
from paperscope.indexing import (
    EMBED_BATCH,
    KEEP_MAP_CURRENT,
    LEAVE_MAP,
    PLACE_IN_MAP,
    TopicMapRule,
    index_papers,
)
from paperscope.models import Paper
from paperscope.store import open_store
from paperscope.store.topics import MapInfo

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

pytest.importorskip("paperscope.topics.build", reason="the topics extra is not installed")

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def papers(count: int, start: int = 0) -> list[Paper]:
    return [Paper(id=f"2503.{n:05d}", title=f"Paper {n} on graphs", abstract=f"Abstract {n}.", sources=["jsonl"])
            for n in range(start, start + count)]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[SearchEngine]:
    settings = Settings(database_url=str(tmp_path / "i.db"), embedding_model="hashing",
                        index_dir=str(tmp_path / "index"))
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers(150))
        yield SearchEngine(store, settings)


@pytest.fixture
def topic_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What indexing asked of topics/build.py: "build" or "place"."""
    import paperscope.topics.build as build

    calls: list[str] = []

    def build_map(store: Any, settings: Settings, *, model_name: str) -> None:
        calls.append("build")

    def assign_new(store: Any, *, model_name: str) -> int:
        calls.append("place")
        return 7

    monkeypatch.setattr(build, "build_map", build_map)
    monkeypatch.setattr(build, "assign_new", assign_new)
    return calls


def with_map(monkeypatch: pytest.MonkeyPatch, engine: SearchEngine, *, model: str | None = None,
             age: dt.timedelta = dt.timedelta(days=1)) -> None:
    info = MapInfo(id=1, model=model or engine.embedder.name, built_at=NOW - age, n_papers=100, n_topics=5,
                   n_outliers=0, params={})
    monkeypatch.setattr(engine.store.topics, "current_map", lambda: info)


def test_embeds_in_batches_reports_progress_and_indexes(engine: SearchEngine) -> None:
    seen: list[tuple[int, int]] = []
    report = index_papers(engine, progress=lambda done, total: seen.append((done, total)))
    assert report.embedded == report.keyword_updated == report.vectors_added == 150
    assert seen == [(0, 150), (EMBED_BATCH, 150), (2 * EMBED_BATCH, 150), (150, 150)]
    assert not report.stopped and report.placed == 0 and not report.map_built
    assert index_papers(engine).embedded == 0


def test_a_stop_ends_the_run_between_batches_and_nothing_is_indexed(engine: SearchEngine) -> None:
    asked = iter([False, True])
    report = index_papers(engine, should_stop=lambda: next(asked))
    assert report.stopped and report.embedded == EMBED_BATCH
    assert report.keyword_updated == report.vectors_added == 0
    assert index_papers(engine).embedded == 150 - EMBED_BATCH  # resumes where it stopped


def test_the_command_places_into_a_map_of_its_model_and_never_builds(
        engine: SearchEngine, topic_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert index_papers(engine, topic_map=PLACE_IN_MAP).placed == 0 and topic_calls == []  # no map
    with_map(monkeypatch, engine, model="another-model")
    assert index_papers(engine, topic_map=PLACE_IN_MAP).placed == 0 and topic_calls == []
    with_map(monkeypatch, engine, age=dt.timedelta(days=30))
    assert index_papers(engine, topic_map=PLACE_IN_MAP).placed == 7 and topic_calls == ["place"]


def test_digests_leave_the_map_alone(engine: SearchEngine, topic_calls: list[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with_map(monkeypatch, engine)
    assert index_papers(engine, topic_map=LEAVE_MAP).placed == 0 and topic_calls == []


def test_the_jobs_build_a_missing_foreign_or_stale_map_and_place_into_a_current_one(
        engine: SearchEngine, topic_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stages: list[str] = []
    report = index_papers(engine, topic_map=KEEP_MAP_CURRENT, on_stage=stages.append, clock=lambda: NOW)
    assert topic_calls == [] and not report.map_built  # no map, but 150 papers are too few for one
    assert stages == ["updating the search indexes"]
    few = TopicMapRule(place=True, build=True, min_papers=100)
    report = index_papers(engine, topic_map=few, on_stage=stages.append, clock=lambda: NOW)
    assert topic_calls == ["build"] and report.map_built and stages[-1] == "building the topic map"
    for model, age, expected in [("another-model", dt.timedelta(days=1), "build"),
                                 (None, dt.timedelta(days=8), "build"),
                                 (None, dt.timedelta(days=6), "place")]:
        with_map(monkeypatch, engine, model=model, age=age)
        topic_calls.clear()
        index_papers(engine, topic_map=few, clock=lambda: NOW)
        assert topic_calls == [expected], (model, age)


def test_a_map_that_cannot_be_built_is_a_problem_not_a_failure(engine: SearchEngine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import paperscope.topics.build as build

    def build_map(*args: object, **kwargs: object) -> None:
        raise PaperscopeError("too few topics")

    monkeypatch.setattr(build, "build_map", build_map)
    report = index_papers(engine, topic_map=TopicMapRule(place=True, build=True, min_papers=1))
    assert report.embedded == 150 and not report.map_built
    assert report.problems == ["The topic map could not be built: too few topics"]


def test_the_progress_total_counts_papers_stored_during_the_run(engine: SearchEngine) -> None:
    """An ingest beside the run (another process, the background job) adds papers while they are embedded:
    the status line's total follows, so it never reads "embedding papers (13952 of 1609)"."""
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == EMBED_BATCH:
            engine.store.upsert_papers(papers(200, start=1000))  # stored after the run counted its work

    report = index_papers(engine, progress=progress)
    assert report.embedded == 350
    assert all(done <= total for done, total in seen), seen
    assert seen[:3] == [(0, 150), (EMBED_BATCH, 150), (2 * EMBED_BATCH, 350)] and seen[-1] == (350, 350)
