import datetime as dt
import itertools

from paperscope.models import Paper


def paper(**fields: object) -> Paper:
    base: dict[str, object] = {"id": "2503.00001", "title": "A Title", "abstract": "An abstract."}
    base.update(fields)
    return Paper(**base)  # type: ignore[arg-type]


def test_newer_version_replaces_fields_and_keeps_gaps_filled() -> None:
    stored = paper(version=1, abstract="old", comment="5 pages", sources=["jsonl"])
    incoming = paper(version=2, abstract="new", comment=None, sources=["arxiv"])
    merged = stored.merged_with(incoming)
    assert merged.abstract == "new" and merged.version == 2
    assert merged.comment == "5 pages"  # the newer record had none
    assert merged.sources == ["jsonl", "arxiv"]


def test_older_or_unversioned_record_only_fills_gaps() -> None:
    stored = paper(version=2, abstract="current", doi=None)
    merged = stored.merged_with(paper(abstract="stale", doi="10.1/x"))
    assert merged.abstract == "current" and merged.doi == "10.1/x"
    assert stored.merged_with(paper(version=1, abstract="v1")).abstract == "current"


def test_counts_keep_the_highest_and_dates_the_widest() -> None:
    stored = paper(upvotes=12, published=dt.date(2025, 3, 2), updated=dt.date(2025, 3, 4))
    merged = stored.merged_with(paper(upvotes=7, published=dt.date(2025, 3, 1), updated=dt.date(2025, 3, 3)))
    assert merged.upvotes == 12
    assert merged.published == dt.date(2025, 3, 1)
    assert merged.updated == dt.date(2025, 3, 4)


def test_categories_union_keeps_the_primary_first() -> None:
    merged = paper(categories=["cs.CV", "cs.RO"]).merged_with(paper(categories=["cs.RO", "cs.LG"]))
    assert merged.categories == ["cs.CV", "cs.RO", "cs.LG"]


def test_merge_is_idempotent_and_order_independent() -> None:
    records = [
        paper(categories=["cs.CV"], sources=["jsonl"], upvotes=3),
        paper(version=2, abstract="v2", categories=["cs.LG"], sources=["arxiv"]),
        paper(upvotes=9, sources=["hf"], ai_keywords=["clustering"], github_repo="https://github.com/x/y"),
    ]
    results = []
    for order in itertools.permutations(records):
        merged = order[0]
        for record in order[1:]:
            merged = merged.merged_with(record)
        assert merged.merged_with(order[-1]) == merged  # the same input again changes nothing
        results.append((merged.abstract, merged.version, merged.upvotes, sorted(merged.sources),
                        sorted(merged.categories), merged.github_repo))
    assert all(result == results[0] for result in results)


def test_the_primary_category_comes_from_the_most_specific_taxonomy_whatever_the_order() -> None:
    arxiv = paper(categories=["cs.LG", "stat.ML"], sources=["jsonl"])
    s2 = paper(categories=["Computer Science", "Mathematics"], sources=["s2"])
    pubmed = paper(categories=["Neural Networks, Computer"], sources=["pubmed"])
    for order in itertools.permutations([arxiv, s2, pubmed]):
        merged = order[0].merged_with(order[1]).merged_with(order[2])
        assert merged.primary_category == "cs.LG"
    assert s2.merged_with(pubmed).primary_category == "Neural Networks, Computer"
