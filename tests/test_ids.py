import pytest

from paperscope.ids import author_key, derived_id, find_arxiv_id, is_derived_id, parse_arxiv_id, title_key


@pytest.mark.parametrize(("text", "expected"), [
    ("2503.11731", ("2503.11731", None)),
    ("2503.11731v2", ("2503.11731", 2)),
    ("arXiv:2503.11731v12", ("2503.11731", 12)),
    ("ARXIV:0704.0001", ("0704.0001", None)),
    ("https://arxiv.org/abs/2503.11731v3", ("2503.11731", 3)),
    ("http://arxiv.org/pdf/2503.11731v1.pdf", ("2503.11731", 1)),
    ("https://export.arxiv.org/abs/2503.11731", ("2503.11731", None)),
    ("http://arxiv.org/abs/hep-th/9901001v2", ("hep-th/9901001", 2)),
    ("hep-th/9901001", ("hep-th/9901001", None)),
    ("math.GT/0309136", ("math/0309136", None)),
    ("cond-mat/0102536v1", ("cond-mat/0102536", 1)),
])
def test_arxiv_ids_normalise(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["4983", "not an id", "2503.117", "hep-th/99010", "10.1000/xyz", ""])
def test_non_arxiv_ids_are_not_parsed(text: str) -> None:
    assert parse_arxiv_id(text) is None


def test_arxiv_id_found_in_free_text() -> None:
    assert find_arxiv_id("arXiv preprint arXiv:2303.08774") == ("2303.08774", None)
    assert find_arxiv_id("see https://arxiv.org/abs/2106.09685v2 for details") == ("2106.09685", 2)
    assert find_arxiv_id("Journal of Things 12(3)") is None


def test_title_key_ignores_case_accents_braces_and_punctuation() -> None:
    assert title_key("{GoalEx}: Goal-Driven  Clustering") == title_key("goalex goal driven clustering")
    assert title_key("Über Clustering") == "uber clustering"
    assert title_key("A") != title_key("B")


def test_author_key_reads_both_name_orders() -> None:
    assert author_key("Ada Lovelace") == author_key("Lovelace, Ada") == "lovelace"


def test_derived_ids_are_stable_and_marked() -> None:
    first = derived_id("Probabilistic Partitive Partitioning (PPP)")
    assert first == derived_id("probabilistic partitive partitioning ppp")
    assert first != derived_id("Another Title")
    assert is_derived_id(first) and not is_derived_id("2503.11731")
