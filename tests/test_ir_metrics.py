import math

from ir_metrics import ndcg_at_k, recall_at_k


def test_ndcg_and_recall_on_hand_computed_cases() -> None:
    relevant = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b", "c"], relevant) == 1.0
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert math.isclose(ndcg_at_k(["x", "a"], relevant), expected)
    assert ndcg_at_k(["x", "y"], relevant) == 0.0
    assert recall_at_k(["a", "x"], relevant, k=2) == 0.5


def test_mrr_and_held_out_sentence() -> None:
    from ir_metrics import held_out_first_sentence, mrr_at_k

    assert mrr_at_k(["x", "a", "b"], {"a": 1}) == 0.5
    assert mrr_at_k(["x"] * 10 + ["a"], {"a": 1}) == 0.0  # past the cut-off
    abstract = ("Graph neural networks (GNNs) excel at e.g. node classification. We study\nwhy they fail on "
                "heterophilous graphs and propose a fix. Experiments on twelve benchmarks show large gains.")
    query, rest = held_out_first_sentence(abstract)  # type: ignore[misc]
    assert query == "Graph neural networks (GNNs) excel at e.g. node classification."
    assert rest.startswith("We study why they fail") and query not in rest
    short = "Short one. Then a longer second sentence follows here. " + "Word " * 30 + "end."
    assert held_out_first_sentence(short)[0] == "Short one. Then a longer second sentence follows here."  # type: ignore[index]
    assert held_out_first_sentence("Only one sentence with enough words to be a query here.") is None
