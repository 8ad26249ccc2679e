"""Topic maps on real papers embedded with the real model (a few hundred arXiv cs papers, embedded once)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import adjusted_rand_score

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.embed import get_embedder
from paperscope.embed.base import document_text
from paperscope.ingest.base import Entry
from paperscope.ingest.jsonl import read_jsonl
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.topics import PPP, NovelTopicFinder, Reducer, TopicLabeler, TopicModel
from paperscope.topics.balance import balanced_assignment
from paperscope.topics.build import assign_new, build_map, map_json
from paperscope.topics.chunks import centroids
from paperscope.topics.label import candidate_phrases
from tests.conftest import computed_once, shared_path

# Four fields that a reader tells apart at a glance; audio is the one held out for "emerging".
GROUPS = {"cs.CL": 70, "cs.RO": 60, "eess.IV": 60, "audio": 50}
AUDIO = {"cs.SD", "eess.AS"}


class Corpus:
    def __init__(self, papers: list[Paper], vectors: np.ndarray, model: str, version: str) -> None:
        self.papers, self.vectors, self.model, self.version = papers, vectors, model, version
        self.groups = np.array(["audio" if p.primary_category in AUDIO else p.primary_category for p in papers])


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """~240 real papers of four fields, each dated by the listing it came from, embedded with minilm once a run
    (test_topic_areas_labels.py takes it too, maybe on another worker)."""
    wanted = dict(GROUPS)
    papers: list[Paper] = []
    for path in sorted(shared_path("data", "arxiv", "cs").glob("*.jsonl")):
        with path.open("rb") as stream:
            for item in read_jsonl(stream, path.name):
                if not isinstance(item, Entry):
                    continue
                group = "audio" if item.paper.primary_category in AUDIO else item.paper.primary_category
                if wanted.get(group or "", 0) > 0 and item.paper.id not in {p.id for p in papers}:
                    item.paper.published = dt.date.fromisoformat(path.stem)
                    papers.append(item.paper)
                    wanted[group or ""] -= 1
        if not any(wanted.values()):
            break
    embedder = get_embedder("minilm")
    vectors = computed_once(tmp_path_factory, f"topics-corpus-{len(papers)}",
                            lambda: embedder.embed([document_text(p) for p in papers]))
    return Corpus(papers, vectors, embedder.name, embedder.version)


def _stored(tmp_path: Path, corpus: Corpus, rows: np.ndarray | None = None) -> tuple[Store, Settings]:
    rows = np.arange(len(corpus.papers)) if rows is None else rows
    store = open_store(str(tmp_path / "topics.db"))
    batch = [corpus.papers[i] for i in rows]
    store.upsert_papers(batch)
    store.save_embeddings(corpus.model, corpus.version, batch, corpus.vectors[rows])
    return store, Settings(database_url=str(tmp_path / "topics.db"), topics_min_size=10)


@pytest.fixture(scope="session")
def built_in_memory(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Path:
    """A database of the corpus with the map built from every vector held together (what a store under STREAM_ABOVE
    vectors gets), built once a session: the chunked build is compared with it, and test_topic_areas_labels.py
    reads its areas (on the same worker: tests/conftest.py). A test copies the file before opening it.

    The file is found by its path in the session's folder: a module that imports this fixture registers a fixture of
    its own, which finds the file the first one built."""
    database = tmp_path_factory.getbasetemp() / "built-in-memory" / "topics.db"
    if not database.exists():
        folder = database.parent.with_name("built-in-memory.partial")
        folder.mkdir()
        store, settings = _stored(folder, corpus)
        with store:
            build_map(store, settings, model_name=corpus.model, streamed=False)
        folder.rename(database.parent)
    return database


def copy_of(database: Path, folder: Path) -> Path:
    copy = folder / database.name
    shutil.copyfile(database, copy)
    return copy


@pytest.fixture
def stored(tmp_path: Path, corpus: Corpus) -> Iterator[tuple[Store, Settings]]:
    store, settings = _stored(tmp_path, corpus)
    yield store, settings
    store.close()


def test_ppp_finds_the_fields_and_does_not_depend_on_the_seed(corpus: Corpus) -> None:
    runs = [PPP(min_cluster_size=10, random_state=seed).fit(Reducer(random_state=seed).fit_transform(corpus.vectors))
            for seed in range(5)]
    for a, b in itertools.combinations(runs, 2):
        assert adjusted_rand_score(a.labels_, b.labels_) >= 0.9
    model = runs[0]
    assert 3 <= model.n_clusters_ <= 12  # four fields; one may split into sub-topics
    assert adjusted_rand_score(corpus.groups, model.labels_) > 0.5
    assert any(s.accepted for s in model.splits_) and any(not s.accepted for s in model.splits_)
    assert model.silhouette_ is not None and model.silhouette_ > 0
    assert (model.predict(Reducer().fit_transform(corpus.vectors)) == model.labels_).mean() > 0.95


def test_balanced_topics_are_within_ten_percent(corpus: Corpus) -> None:
    Z = Reducer().fit_transform(corpus.vectors)
    plain = PPP(min_cluster_size=10).fit(Z)
    labels = balanced_assignment(Z, plain.cluster_centers_)
    sizes = np.bincount(labels, minlength=plain.n_clusters_)
    assert sizes.max() <= 1.1 * sizes.min()
    assert adjusted_rand_score(plain.labels_, labels) > 0.3  # still topics, not a random deal


def test_labels_are_non_empty_distinct_and_about_the_field(corpus: Corpus) -> None:
    model = TopicModel(clusterer=PPP(min_cluster_size=10), labeler=TopicLabeler()).fit(
        corpus.vectors, [document_text(p) for p in corpus.papers])
    assert all(label.strip() for label in model.labels_text_)
    assert len({label.lower() for label in model.labels_text_}) == len(model.labels_text_)
    assert all(len(words) >= 3 for words in model.keywords_)
    everything = " ".join(" ".join(words) for words in model.keywords_).lower()
    assert any(w in everything for w in ("robot", "manipulation")) and any(w in everything for w in ("speech",
                                                                                                    "audio"))
    for topic, rows in enumerate(model.representatives_):  # the central papers are the topic's own
        assert rows and all(model.labels_[r] == topic for r in rows)
    for words in model.keywords_:
        _assert_no_sub_phrases(words)


def _assert_no_sub_phrases(keywords: list[str]) -> None:
    for a, b in itertools.permutations(keywords, 2):
        assert f" {a.lower()} " not in f" {b.lower()} ", f"{a!r} repeats {b!r} in {keywords}"


def test_labels_of_many_real_topics_are_distinct_and_not_repetitive() -> None:
    """Labels for the 14 arXiv categories with 40 papers or more (40 each, the category as the topic; cs.LG and
    cs.AI, cs.SD and eess.AS overlap): every label non-empty and distinct, no keyword inside another of its
    topic, and the fields recognisable."""
    wanted = {c: 40 for c in ("cs.CV", "cs.CL", "cs.LG", "cs.AI", "eess.IV", "cs.GR", "cs.RO", "cs.IR", "cs.HC",
                              "cs.SD", "cs.CR", "cs.CY", "eess.AS", "cs.SE")}
    texts: list[str] = []
    categories: list[str] = []
    for path in sorted(shared_path("data", "arxiv", "cs").glob("*.jsonl")):
        with path.open("rb") as stream:
            for item in read_jsonl(stream, path.name):
                category = item.paper.primary_category if isinstance(item, Entry) else None
                if category and wanted.get(category, 0) > 0:
                    texts.append(document_text(item.paper))
                    categories.append(category)
                    wanted[category] -= 1
        if not any(wanted.values()):
            break
    names = sorted(set(categories))
    labels = np.array([names.index(c) for c in categories])
    labeler = TopicLabeler().fit(texts, labels, np.ones(len(texts)))
    assert len(labeler.labels_text_) == len(names) == 14
    assert all(label.strip() for label in labeler.labels_text_)
    assert len({label.lower() for label in labeler.labels_text_}) == len(names)
    for words in labeler.keywords_:
        assert len(words) >= 5
        _assert_no_sub_phrases(words)
    keywords = {name: " ".join(words).lower() for name, words in zip(names, labeler.keywords_, strict=True)}
    assert "robot" in keywords["cs.RO"] and "speech" in keywords["cs.SD"] + keywords["eess.AS"]
    assert any(w in keywords["cs.CR"] for w in ("attack", "security", "privacy"))


def test_candidate_phrases_stop_at_stop_words_and_punctuation() -> None:
    phrases = candidate_phrases("Large Reasoning Models (LRMs) help hate speech detection in social media; "
                                "vision-language-action models, too.")
    assert {"large reasoning models", "lrms", "hate speech detection", "social media",
            "vision-language-action models"} <= set(phrases)
    assert not {"reasoning models lrms", "detection social media", "detection social", "media vision-language-action"
                } & set(phrases)


def test_an_emerging_field_is_found_with_the_date_it_emerged(corpus: Corpus) -> None:
    audio = corpus.groups == "audio"
    before = TopicModel(clusterer=PPP(min_cluster_size=10)).fit(corpus.vectors[~audio])
    later = np.flatnonzero(audio | (np.arange(len(audio)) % 3 == 0))  # audio arrives with more of the known fields
    dates = [corpus.papers[i].published for i in later]
    finder = NovelTopicFinder(before.centres_, before.other_thresholds_, min_topic_size=10)
    finder.fit(corpus.vectors[later], dates)
    assert finder.n_novel_ >= 1
    found = max(finder.novel_members_, key=lambda members: audio[later[members]].sum())
    assert audio[later[found]].mean() >= 0.8 and audio[later[found]].sum() >= 0.7 * audio.sum()
    novel_known = [members for members in finder.novel_members_ if audio[later[members]].mean() < 0.5]
    assert sum(len(m) for m in novel_known) <= 0.1 * (~audio[later]).sum()  # known fields stay known
    first_audio = min(corpus.papers[i].published for i in np.flatnonzero(audio))  # type: ignore[type-var]
    assert finder.emerged_at_[finder.novel_members_.index(found)] >= first_audio

    # With nothing new, nothing is novel.
    quiet = NovelTopicFinder(before.centres_, before.other_thresholds_, min_topic_size=10)
    assert quiet.fit(corpus.vectors[~audio][::2]).n_novel_ == 0


def test_several_topics_per_paper_and_ambiguity_measures(corpus: Corpus) -> None:
    model = TopicModel(clusterer=PPP(min_cluster_size=10)).fit(corpus.vectors)
    k = model.n_topics_
    assert model.cohesion_.shape == (k,) and ((model.cohesion_ > 0) & (model.cohesion_ <= 1)).all()
    assert all(0 <= sep <= 1 for row in model.neighbours_ for _, sep in row)
    seps = [sep for row in model.neighbours_ for _, sep in row]
    assert max(seps) > min(seps)  # some borders are clearer than others
    has_other = (model.other_ids_[:, 0] >= 0)
    assert 0 < has_other.mean() < 0.8
    assert (model.other_ids_[has_other, 0] != model.labels_[has_other]).all()
    assert (model.other_scores_[has_other, 0] <= model.scores_[has_other] + 0.05).mean() > 0.9


def test_cli_topics_json_shape_and_text(stored: tuple[Store, Settings], corpus: Corpus, tmp_path: Path) -> None:
    store, settings = stored
    env = {"PAPERSCOPE_TOPICS_MIN_SIZE": "10"}
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "topics.db"), "topics", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"topics", "assignments", "outliers", "map"}
    assert data["outliers"] == 0 and len(data["assignments"]) == len(corpus.papers)
    ids = {t["id"] for t in data["topics"]}
    assert set(data["assignments"].values()) == ids
    for topic in data["topics"]:
        assert {"id", "label", "keywords", "size", "representative_ids"} <= set(topic)
        assert topic["label"] and topic["keywords"] and topic["representative_ids"]
        assert all(data["assignments"][pid] == topic["id"] for pid in topic["representative_ids"])
        assert sum(topic["sizes_per_week"].values()) == topic["size"]
    assert sum(t["size"] for t in data["topics"]) == len(corpus.papers)
    shown = CliRunner().invoke(main, ["--db", str(tmp_path / "topics.db"), "topics"], env=env)
    assert shown.exit_code == 0 and "keywords:" in shown.stdout and "outliers: 0" in shown.stdout


def test_new_papers_join_existing_topics_and_ids_survive_a_rebuild(tmp_path: Path, corpus: Corpus) -> None:
    first, rest = np.arange(len(corpus.papers))[::2], np.arange(len(corpus.papers))[1::2]
    store, settings = _stored(tmp_path, corpus, first)
    with store:
        built = build_map(store, settings, model_name=corpus.model)
        before = {t.id: t.label for t in store.topics.list_topics()}
        batch = [corpus.papers[i] for i in rest]
        store.upsert_papers(batch)
        store.save_embeddings(corpus.model, corpus.version, batch, corpus.vectors[rest])
        assert assign_new(store, model_name=corpus.model) == len(rest)
        assert assign_new(store, model_name=corpus.model) == 0  # nothing left to place
        placed = [store.topics.assignment(p.id) for p in batch]
        assert all(a is not None and a.topic_id in before for a in placed)
        # a new paper lands with the papers of its own field
        field_of_topic = {tid: Counter(corpus.groups[first][[i for i, p in enumerate(first)
                                                               if store.topics.assignment(corpus.papers[p].id)
                                                               .topic_id == tid]]).most_common(1)[0][0]
                          for tid in before}
        agree = np.mean([field_of_topic[a.topic_id] == corpus.groups[row] for a, row in zip(placed, rest, strict=True)
                         if a is not None and a.topic_id is not None])
        assert agree > 0.8
        assert map_json(store)["map"]["papers"] == len(corpus.papers)
        report = build_map(store, settings, model_name=corpus.model)
        after = {t.id for t in store.topics.list_topics()}
        assert len(after & set(before)) >= 0.75 * len(before)  # a followed topic keeps its id
        assert report.kept_ids == len(after & set(before)) and built.map.id < report.map.id


def test_centroids_are_unit_means() -> None:
    X = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    centres = centroids(X, np.array([0, 0, 1]), 2)
    assert np.allclose(centres, [[np.sqrt(0.5), np.sqrt(0.5)], [1, 0]])


def test_other_topics_with_fewer_topics_than_slots() -> None:
    from paperscope.topics.ambiguity import other_topics

    X = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
    centres = np.array([[1, 0], [0, 1]], dtype=np.float32)
    ids, scores = other_topics(X, centres, np.array([0, 0, 1]), np.array([0.5, 0.5]), max_other=3)
    assert ids.tolist() == [[-1, -1, -1], [1, -1, -1], [-1, -1, -1]]
    assert scores[1, 0] == pytest.approx(0.6)


def test_a_small_collection_gets_the_silhouettes_k(corpus: Corpus) -> None:
    # 45 papers, as on the seed page: too few to hold out papers for the split test.
    robotics, language = (np.flatnonzero(corpus.groups == group) for group in ("cs.RO", "cs.CL"))
    picked = np.concatenate([robotics[:23], language[:22]])
    reduced = Reducer().fit_transform(corpus.vectors[picked])
    alone = PPP(min_cluster_size=5).fit(reduced)
    small = PPP(min_cluster_size=5, silhouette_below=100).fit(reduced)
    assert alone.k_rule_ == "split test" and small.k_rule_.startswith("silhouette")
    assert small.n_clusters_ >= 2
    assert adjusted_rand_score(corpus.groups[picked], small.labels_) > 0.5  # robotics and language apart


def _map_with_scores(store: Store, streamed: bool) -> dict[str, Any]:
    shown = map_json(store)
    assert shown["map"]["params"]["streamed"] is streamed
    shown["scores"] = {a.paper_id: (round(a.score, 4), [o.id for o in a.other_topics])
                       for a in store.topics.assignments()}
    return shown


def test_a_map_built_from_chunks_is_the_map_built_in_memory(tmp_path: Path, corpus: Corpus,
                                                             built_in_memory: Path) -> None:
    """The streamed build (what a store past STREAM_ABOVE vectors gets) reads the vectors 64 at a time, pass after
    pass, and finds the same topics, labels, scores and further topics as the build that holds them all."""
    with open_store(str(copy_of(built_in_memory, tmp_path))) as store:
        in_memory = _map_with_scores(store, streamed=False)
    folder = tmp_path / "streamed"
    folder.mkdir()
    store, settings = _stored(folder, corpus)
    with store:
        build_map(store, settings, model_name=corpus.model, streamed=True, chunk_papers=64)
        streamed_map = _map_with_scores(store, streamed=True)
    assert len(in_memory["topics"]) == len(streamed_map["topics"]) >= 3
    assert streamed_map["assignments"] == in_memory["assignments"]
    assert streamed_map["scores"] == in_memory["scores"]
    assert [t["label"] for t in streamed_map["topics"]] == [t["label"] for t in in_memory["topics"]]
    assert [t["emerged_at"] for t in streamed_map["topics"]] == [t["emerged_at"] for t in in_memory["topics"]]
    assert [a["label"] for a in streamed_map["areas"]] == [a["label"] for a in in_memory["areas"]]
