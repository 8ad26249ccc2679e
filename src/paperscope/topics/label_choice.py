"""Labels chosen by the embedding model: of a topic's keyphrases, the pair that names this topic and no other.

A label works when a paper of the topic is closer to it than to any other topic's label (label_quality.py
measures exactly that on held-out papers). So each candidate phrase (the c-TF-IDF keyphrases of label.py) is
embedded with the model that embedded the papers and scored by its *margin*: its cosine to its own topic's
centre, less `RIVAL_WEIGHT` times its highest cosine to any other topic's centre. A phrase frequent in a topic
can name its neighbour just as well ("large language models" in every LLM topic), and a phrase only one topic
uses can be too rare to say what the topic is about ("platelets"); the margin with a half weight on the rival
sits between the two. The `SHORTLIST` best phrases are then paired ("a, b", the better phrase first, no phrase
that repeats the other) and each pair's own embedding is scored the same way: the best pair is the label.

Given papers of the map (their vectors and topics), the labels are then chosen together (`most_won`): one topic at
a time, its label becomes the pair that wins the most papers (a paper is won when its closest label is its own
topic's), the other labels held, in up to `ROUNDS` passes. A label is judged against the labels it will be shown
beside, not against the centres, which is what a reader (and label_quality.py) does.

Chosen on validation papers of the map itself (arXiv cs, the held-out papers left aside): weight 0.5, a
shortlist of 24, the map's central papers as the papers to win (docs/decisions/0114-topic-labels-chosen-by-the-model.md,
docs/decisions/0127-topic-labels-chosen-together.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit rows, the model the papers were embedded with

RIVAL_WEIGHT = 0.5
SHORTLIST = 24
ROUNDS = 3


def margins(vectors: np.ndarray, centres: np.ndarray, topic: int, rival_weight: float = RIVAL_WEIGHT) -> np.ndarray:
    """Each vector's cosine to the centre of `topic` less `rival_weight` times its best cosine to another."""
    units = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    sims = np.asarray(vectors, dtype=np.float32) @ units.T
    own = sims[:, topic].copy()
    sims[:, topic] = -np.inf
    rival = sims.max(axis=1) if sims.shape[1] > 1 else np.zeros(len(own), dtype=np.float32)
    return np.asarray(own - rival_weight * rival)


def choose_labels(candidates: Sequence[Sequence[str]], centres: np.ndarray, embed: Embed, *, terms: int = 2,
                  rival_weight: float = RIVAL_WEIGHT, shortlist: int = SHORTLIST,
                  repeats: Callable[[str, str], bool] | None = None,
                  papers: tuple[np.ndarray, np.ndarray] | None = None) -> list[list[str]]:
    """The label's phrases for each topic, best first (module docstring): the single best phrase when
    `terms` is 1, else the best-scoring pair of the shortlist. `repeats(a, b)` says two phrases say the same.
    `papers`, (unit vectors, topic of each), lets the labels be chosen together for the papers they win."""
    phrases = sorted({p for topic in candidates for p in topic})
    if not phrases:
        return [[] for _ in candidates]
    position = {p: i for i, p in enumerate(phrases)}
    vectors = np.asarray(embed(phrases), dtype=np.float32)
    shortlists: list[list[str]] = []
    for topic, pool in enumerate(candidates):
        if not pool:
            shortlists.append([])
            continue
        scores = margins(vectors[[position[p] for p in pool]], centres, topic, rival_weight)
        shortlists.append([pool[i] for i in np.argsort(-scores, kind="stable")[:shortlist]])
    if terms < 2:
        return [best[:1] for best in shortlists]
    pairs = [[(a, b) for i, a in enumerate(best) for b in best[i + 1:] if not (repeats and repeats(a, b))]
             for best in shortlists]
    texts = sorted({f"{a}, {b}" for topic in pairs for a, b in topic})
    pair_vectors = dict(zip(texts, np.asarray(embed(texts), dtype=np.float32), strict=True)) if texts else {}
    chosen: list[list[str]] = []
    options_per_topic: list[list[tuple[str, ...]]] = []
    for topic, (best, options) in enumerate(zip(shortlists, pairs, strict=True)):
        if not options:
            chosen.append(best[:1])
            options_per_topic.append([tuple(best[:1])] if best else [])
            continue
        scores = margins(np.vstack([pair_vectors[f"{a}, {b}"] for a, b in options]), centres, topic, rival_weight)
        ranked: list[tuple[str, ...]] = [options[int(i)] for i in np.argsort(-scores, kind="stable")]
        chosen.append(list(ranked[0]))
        options_per_topic.append(ranked)
    if papers is None:
        return chosen
    vectors_of = dict(pair_vectors)
    vectors_of.update(zip(phrases, vectors, strict=True))
    return most_won(chosen, options_per_topic, vectors_of, *papers)


def most_won(chosen: list[list[str]], options: Sequence[Sequence[tuple[str, ...]]], vectors: dict[str, np.ndarray],
             paper_vectors: np.ndarray, paper_topics: np.ndarray) -> list[list[str]]:
    """The labels, one topic at a time, changed to the option that wins the most papers (a paper is won when its
    closest label is its own topic's), the other topics' labels held; `ROUNDS` passes over the topics, keeping a
    label unless another option wins strictly more."""
    topics = np.asarray(paper_topics)
    keep = topics >= 0
    X, y = np.asarray(paper_vectors, dtype=np.float32)[keep], topics[keep]
    k = len(chosen)
    if not len(y) or k < 2:
        return chosen
    labels = [list(c) for c in chosen]
    current = np.vstack([vectors[", ".join(c)] if c else np.zeros(X.shape[1], np.float32) for c in labels])
    sims = X @ current.T  # papers x topics
    rows = np.arange(len(y))
    for _ in range(ROUNDS):
        changed = False
        for topic in range(k):
            if len(options[topic]) < 2:
                continue
            others = sims.copy()
            others[:, topic] = -np.inf
            own = others[rows, y].copy()
            others[rows, y] = -np.inf
            rival = others.max(axis=1)  # best label of a third topic (neither the paper's nor this one)
            mine = y == topic
            # papers of other topics stay won if they beat both a third topic's label and this option
            safe = ~mine & (own > rival)
            candidates = np.vstack([vectors[", ".join(o)] for o in options[topic]])
            scores = X @ candidates.T  # papers x options
            wins = ((scores > rival[:, None]) & mine[:, None]).sum(axis=0) \
                + ((own[:, None] > scores) & safe[:, None]).sum(axis=0)
            now = options[topic].index(tuple(labels[topic])) if tuple(labels[topic]) in options[topic] else -1
            best = int(np.argmax(wins))
            if now < 0 or wins[best] > wins[now]:
                labels[topic] = list(options[topic][best])
                sims[:, topic] = scores[:, best]
                changed = changed or best != now
        if not changed:
            break
    return labels
