"""Building, updating and showing the stored topic map (what `paperscope topics` runs).

* `build_map` fits a `TopicModel` on every stored vector of the configured embedding model, labels the topics
  (keyphrases chosen with that model, label_choice.py), merges them into broad areas (areas.py) and labels those,
  keeps topic ids stable (new topics are matched to the current ones by centroid with the Hungarian method;
  a match needs cosine >= MATCH_COSINE), flags emerging topics (novelty.py, over the papers that arrived since the
  last build, with the old centres held fixed), optionally asks an LLM for explanations, and saves it all.
* `assign_new` puts papers embedded since the last build into the existing topics (no refit): `paperscope index`
  runs it after embedding.
* `map_json` is the JSON of `paperscope topics --json`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from paperscope.config import Settings
from paperscope.embed.base import document_text
from paperscope.errors import ConfigError, NotEmbedded, StoreError
from paperscope.store import Store
from paperscope.store.topics import Assignment, MapInfo, Neighbour, OtherTopic, TopicArea, TopicRecord
from paperscope.topics.areas import group_topics
from paperscope.topics.chunks import centroids
from paperscope.topics.label import TopicLabeler
from paperscope.topics.label_choice import Embed
from paperscope.topics.layout import Layout
from paperscope.topics.model import TopicModel
from paperscope.topics.novelty import NovelTopicFinder
from paperscope.topics.ppp import PPP, SMALL_COLLECTION

MATCH_COSINE = 0.8  # a new topic keeps an old topic's id when their centres are at least this similar
PARENT_COSINE = 0.5  # an unmatched new topic names the most similar old topic as its parent above this
EMERGED_FRACTION = 0.1  # a topic emerged on the day by which this share of its papers had appeared
STREAM_ABOVE = 1_000_000  # vectors: past this many the map is built from chunks, never holding them together
CHUNK_PAPERS = 50_000  # vectors (or dates) read at a time when streaming

Progress = Callable[[str], None]


@dataclass
class BuildReport:
    map: MapInfo
    seconds: dict[str, float] = field(default_factory=dict)
    kept_ids: int = 0
    new_ids: int = 0
    retired_ids: int = 0
    emerging: list[int] = field(default_factory=list)


def embedding_model_name(settings: Settings) -> str:
    """The name vectors of the configured model are stored under."""
    from paperscope.embed import get_embedder

    return get_embedder(settings.embedding_model).name


class StoredChunks:
    """The stored vectors of one model, read chunk by chunk as often as `read` is called; the first reading
    collects the papers' ids, every later one checks it meets the same papers in the same order."""

    def __init__(self, store: Store, model_name: str, chunk_papers: int = CHUNK_PAPERS) -> None:
        self.store = store
        self.model_name = model_name
        self.chunk_papers = chunk_papers
        self.count = int(store.embedding_models().get(model_name, {}).get("count", 0))
        self.ids: list[str] = []
        self._read = False

    def read(self) -> Iterator[np.ndarray]:
        first = not self._read
        self._read = True
        start = 0
        for batch_ids, block in self.store.iter_embeddings(self.model_name, batch_size=self.chunk_papers):
            if first:
                self.ids += batch_ids
            elif self.ids[start:start + len(batch_ids)] != batch_ids:
                raise StoreError(STORE_CHANGED)
            start += len(batch_ids)
            yield block
        if start != self.count:
            raise StoreError(STORE_CHANGED)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of those rows, read by id."""
        wanted = [self.ids[int(r)] for r in rows]
        found = self.store.get_embeddings(wanted, self.model_name)
        dim = len(next(iter(found.values()))) if found else 0
        return np.vstack([found[i] for i in wanted]).astype(np.float32) if wanted else np.zeros((0, dim), np.float32)


STORE_CHANGED = ("Vectors were stored or removed while the topic map was being built from them; build it again "
                 "once indexing is done.")


def build_map(store: Store, settings: Settings, *, model_name: str | None = None, balanced: bool = False,
              n_topics: int | None = None, explain_goal: str | None = None, progress: Progress | None = None,
              streamed: bool | None = None, chunk_papers: int = CHUNK_PAPERS) -> BuildReport:
    """Fit, label and store a new topic map from every stored vector of the configured model (with `n_topics`,
    that many topics instead of the number PPP chooses). Above `STREAM_ABOVE` vectors (or with `streamed`) the
    vectors are read `chunk_papers` at a time, pass after pass, and never held together (`TopicModel.fit_chunks`)."""
    say = progress or (lambda _message: None)
    seconds: dict[str, float] = {}
    model_name = model_name or embedding_model_name(settings)
    started = time.perf_counter()
    say("loading the vectors")
    chunks: StoredChunks | None = StoredChunks(store, model_name, chunk_papers)
    assert chunks is not None
    if streamed is False or (streamed is None and chunks.count <= STREAM_ABOVE):
        chunks = None
        ids, X = store.load_embeddings(model_name)
        n = len(ids)
    else:
        ids, X, n = chunks.ids, None, chunks.count
    if n < 2:
        raise NotEmbedded(f"A topic map needs embedded papers, and {n} are embedded with {model_name}. "
                                "Run `paperscope ingest ...` and then `paperscope index` first.")
    seconds["load"] = time.perf_counter() - started
    say(f"clustering {n:,} papers")
    started = time.perf_counter()
    seed = settings.topics_seed
    min_size = settings.topics_min_size or max(2 if n < 100 else 5, n // 100)
    if n_topics:
        min_size = min(min_size, max(1, n // (2 * n_topics)))
    model = TopicModel(clusterer=PPP(min_cluster_size=min_size, max_clusters=settings.topics_max, n_clusters=n_topics,
                                     silhouette_below=SMALL_COLLECTION,
                                     random_state=seed),
                       layout=Layout(random_state=seed), balanced=balanced,
                       other_quantile=settings.topics_other_quantile, random_state=seed)
    vectors_of: Callable[[np.ndarray], np.ndarray]
    if chunks is None:
        assert X is not None
        model.fit(X)
        vectors_of = X.__getitem__
    else:
        model.fit_chunks(chunks.read, n)
        vectors_of = chunks.vectors
    seconds["cluster_and_layout"] = time.perf_counter() - started
    k = model.n_topics_

    say(f"labelling {k} topics")
    started = time.perf_counter()
    rows = _label_rows(model, per_topic=500)
    papers = store.get_papers([ids[i] for i in rows])
    texts = [document_text(papers[ids[i]]) if ids[i] in papers else "" for i in rows]
    embed = _label_embedder(settings, model_name)
    row_vectors = vectors_of(rows)
    labeler = TopicLabeler(embed=embed).fit(texts, model.labels_[rows], model.scores_[rows], centres=model.centres_,
                                            papers=(row_vectors, model.labels_[rows]))
    representatives = [[ids[rows[j]] for j in chosen] for chosen in labeler.representatives_]
    seconds["label"] = time.perf_counter() - started
    started = time.perf_counter()
    area_of_topic = group_topics(model.centres_)
    area_parts = _areas(model, area_of_topic, X, row_vectors, rows, texts, embed)
    seconds["areas"] = time.perf_counter() - started

    say("matching topic ids, looking for emerging topics")
    started = time.perf_counter()
    dates = _days(store, ids)
    previous = store.topics.current_map()
    old_topics = store.topics.list_topics() if previous else []
    topic_ids, parents = _stable_ids(model.centres_, old_topics, store.topics.next_topic_id())
    emerging = _emerging(store, previous, model_name, model, ids, vectors_of, dates, topic_ids,
                         {t.id for t in old_topics}, seed)
    seconds["match_and_novelty"] = time.perf_counter() - started

    descriptions: list[str | None] = [None] * k
    if explain_goal:
        say(f"asking {settings.topics_llm_url} to explain the topics ({explain_goal})")
        descriptions = _explain(settings, explain_goal, texts, model.labels_[rows], model.scores_[rows])

    say(f"saving the map ({n:,} assignments)")
    old_by_id = {t.id: t for t in old_topics}
    records = []
    for topic in range(k):
        members = np.flatnonzero(model.labels_ == topic)
        old = old_by_id.get(topic_ids[topic])
        records.append(TopicRecord(
            id=topic_ids[topic], label=labeler.labels_text_[topic], keywords=labeler.keywords_[topic],
            representative_ids=representatives[topic], size=len(members), cohesion=float(model.cohesion_[topic]),
            centroid=model.centres_[topic], x=float(model.topic_coords_[topic, 0]),
            y=float(model.topic_coords_[topic, 1]),
            neighbours=[Neighbour(topic_ids[j], sep) for j, sep in model.neighbours_[topic]],
            parent_id=parents[topic], emerging=topic in emerging,
            emerged_at=emerging.get(topic) or (old.emerged_at if old else _emerged_at(members, dates)),
            description=descriptions[topic]))
    assignments = (  # a generator: the store writes them in batches
        Assignment(paper_id, topic_ids[model.labels_[row]], float(model.scores_[row]),
                   [OtherTopic(topic_ids[j], float(s)) for j, s in zip(model.other_ids_[row],
                                                                     model.other_scores_[row], strict=True) if j >= 0],
                   float(model.coords_[row, 0]), float(model.coords_[row, 1]))
        for row, paper_id in enumerate(ids))
    params: dict[str, Any] = {
        "method": "ppp" if not n_topics else "ppp, k given", "balanced": balanced, "k": k,
        "min_topic_size": min_size, "seed": seed, "streamed": chunks is not None,
        "silhouette": getattr(model.clusterer, "silhouette_", None), "layout": model.layout.method_ if model.layout
        else None, "goal": explain_goal, "splits_tested": len(getattr(model.clusterer, "splits_", []))}
    model.topic_ids_ = np.asarray(topic_ids)
    started = time.perf_counter()
    areas = [TopicArea(id=area + 1, label=label, keywords=keywords,
                       topic_ids=[topic_ids[t] for t in np.flatnonzero(area_of_topic == area)],
                       size=int(model.sizes_[area_of_topic == area].sum()), x=x, y=y)
             for area, (label, keywords, x, y) in enumerate(area_parts)]
    info = store.topics.save_map(model_name, records, assignments, params=params, state=model.state(), areas=areas)
    seconds["save"] = time.perf_counter() - started
    kept = sum(1 for t in topic_ids if t in old_by_id)
    return BuildReport(info, seconds, kept_ids=kept, new_ids=k - kept, retired_ids=len(old_topics) - kept,
                       emerging=[topic_ids[t] for t in sorted(emerging)])


def assign_new(store: Store, *, model_name: str | None = None) -> int:
    """Assign papers embedded since the map was built to its topics; returns how many were assigned."""
    current = store.topics.current_map()
    if current is None or (model_name is not None and model_name != current.model):
        return 0
    blob = store.topics.map_state(current.id)
    if blob is None:
        return 0
    model = TopicModel.from_state(blob)
    assert model.topic_ids_ is not None
    topic_ids = [int(t) for t in model.topic_ids_]
    added = 0
    for ids, X in store.topics.unassigned_embeddings(current.model):
        placed = model.assign(X)
        added += store.topics.add_assignments([
            Assignment(paper_id, topic_ids[placed.labels[row]], float(placed.scores[row]),
                       [OtherTopic(topic_ids[j], float(s)) for j, s in zip(placed.other_ids[row],
                                                                         placed.other_scores[row], strict=True)
                        if j >= 0],
                       float(placed.coords[row, 0]), float(placed.coords[row, 1]))
            for row, paper_id in enumerate(ids)])
    return added


def map_json(store: Store, *, with_assignments: bool = True) -> dict[str, Any]:
    """The stored map as `paperscope topics --json` prints it."""
    current = store.topics.current_map()
    if current is None:
        return {"map": None, "areas": [], "topics": [], "assignments": {}, "outliers": 0}
    topics = store.topics.list_topics()
    weeks = store.topics.sizes_per_week()
    result: dict[str, Any] = {
        "map": {"id": current.id, "model": current.model, "built_at": current.built_at.isoformat(),
                "papers": current.n_papers, "topics": current.n_topics, "params": current.params},
        "areas": [{"id": a.id, "label": a.label, "keywords": a.keywords, "topic_ids": a.topic_ids, "size": a.size,
                   "x": a.x, "y": a.y} for a in current.areas],
        "topics": [{
            "id": t.id, "label": t.label, "keywords": t.keywords, "size": t.size,
            "representative_ids": t.representative_ids, "cohesion": round(t.cohesion, 4),
            "neighbours": [{"id": n.id, "separability": n.separability} for n in t.neighbours],
            "parent_id": t.parent_id, "emerging": t.emerging,
            "emerged_at": t.emerged_at.isoformat() if t.emerged_at else None, "description": t.description,
            "x": round(t.x, 4), "y": round(t.y, 4),
            "sizes_per_week": {week.isoformat(): n for week, n in weeks.get(t.id, {}).items()}}
            for t in topics],
        "outliers": current.n_outliers,
    }
    if with_assignments:
        result["assignments"] = {a.paper_id: a.topic_id for a in store.topics.assignments()}
    return result


# Steps ------------------------------------------------------------------------------------------

def _label_embedder(settings: Settings, model_name: str) -> Embed | None:
    """The configured model's `embed`, when it is the model whose vectors are mapped (labels are then chosen
    by their similarity to the topics' centres), else None (labels by keyphrase weight)."""
    from paperscope.embed import get_embedder

    embedder = get_embedder(settings.embedding_model)
    return embedder.embed if embedder.name == model_name else None


