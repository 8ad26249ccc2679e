"""The embedder protocol every backend fills, and the text of a paper that gets embedded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from paperscope.models import Paper


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into float32 vectors of unit length (so a dot product is the cosine similarity).

    `name` identifies the vectors: the model and every variant that changes them (runtime, precision),
    e.g. "all-MiniLM-L6-v2/onnx-int8". `version` is the version of what produced the weights (the
    package version). Vectors of different (name, version) are never mixed in one index.
    """

    name: str
    version: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for documents, shape (len(texts), dim), float32, rows of unit length."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one search query, shape (dim,): the latency-sensitive path."""
        ...


def document_text(paper: Paper) -> str:
    """What gets embedded for a paper: its title and abstract."""
    return f"{paper.title}. {paper.abstract}" if paper.abstract else paper.title
