"""The readable topic map: labels chosen by the model (label_choice.py) and measured (label_quality.py), broad areas
over the topics (areas.py), stored with the map and shown by the API and the topics page."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.embed import get_embedder
from paperscope.embed.base import document_text
from paperscope.store import open_store
from paperscope.topics import TopicLabeler
from paperscope.topics.areas import default_area_count, group_topics
from paperscope.topics.build import map_json
from paperscope.topics.label_choice import choose_labels, margins, most_won
from paperscope.topics.label_quality import label_accuracy, near_duplicate_pairs, one_word_labels
from paperscope.web.app import create_app
from tests.test_topics import Corpus, built_in_memory, copy_of, corpus  # noqa: F401  (the session fixtures)


def test_label_accuracy_counts_papers_whose_closest_label_is_their_own() -> None:
    papers = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8]], dtype=np.float32)
    labels = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert label_accuracy(papers, np.array([0, 1, 0, 0]), labels) == 0.75  # the last paper is closer to label 1
    assert label_accuracy(papers, np.array([0, -1, -1, -1]), labels) == 1.0  # -1: no topic, not counted
    assert label_accuracy(papers, np.array([-1, -1, -1, -1]), labels) == 0.0


def test_near_duplicates_and_one_word_labels_are_counted() -> None:
    vectors = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]], dtype=np.float32)
    assert near_duplicate_pairs(vectors) == [(0, 1)]
    assert near_duplicate_pairs(vectors, threshold=0.999) == []
    assert one_word_labels(["LLM", "graph neural networks, GNN", "3D-reconstruction", "robot grasping"]) == [0, 2]


def test_the_margin_prefers_the_phrase_that_names_this_topic_and_not_its_neighbour() -> None:
    embed = get_embedder("hashing").embed
    centres = embed(["graph neural networks message passing over graphs",
                     "graph neural networks for molecules and chemistry"])
    candidates = [["graph neural networks", "message passing"], ["graph neural networks", "molecules"]]
    scores = margins(embed(candidates[0]), centres, 0, rival_weight=1.0)
    assert scores[1] > scores[0]  # "graph neural networks" names both topics equally: a margin of about 0
    assert choose_labels(candidates, centres, embed, terms=1, rival_weight=1.0) == [["message passing"],
                                                                                     ["molecules"]]
    two = choose_labels(candidates, centres, embed, terms=2)
    assert [len(set(label)) for label in two] == [2, 2]  # a second phrase, never the first again
    never = choose_labels(candidates, centres, embed, terms=2, repeats=lambda a, b: True)
    assert never == [[p] for [p] in choose_labels(candidates, centres, embed, terms=1)]  # no pair: the best one


def test_labels_chosen_together_take_the_option_that_wins_the_most_papers() -> None:
    """Topic 0's first option is nearer its centre, but it also wins topic 1's papers away from their own label:
    chosen together, topic 0 takes the option that wins its papers and leaves topic 1's alone."""
    vectors = {"broad": np.array([0.6, 0.8], dtype=np.float32), "narrow": np.array([1.0, 0.0], dtype=np.float32),
               "other": np.array([0.0, 1.0], dtype=np.float32)}
    papers = np.array([[0.9, 0.436], [1.0, 0.0], [0.5, 0.866], [0.55, 0.835]], dtype=np.float32)
    topics = np.array([0, 0, 1, 1])
    options = [[("broad",), ("narrow",)], [("other",)]]
    labels = most_won([["broad"], ["other"]], options, vectors, papers, topics)
    assert labels == [["narrow"], ["other"]]

    def accuracy(chosen: list[list[str]]) -> float:
        return label_accuracy(papers, topics, np.vstack([vectors[c[0]] for c in chosen]))

    assert accuracy(labels) == 1.0 and accuracy([["broad"], ["other"]]) == 0.5
    # papers without a topic (-1) count for nothing, and a tie keeps the label there is
    assert most_won([["broad"], ["other"]], options, vectors, papers, np.array([-1, -1, -1, -1])) == [["broad"],
                                                                                                    ["other"]]