def _areas(model: TopicModel, area_of_topic: np.ndarray, X: np.ndarray | None, row_vectors: np.ndarray,
           rows: np.ndarray, texts: list[str], embed: Embed | None) -> list[tuple[str, list[str], float, float]]:
    """(label, keywords, x, y) per area: labelled from the central papers of its topics (`rows`, whose vectors
    are `row_vectors`, ranked by closeness to the area's centre), placed at the median of its papers on the map.
    Centred on the mean of the area's papers: of `X`, or without it of the topics' sums (`model.sums_`)."""
    n_areas = int(area_of_topic.max()) + 1 if len(area_of_topic) else 0
    if n_areas == 0:
        return []
    paper_areas = area_of_topic[model.labels_]
    if X is not None:
        centres = centroids(X, paper_areas, n_areas)
    else:
        centres = centroids(model.sums_.astype(np.float32), area_of_topic, n_areas)
    scores = np.einsum("nd,nd->n", row_vectors, centres[paper_areas[rows]])
    labeler = TopicLabeler(embed=embed, n_representatives=0).fit(texts, paper_areas[rows], scores, centres=centres,
                                                                papers=(row_vectors, paper_areas[rows]))
    result = []
    for area in range(n_areas):
        where = model.coords_[paper_areas == area]
        x, y = (np.median(where, axis=0) if len(where) else (0.0, 0.0))
        result.append((labeler.labels_text_[area], labeler.keywords_[area], float(x), float(y)))
    return result

