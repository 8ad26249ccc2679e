"""Reciprocal rank fusion: one ranking from several, by rank alone (Cormack et al., 2009)."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], *, k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists: each id scores sum(weight / (k + rank)) over the lists it is in (rank from 1).

    Ties keep the order of first appearance, so the result is deterministic.
    """
    weights = weights if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def convex_combination(scored: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float]
                       ) -> list[tuple[str, float]]:
    """Fuse scored lists by a weighted sum of min-max normalised scores (Bruch et al., 2023).

    Each list's scores are mapped to [0, 1] over the candidates it returned; an id missing from a
    list gets 0 there. Unlike RRF this keeps how far apart the scores are, not just their order.
    """
    if len(weights) != len(scored):
        raise ValueError(f"{len(scored)} lists but {len(weights)} weights")
    fused: dict[str, float] = {}
    for items, weight in zip(scored, weights, strict=True):
        if not items:
            continue
        values = [score for _, score in items]
        low, span = min(values), (max(values) - min(values)) or 1.0
        for item, score in items:
            fused[item] = fused.get(item, 0.0) + weight * (score - low) / span
    return sorted(fused.items(), key=lambda pair: -pair[1])
