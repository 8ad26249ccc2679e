"""The base of the stages that describe topics from their papers (BERTopic's representation models).

A representation is fitted on every paper's text, its topic (`labels`, -1 for none) and its similarity to
its topic's centre (`scores`), and keeps what it found in attributes ending in `_`: `TopicLabeler` keyphrases
and labels, `GoalExplainer` descriptions written by an LLM for a goal.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Self

import numpy as np


class TopicRepresentation(abc.ABC):
    """A stage of the topic map that describes each topic: `fit(texts, labels, scores)` returns itself."""

    @abc.abstractmethod
    def fit(self, texts: Sequence[str], labels: np.ndarray, scores: np.ndarray) -> Self:
        """Describe topics 0..max(labels) from their papers' `texts`."""


def ranked_members(labels: np.ndarray, scores: np.ndarray) -> list[np.ndarray]:
    """Each topic's rows (topic 0 first; -1 is no topic), the most central first (ties in row order)."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    ranked = []
    for topic in range(k):
        rows = np.flatnonzero(labels == topic)
        ranked.append(rows[np.argsort(-scores[rows], kind="stable")])
    return ranked
