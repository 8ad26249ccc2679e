"""Labels chosen by the embedding model: of a topic's keyphrases, the pair that names this topic and no other.

A label works when a paper of the topic is closer to it than to any other topic's label (label_quality.py
measures exactly that on held-out papers). So each candidate phrase (the c-TF-IDF keyphrases of label.py) is
embedded with the model that embedded the papers and scored by its *margin*: its cosine to its own topic's
centre, less `RIVAL_WEIGHT` times its highest cosine to any other topic's centre. A phrase frequent in a topic
can name its neighbour just as well ("large language models" in every LLM topic), and a phrase only one topic
uses can be too rare to say what the topic is about ("platelets"); the margin with a half weight on the rival
sits between the two. The `SHORTLIST` best phrases are then paired ("a, b", the better phrase first, no phrase
that repeats the other) and the pair whose own embedding has the best margin is the label: the two halves then
add up rather than say the same thing twice.

Chosen on validation papers of the map itself (arXiv cs, the held-out papers left aside): weight 0.5 and a
shortlist of 10 (docs/decisions/0114-topic-labels-chosen-by-the-model.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit rows, the model the papers were embedded with

RIVAL_WEIGHT = 0.5
SHORTLIST = 10


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
                  repeats: Callable[[str, str], bool] | None = None) -> list[list[str]]:
    """The label's phrases for each topic, best first (module docstring): the single best phrase when
    `terms` is 1, else the best-scoring pair of the shortlist. `repeats(a, b)` says two phrases say the same."""
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
    for topic, (best, options) in enumerate(zip(shortlists, pairs, strict=True)):
        if not options:
            chosen.append(best[:1])
            continue
        scores = margins(np.vstack([pair_vectors[f"{a}, {b}"] for a, b in options]), centres, topic, rival_weight)
        chosen.append(list(options[int(np.argmax(scores))]))
    return chosen
