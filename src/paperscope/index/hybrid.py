"""Fusion of ranked lists: reciprocal rank fusion (Cormack et al., 2009), a convex combination of normalised scores
(Bruch et al., 2023), and `Fusion`, the parameters hybrid search fuses its keyword and semantic rankings with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

FUSION_METHODS = ("rrf", "convex")
DEFAULT_DEPTH = 100  # candidates each ranking gives the fusion unless a tuning says otherwise


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


@dataclass(frozen=True)
class Fusion:
    """How hybrid search fuses its two rankings: the method (`rrf` or `convex`), each ranking's weight, the RRF
    constant `rrf_k`, and how many candidates each ranking contributes (its depth)."""

    method: str = "rrf"
    keyword_weight: float = 1.0
    semantic_weight: float = 1.0
    rrf_k: int = 60
    keyword_depth: int = DEFAULT_DEPTH
    semantic_depth: int = DEFAULT_DEPTH

    def __post_init__(self) -> None:
        if self.method not in FUSION_METHODS:
            raise ValueError(f"Unknown fusion method {self.method!r}; use one of: {', '.join(FUSION_METHODS)}")
        if self.rrf_k < 1 or self.keyword_depth < 1 or self.semantic_depth < 1:
            raise ValueError("The RRF constant and both depths must be at least 1")
        if self.keyword_weight < 0 or self.semantic_weight < 0:
            raise ValueError("Fusion weights cannot be negative")

    def fuse(self, keyword_hits: Sequence[tuple[str, float]], semantic_hits: Sequence[tuple[str, float]]
             ) -> list[tuple[str, float]]:
        """One ranking from the keyword and the semantic hits (each best first, already cut to its depth)."""
        weights = [self.keyword_weight, self.semantic_weight]
        if self.method == "convex":
            return convex_combination([keyword_hits, semantic_hits], weights)
        return reciprocal_rank_fusion([[pid for pid, _ in keyword_hits], [pid for pid, _ in semantic_hits]],
                                      k=self.rrf_k, weights=weights)

    def describe(self) -> str:
        """A short line for people: "convex, keyword 0.4 / semantic 0.6, depths 100 / 200"."""
        method = f"RRF k={self.rrf_k}" if self.method == "rrf" else "convex"
        return (f"{method}, keyword {self.keyword_weight:g} / semantic {self.semantic_weight:g}, "
                f"depths {self.keyword_depth} / {self.semantic_depth}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fusion:
        """The fusion of `to_json`'s output; ValueError when it is not one."""
        try:
            return cls(method=str(data["method"]), keyword_weight=float(data["keyword_weight"]),
                       semantic_weight=float(data["semantic_weight"]), rrf_k=int(data["rrf_k"]),
                       keyword_depth=int(data["keyword_depth"]), semantic_depth=int(data["semantic_depth"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a fusion: {exc}") from exc