def test_labels_chosen_by_the_model_name_held_out_papers_at_least_as_well(corpus: Corpus) -> None:  # noqa: F811
    """On real papers of four fields (the fields are the topics), labels chosen by the model win at least as many
    held-out papers as the keyphrases of highest weight, and none is a near-duplicate of another."""
    embed = get_embedder("minilm").embed
    fields = sorted(set(corpus.groups))
    topics = np.array([fields.index(g) for g in corpus.groups])
    held = np.arange(len(topics)) % 3 == 0
    texts = [document_text(p) for p in corpus.papers]
    train = np.flatnonzero(~held)
    centres = np.vstack([corpus.vectors[train][topics[train] == t].mean(axis=0) for t in range(len(fields))])
    scores = np.einsum("nd,nd->n", corpus.vectors[train], centres[topics[train]])
    by_weight = TopicLabeler().fit([texts[i] for i in train], topics[train], scores)
    by_model = TopicLabeler(embed=embed).fit([texts[i] for i in train], topics[train], scores, centres=centres)
    weight_vectors, model_vectors = embed(by_weight.labels_text_), embed(by_model.labels_text_)
    chosen = label_accuracy(corpus.vectors[held], topics[held], model_vectors)
    baseline = label_accuracy(corpus.vectors[held], topics[held], weight_vectors)
    assert chosen >= baseline and chosen >= 0.8, (by_model.labels_text_, chosen, by_weight.labels_text_, baseline)
    assert near_duplicate_pairs(model_vectors) == []
    together = TopicLabeler(embed=embed).fit([texts[i] for i in train], topics[train], scores, centres=centres,
                                             papers=(corpus.vectors[train], topics[train]))
    # chosen together, the labels win at least as many of the papers they were chosen on, and as many held-out
    # papers as the keyphrases of highest weight
    together_vectors = embed(together.labels_text_)
    assert (label_accuracy(corpus.vectors[train], topics[train], together_vectors)
            >= label_accuracy(corpus.vectors[train], topics[train], model_vectors))
    assert label_accuracy(corpus.vectors[held], topics[held], together_vectors) >= max(baseline, 0.8)
    # The label's phrases lead the keywords, and every keyword is still one of the topic's keyphrases.
    for label, keywords, pool in zip(by_model.labels_text_, by_model.keywords_, by_model.candidates_, strict=True):
        assert label.startswith(keywords[0]) and {k.lower() for k in keywords} <= set(pool)


def test_areas_merge_neighbouring_topics_and_keep_every_topic_whole() -> None:
    rng = np.random.default_rng(0)
    poles = np.eye(8, dtype=np.float32)[:3]
    centres = np.vstack([pole + rng.normal(0, 0.05, (4, 8)) for pole in poles]).astype(np.float32)
    areas = group_topics(centres, 3)
    assert sorted(np.bincount(areas)) == [4, 4, 4]
    assert [len(set(areas[i * 4:(i + 1) * 4])) for i in range(3)] == [1, 1, 1]  # topics of one pole, one area
    assert default_area_count(45) == 7 and default_area_count(3) == 3 and default_area_count(400) == 12
    assert list(group_topics(centres[:2])) == [0, 1]  # two topics: each its own area


@pytest.fixture
def built(tmp_path, built_in_memory):  # noqa: F811, ANN001, ANN201
    """A copy of the corpus with its map (built once a session: tests/test_topics.py). The map, its areas and the
    topic pages never reach the search backend, so the settings search on the embedded indexes whatever
    PAPERSCOPE_TEST_SEARCH says and the test carries no search_backend mark: CI does not embed the corpus and build
    its map again on Milvus Lite (the topic pages on Milvus Lite: tests/test_web_topics.py)."""
    database = copy_of(built_in_memory, tmp_path)
    store = open_store(str(database))
    yield store, Settings(database_url=str(database), topics_min_size=10, search_url=None)
    store.close()


def test_a_built_map_stores_labelled_areas_that_the_api_and_the_page_show(built) -> None:  # noqa: ANN001
    store, settings = built
    current = store.topics.current_map()
    topics = store.topics.list_topics()
    assert current is not None and len(current.areas) >= 2
    in_areas = [t for area in current.areas for t in area.topic_ids]
    assert sorted(in_areas) == sorted(t.id for t in topics)  # every topic in exactly one area
    assert all(area.label and area.keywords for area in current.areas)
    assert len({area.label for area in current.areas}) == len(current.areas)
    sizes = {t.id: t.size for t in topics}
    assert [a.size for a in current.areas] == [sum(sizes[t] for t in a.topic_ids) for a in current.areas]
    assert map_json(store, with_assignments=False)["areas"][0]["topic_ids"] == current.areas[0].topic_ids

    with TestClient(create_app(settings)) as client:
        data = client.get("/api/topics/map").json()
        assert [a["label"] for a in data["areas"]] == [a.label for a in current.areas]
        assert {t["area"] for t in data["topics"]} == {a.id for a in current.areas}
        assert all(t["keywords"] for t in data["topics"])
        html = client.get("/topics").text
        assert html.count('<details data-area="') == len(current.areas)
        assert 'id="topic-search"' in html and 'id="topic-search-status"' in html
        for area in current.areas:
            assert area.label in html
