import math
import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from ir_metrics import ndcg_at_k, recall_at_k  # noqa: E402


def test_ndcg_and_recall_on_hand_computed_cases() -> None:
    relevant = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b", "c"], relevant) == 1.0
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert math.isclose(ndcg_at_k(["x", "a"], relevant), expected)
    assert ndcg_at_k(["x", "y"], relevant) == 0.0
    assert recall_at_k(["a", "x"], relevant, k=2) == 0.5
