"""Papers changed -> embedded -> in the search indexes -> placed in the topic map: the one place that does it.

    report = index_papers(engine)                                    # `paperscope index`
    report = index_papers(engine, topic_map=KEEP_MAP_CURRENT, ...)   # the background jobs
    report = index_papers(engine, topic_map=LEAVE_MAP)               # `paperscope digest send`

`index_papers` embeds, with the engine's model, every stored paper that has no vector of it yet or whose text
changed since (EMBED_BATCH papers at a time, each batch stored at once, so an interrupted run resumes where it
stopped; with `cluster`, on a Dask cluster), folds the new papers and vectors into the engine's keyword and vector
indexes (`SearchEngine.refresh`), then applies a `TopicMapRule`:

* `PLACE_IN_MAP` (the default, `paperscope index`): the newly embedded papers go into the topics of the current
  map when it was built from the same model; no map is ever built;
* `KEEP_MAP_CURRENT` (the background jobs): the same, except that a map is built when there is none, it is of
  another model, or it is older than MAP_REBUILD_AFTER, given at least MIN_PAPERS_FOR_MAP papers;
* `LEAVE_MAP` (digests): the map is not touched (`paperscope index` or the jobs place the papers later).

docs/decisions/0020-one-indexing-module.md says why the callers keep different rules.

Last, with `tune_search="due"` (the default), hybrid search's fusion is tuned on the stored papers
(index/tuning.py) when there is no tuning for the model yet or the papers have grown by
PAPERSCOPE_SEARCH_RETUNE_GROWTH since; "now" tunes whatever the growth, "never" leaves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from paperscope.embed.base import document_text
from paperscope.errors import PaperscopeError
from paperscope.index.search import SearchEngine
from paperscope.models import Paper

if TYPE_CHECKING:
    from paperscope.index.tuning import TuningResult

EMBED_BATCH = 64
MIN_PAPERS_FOR_MAP = 200  # fewer papers make a map of a handful of topics that says little
MAP_REBUILD_AFTER = dt.timedelta(days=7)  # a weekly rebuild is what surfaces emerging topics

ProgressCallback = Callable[[int, int], None]  # (papers embedded so far, papers to embed)
StageCallback = Callable[[str], None]  # what is being done now, for a status line
Clock = Callable[[], dt.datetime]
TuneSearch = Literal["due", "now", "never"]


@dataclass(frozen=True)
class TopicMapRule:
    """What indexing does to the topic map: `place` new papers into the current map of the same model, and
    `build` a map when there is none, it is of another model, or it is stale (module docstring)."""

    place: bool
    build: bool = False
    min_papers: int = MIN_PAPERS_FOR_MAP
    rebuild_after: dt.timedelta = MAP_REBUILD_AFTER


LEAVE_MAP = TopicMapRule(place=False)
PLACE_IN_MAP = TopicMapRule(place=True)
KEEP_MAP_CURRENT = TopicMapRule(place=True, build=True)


@dataclass
class IndexReport:
    """What one `index_papers` run did."""

    embedded: int = 0
    keyword_updated: int = 0
    vectors_added: int = 0
    placed: int = 0  # papers placed into the topic map
    map_built: bool = False
    stopped: bool = False  # `should_stop` said so before every paper was embedded; nothing was indexed
    notes: list[str] = field(default_factory=list)  # worth telling, nothing failed
    problems: list[str] = field(default_factory=list)  # a step that failed (the topic map could not be built)
    tuning: TuningResult | None = None  # the search tuning this run made, if it made one


def index_papers(engine: SearchEngine, *, rebuild: bool = False, reembed: bool = False,
                 topic_map: TopicMapRule = PLACE_IN_MAP, check_versions: bool = True,
                 progress: ProgressCallback | None = None, on_stage: StageCallback | None = None,
                 should_stop: Callable[[], bool] | None = None, cluster: str | None = None, workers: int = 2,
                 clock: Clock | None = None, tune_search: TuneSearch = "due") -> IndexReport:
    """Embed new and changed papers, bring both of the engine's indexes up to date, then apply `topic_map`.

    `rebuild` empties both indexes before they are filled again from the store; `reembed` forgets the model's
    vectors first (and rebuilds). With `check_versions` the report notes vectors of the model made by another
    version of it. `progress(done, total)` is called as embedding starts and after each stored batch, `total`
    being the papers embedded so far plus those pending then; `on_stage`
    with a few words as each later step starts. When `should_stop()` turns true before a batch, the run ends
    there, reporting `stopped` (nothing is indexed). `cluster` ("local" or a Dask scheduler address) embeds on
    that cluster (`workers` processes of a local one). `clock` gives the time a map's age is measured against.
    `tune_search`: when to tune hybrid search's fusion (module docstring).
    """
    store, embedder = engine.store, engine.embedder
    report = IndexReport()
    if reembed:
        store.delete_embeddings(embedder.name)
        rebuild = True
    if check_versions:
        report.notes.extend(_stale_version_notes(engine))
    report.embedded, report.stopped = embed_pending(engine, progress=progress, should_stop=should_stop,
                                                    cluster=cluster, workers=workers)
    if report.stopped:
        return report
    say = on_stage or (lambda _text: None)
    say("updating the search indexes")
    if rebuild:
        engine.clear()
    report.keyword_updated, report.vectors_added = engine.refresh()
    update_topic_map(engine, topic_map, report, on_stage=say, clock=clock)
    update_search_tuning(engine, tune_search, report, on_stage=say)
    return report


def update_search_tuning(engine: SearchEngine, when: TuneSearch, report: IndexReport, *,
                         on_stage: StageCallback | None = None) -> None:
    """Tune hybrid search's fusion on the stored papers when `when` says so (module docstring), store the tuning
    and have the engine search with it. A store too small to tune on is left to the fixed fusion (a problem in the
    report only when the tuning was asked for "now")."""
    from paperscope.errors import InputError
    from paperscope.index.tuning import save_tuning, tune_fusion, tuning_due

    if when == "never" or (when == "due" and not tuning_due(engine.store, engine.settings, engine.embedder.name)):
        return
    (on_stage or (lambda _text: None))("tuning hybrid search on the stored papers")
    try:
        result = tune_fusion(engine.store, engine.embedder, engine.settings, clock=None)
    except InputError as exc:
        if when == "now":
            report.problems.append(str(exc))
        return
    save_tuning(engine.store, result)
    engine.use_fusion(None)  # the engine reads the stored tuning (and the setting that may turn it off) again
    report.tuning = result


def embed_pending(engine: SearchEngine, *, progress: ProgressCallback | None = None,
                  should_stop: Callable[[], bool] | None = None, cluster: str | None = None,
                  workers: int = 2) -> tuple[int, bool]:
    """Embed and store the papers that have no vector of the engine's model (or an outdated one); returns how
    many were embedded and whether `should_stop` ended it early (it is asked before each batch is embedded)."""
    store, embedder = engine.store, engine.embedder
    total = store.count_papers_to_embed(embedder.name)
    done = 0
    stopped = False

    def wanted() -> Iterator[list[Paper]]:
        nonlocal stopped
        for number, batch in enumerate(store.papers_to_embed(embedder.name, batch_size=EMBED_BATCH)):
            if should_stop is not None and should_stop():
                stopped = True
                return
            if number == 0 and progress is not None:
                progress(0, total)
            yield batch

    for batch, vectors in _embedded(engine, wanted(), cluster, workers):
        store.save_embeddings(embedder.name, embedder.version, batch, vectors)
        done += len(batch)
        if progress is not None:
            # Papers stored meanwhile (an ingest beside this run) are work too: the total is what is done
            # plus what is pending now.
            total = done + store.count_papers_to_embed(embedder.name)
            progress(done, total)
    return done, stopped


def _embedded(engine: SearchEngine, batches: Iterator[list[Paper]], cluster: str | None, workers: int
              ) -> Iterator[tuple[list[Paper], np.ndarray]]:
    """(batch, vectors) pairs: embedded here, or on the Dask cluster at `cluster`."""
    embedder = engine.embedder
    if cluster is not None:
        from paperscope.embed.cluster import embed_on_cluster

        yield from embed_on_cluster(embedder, batches, cluster, workers=workers)
        return
    for batch in batches:
        yield batch, embedder.embed([document_text(p) for p in batch])


def _stale_version_notes(engine: SearchEngine) -> list[str]:
    model, version = engine.embedder.name, engine.embedder.version
    stale = [v for v in engine.store.embedding_models().get(model, {}).get("versions", []) if v != version]
    if not stale:
        return []
    return [f"some vectors of {model} were made by {', '.join(stale)}, not {version}; run paperscope index "
            "--reembed to redo them"]


def update_topic_map(engine: SearchEngine, rule: TopicMapRule, report: IndexReport, *,
                     on_stage: StageCallback | None = None, clock: Clock | None = None) -> None:
    """Apply `rule` to the stored topic map (module docstring), counting into `report`. Nothing happens when the
    topics extra is not installed (the topic pages say how to get a map)."""
    if not rule.place and not rule.build:
        return
    store, model = engine.store, engine.embedder.name
    say = on_stage or (lambda _text: None)
    current = store.topics.current_map()
    if rule.build:
        now = clock() if clock is not None else dt.datetime.now(dt.UTC)
        if current is None or current.model != model or now - current.built_at > rule.rebuild_after:
            _build_map(engine, rule, report, say)
            return
    if not rule.place or current is None or current.model != model:
        return
    try:
        from paperscope.topics.build import assign_new
    except ImportError:
        return
    say("placing new papers into the topic map")
    report.placed = assign_new(store, model_name=model)


def _build_map(engine: SearchEngine, rule: TopicMapRule, report: IndexReport, say: StageCallback) -> None:
    try:
        from paperscope.topics.build import build_map
    except ImportError:
        return
    if engine.store.count_papers() < rule.min_papers:
        return
    say("building the topic map")
    try:
        build_map(engine.store, engine.settings, model_name=engine.embedder.name)
    except PaperscopeError as exc:
        report.problems.append(f"The topic map could not be built: {exc}")
    else:
        report.map_built = True