def _label_rows(model: TopicModel, per_topic: int) -> np.ndarray:
    """Rows of the most central papers of each topic: all a labeler (and an explainer) reads."""
    chosen = []
    for topic in range(model.n_topics_):
        members = np.flatnonzero(model.labels_ == topic)
        chosen.append(members[np.argsort(-model.scores_[members], kind="stable")][:per_topic])
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def _stable_ids(centres: np.ndarray, old_topics: list[TopicRecord], next_id: int
                ) -> tuple[list[int], list[int | None]]:
    """An id per new topic: the matched old topic's (Hungarian on centroid cosine), else a new one."""
    ids: list[int | None] = [None] * len(centres)
    parents: list[int | None] = [None] * len(centres)
    if old_topics and len(centres):
        old = np.vstack([t.centroid for t in old_topics])
        if old.shape[1] == centres.shape[1]:
            sims = centres @ old.T
            for new, matched in zip(*linear_sum_assignment(-sims), strict=True):
                if sims[new, matched] >= MATCH_COSINE:
                    ids[new] = old_topics[matched].id
            for new in range(len(centres)):
                best = int(sims[new].argmax())
                if ids[new] is None and sims[new, best] >= PARENT_COSINE:
                    parents[new] = old_topics[best].id
    result = []
    for topic_id in ids:
        if topic_id is None:
            topic_id, next_id = next_id, next_id + 1
        result.append(topic_id)
    return result, parents


