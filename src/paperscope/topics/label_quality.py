"""How well topic labels name their topics, measured with the embedding model instead of judged by eye.

* `label_accuracy`: the share of papers whose closest label (cosine between the paper's vector and each label's
  vector, both from the same model) is their own topic's label. A label that says what its topic's papers are
  about, and what the other topics' papers are not, wins its papers; a vague or shared label loses them.
* `near_duplicate_pairs`: pairs of labels whose vectors are at least `threshold` similar (two topics a reader
  cannot tell apart by their labels).
* `one_word_labels`: labels of a single word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

NEAR_DUPLICATE_COSINE = 0.8  # labels this similar read as one subject ("LLM agents", "LLM-based agents")
_WORD = re.compile(r"[\w\-]+")


def label_accuracy(paper_vectors: np.ndarray, paper_topics: np.ndarray, label_vectors: np.ndarray) -> float:
    """The share of papers (unit rows; topic -1 is skipped) whose most similar label is their topic's own."""
    topics = np.asarray(paper_topics)
    keep = topics >= 0
    if not keep.any():
        return 0.0
    closest = np.asarray(paper_vectors[keep] @ np.asarray(label_vectors).T).argmax(axis=1)
    return float((closest == topics[keep]).mean())


def near_duplicate_pairs(label_vectors: np.ndarray, threshold: float = NEAR_DUPLICATE_COSINE) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of labels whose vectors (unit rows) are at least `threshold` similar."""
    vectors = np.asarray(label_vectors, dtype=np.float32)
    sims = vectors @ vectors.T
    rows, cols = np.nonzero(np.triu(sims >= threshold, k=1))
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)]


def one_word_labels(labels: Sequence[str]) -> list[int]:
    """Indices of the labels that are a single word."""
    return [i for i, label in enumerate(labels) if len(_WORD.findall(label)) == 1]
