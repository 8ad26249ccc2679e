"""Ranking metrics for the retrieval benchmarks: nDCG@k and Recall@k with graded or binary qrels."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of one ranking (gain = relevance grade, log2 discount)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top k (0 when there is none)."""
    return next((1 / (rank + 1) for rank, doc in enumerate(ranked[:k]) if relevant.get(doc, 0) > 0), 0.0)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


def held_out_first_sentence(abstract: str, min_words: int = 8) -> tuple[str, str] | None:
    """An abstract's first sentence (joined with the next while shorter than `min_words` words) and the
    rest of it, for known-item queries; None when nothing substantial would remain."""
    sentences = _SENTENCE_END.split(" ".join(abstract.split()))
    taken = 1
    while taken < len(sentences) and len(" ".join(sentences[:taken]).split()) < min_words:
        taken += 1
    query, rest = " ".join(sentences[:taken]), " ".join(sentences[taken:])
    if len(query.split()) < min_words or len(rest.split()) < 2 * min_words:
        return None
    return query, rest


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (query-id, corpus-id, score; header line; CRLF tolerated)."""
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split("\t")
        if len(parts) != 3 or parts[0] == "query-id":
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
