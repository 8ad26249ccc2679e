import pytest

from paperscope.index.hybrid import convex_combination, reciprocal_rank_fusion


def test_rrf_scores_by_rank_and_weights() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    keyword_only = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60, weights=[1.0, 0.0])
    assert [item for item, _ in keyword_only] == ["a", "b", "c"] and keyword_only[2][1] == 0.0


def test_convex_combination_keeps_score_gaps() -> None:
    keyword = [("a", 10.0), ("b", 9.9), ("c", 1.0)]
    semantic = [("c", 0.9), ("b", 0.2), ("a", 0.1)]
    fused = dict(convex_combination([keyword, semantic], [0.5, 0.5]))
    assert fused["a"] == pytest.approx(0.5)  # top keyword score, bottom semantic score
    assert fused["b"] > fused["a"]  # nearly top in keyword and above bottom in semantic
    assert convex_combination([[], semantic], [0.5, 0.5])[0] == ("c", 0.5)
    with pytest.raises(ValueError):
        convex_combination([keyword], [0.5, 0.5])