def _emerging(store: Store, previous: MapInfo | None, model_name: str, model: TopicModel, ids: list[str],
              vectors_of: Callable[[np.ndarray], np.ndarray], dates: np.ndarray, topic_ids: list[int],
              old_ids: set[int], seed: int) -> dict[int, dt.date | None]:
    """New topics (no old id) that hold a novel group of the papers that arrived since the last build."""
    if previous is None:
        return {}
    blob = store.topics.map_state(previous.id)
    if blob is None:
        return {}
    old = TopicModel.from_state(blob)
    if old.centres_.shape[1] != model.centres_.shape[1]:
        return {}
    arrived = store.topics.papers_not_built(model_name)
    new_rows = np.array([row for row, paper_id in enumerate(ids) if paper_id in arrived], dtype=np.int64)
    if len(new_rows) < 2:
        return {}
    min_size = max(5, len(new_rows) // 100)
    finder = NovelTopicFinder(old.centres_, old.other_thresholds_, min_topic_size=min_size,
                              emerged_fraction=EMERGED_FRACTION, random_state=seed)
    finder.fit(vectors_of(new_rows), [_date(dates[i]) for i in new_rows])
    emerging: dict[int, dt.date | None] = {}
    for members, emerged_at in zip(finder.novel_members_, finder.emerged_at_, strict=True):
        topics, counts = np.unique(model.labels_[new_rows[members]], return_counts=True)
        topic = int(topics[counts.argmax()])
        if counts.max() >= 0.5 * len(members) and topic_ids[topic] not in old_ids:
            emerging[topic] = emerged_at
    return emerging


def _days(store: Store, ids: list[str]) -> np.ndarray:
    """Each paper's date (`Store.paper_dates`) as datetime64[D], NaT where unknown; read in chunks."""
    days = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[D]")
    for start in range(0, len(ids), CHUNK_PAPERS):
        found = store.paper_dates(ids[start:start + CHUNK_PAPERS])
        days[start:start + CHUNK_PAPERS] = [found.get(i, np.datetime64("NaT")) for i in ids[start:start + CHUNK_PAPERS]]
    return days


def _date(day: np.datetime64) -> dt.date | None:
    return None if np.isnat(day) else dt.date.fromisoformat(str(day))


def _emerged_at(members: np.ndarray, dates: np.ndarray) -> dt.date | None:
    known = np.sort(dates[members][~np.isnat(dates[members])])
    return _date(known[min(len(known) - 1, int(EMERGED_FRACTION * len(known)))]) if len(known) else None


def _explain(settings: Settings, goal: str, texts: list[str], labels: np.ndarray, scores: np.ndarray
             ) -> list[str | None]:
    from paperscope.llm import ChatClient
    from paperscope.topics.explain import GoalExplainer

    if not settings.topics_llm_url:
        raise ConfigError("Explanations need an OpenAI-compatible chat endpoint: set PAPERSCOPE_TOPICS_LLM_URL "
                          "(and PAPERSCOPE_TOPICS_LLM_MODEL, PAPERSCOPE_TOPICS_LLM_API_KEY if needed).")
    client = ChatClient(settings.topics_llm_url, settings.topics_llm_model, api_key=settings.topics_llm_api_key,
                        timeout=settings.http_timeout_seconds, retries=settings.http_retries,
                        backoff=settings.http_backoff_seconds, settings_prefix="PAPERSCOPE_TOPICS_LLM")
    try:
        return GoalExplainer(client, goal=goal).fit(texts, labels, scores).explanation_.topic_descriptions
    finally:
        client.close()

