import json
import threading
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.errors import Fix, StoreError
from paperscope.index.keyword import MAX_SCORED_WORDS, TITLE_BOOST, KeywordIndex, parse_user_query
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.models import Paper
from paperscope.store import open_store
from tests.conftest import shared_path

PAPERS = [
    Paper(id="p1", title="Novel Class Discovery in Tabular Data",
          abstract="We estimate the number of novel classes with k-means clusters."),
    Paper(id="p2", title="Contrastive Learning of Visual Features",
          abstract="Clustering assignments are contrasted between views of an image."),
    Paper(id="p3", title="Transformers for Long Documents",
          abstract="Attention over long sequences for document classification."),
    Paper(id="p4", title="Graph Clustering with Noisy Labels",
          abstract="Local graph clustering diffuses noisy seed labels over a graph."),
]

OPERATOR_QUERIES = [
    "AND", "OR NOT", "NEAR(a b)", "title:(x", '"unterminated', "a^2", "-minus +plus", "{range TO x}",
    "[1 TO 2]", "fuzzy~2", "back\\slash", "*", "**", "col:umn", "x AND (y OR", "'single'", "$\\alpha$",
    "\x00\x01\x7f", "🙂 emoji", "Ünïcödé façade", "日本語の論文", "кластеризация", "التجميع", "क्लस्टरिंग",
]


@pytest.fixture
def index(tmp_path: Path) -> KeywordIndex:
    built = KeywordIndex(tmp_path / "kw")
    built.add(PAPERS)
    built.commit("2026-01-01T00:00:00+00:00")
    return built


def ids(results: list[tuple[str, float]]) -> list[str]:
    return [paper_id for paper_id, _ in results]


def test_stemming_ranks_and_title_boost(index: KeywordIndex) -> None:
    assert set(ids(index.search("clusters", 10))) == {"p1", "p2", "p4"}  # stemmed: cluster(s|ing)
    assert ids(index.search("graph clustering", 10))[0] == "p4"


def test_title_boost_is_added_to_the_text_score(tmp_path: Path) -> None:
    """Two papers with the same words, once in the title and once in the abstract only: the title wins,
    and the scores are what one query over both fields (text + TITLE_BOOST * title) gives."""
    built = KeywordIndex(tmp_path / "kw")
    built.add([Paper(id="in-abstract", title="A study", abstract="Sparse attention for proteins. Other words."),
               Paper(id="in-title", title="Sparse attention", abstract="A study for proteins. Other words.")])
    built.commit()
    results = built.search("sparse attention", 10)
    assert ids(results) == ["in-title", "in-abstract"]
    expected = one_query_scores(built, "sparse attention")
    assert {pid: pytest.approx(score, rel=1e-5) for pid, score in results} == expected


def one_query_scores(built: KeywordIndex, text: str) -> dict[str, float]:
    """tantivy's own scores of one query over both fields, text + TITLE_BOOST * title."""
    query, _ = built._index.parse_query_lenient(parse_user_query(text).as_query_string(), ["text", "title"],
                                                field_boosts={"title": TITLE_BOOST})
    searcher = built._index.searcher()
    return {paper_id: score for paper_id, _, score in built.documents_of(searcher.search(query, 1_000).hits, searcher)}


def test_the_title_part_is_scored_as_tantivy_scores_the_title_field(tmp_path: Path) -> None:
    """On real titles and abstracts, with words, phrases and words that stem to several tokens: the title BM25
    the index adds from its document table equals tantivy's own over the title field."""
    listing = sorted(shared_path("data", "arxiv", "cs").glob("*.jsonl"))[-1]
    rows = [json.loads(line) for line in listing.read_text(encoding="utf-8").splitlines()[:300]]
    built = KeywordIndex(tmp_path / "kw")
    papers = {row["id"]: Paper(id=row["id"], title=row["title"], abstract=row["summary"]) for row in rows}
    built.add(papers.values())  # each once: tantivy's statistics count a replaced document until a merge
    built.commit()
    for text in ('graph neural networks', '"large language models" reasoning', 'vision-language self-supervised',
                 rows[0]["title"], rows[7]["title"] + " " + rows[9]["title"]):
        found = dict(built.search(text, 1_000))
        assert found == {pid: pytest.approx(score, rel=1e-4) for pid, score in one_query_scores(built, text).items()}


def test_an_index_of_another_format_is_replaced_only_by_its_writer(tmp_path: Path, index: KeywordIndex) -> None:
    meta = tmp_path / "kw" / "paperscope-keyword.json"
    meta.write_text(json.dumps({"format": 0, "watermark": "2026-01-01T00:00:00+00:00", "commit": "x"}))
    with pytest.raises(StoreError, match="another version") as raised:
        KeywordIndex(tmp_path / "kw")
    assert raised.value.fix == Fix.REBUILD_INDEX
    replaced = KeywordIndex(tmp_path / "kw", replace_other_format=True)
    assert len(replaced) == 0 and replaced.watermark is None  # the next refresh adds every paper again
    replaced.add(PAPERS)
    replaced.commit("2026-01-02T00:00:00+00:00")
    assert ids(KeywordIndex(tmp_path / "kw").search("tabular", 10)) == ["p1"]


def test_a_reader_follows_the_writer_through_a_rebuild(tmp_path: Path, index: KeywordIndex) -> None:
    """Another process's index (a web process) reads ids and titles from the document table the writer made, and
    from the new one after a rebuild."""
    reader = KeywordIndex(tmp_path / "kw")
    assert ids(reader.search("tabular", 10)) == ["p1"]
    index.clear()
    index.add([Paper(id="q1", title="Tabular models", abstract="Gradient boosting on tables.")])
    index.commit()
    assert reader.reload()
    assert ids(reader.search("tabular", 10)) == ["q1"] and reader.ids() == ["q1"]


def test_a_lost_document_table_asks_for_a_rebuild(tmp_path: Path, index: KeywordIndex) -> None:
    index._documents.close()
    (tmp_path / "kw" / "paperscope-documents.sqlite").unlink()
    for attempt in (lambda: KeywordIndex(tmp_path / "kw").search("tabular", 10), lambda: index.add(PAPERS[:1])):
        with pytest.raises(StoreError, match="document table .* is missing") as raised:
            attempt()
        assert raised.value.fix == Fix.REBUILD_INDEX
    index.clear()
    index.add(PAPERS)
    index.commit()
    assert ids(KeywordIndex(tmp_path / "kw").search("tabular", 10)) == ["p1"]


def test_phrases_and_prefixes(index: KeywordIndex) -> None:
    assert ids(index.search('"novel class discovery"', 10)) == ["p1"]
    assert ids(index.search('"class novel"', 10)) == []  # a phrase keeps its word order
    assert ids(index.search("transfo*", 10)) == ["p3"]


def test_allowed_ids_restrict_results(index: KeywordIndex) -> None:
    assert ids(index.search("clustering", 10, allowed={"p2"})) == ["p2"]
    assert index.search("clustering", 10, allowed=set()) == []


@pytest.mark.parametrize("query", OPERATOR_QUERIES + ["", "   ", "x" * 10_000, "word " * 5_000])
def test_no_query_raises(index: KeywordIndex, query: str) -> None:
    results = index.search(query, 10)
    assert isinstance(results, list)


def test_updates_replace_and_persist(tmp_path: Path, index: KeywordIndex) -> None:
    index.add([Paper(id="p1", title="Renamed Paper", abstract="Nothing about the old words.")])
    index.commit("2026-01-02T00:00:00+00:00")
    assert "p1" not in ids(index.search('"novel class discovery"', 10))
    assert len(index) == 4  # replaced, not doubled
    reopened = KeywordIndex(tmp_path / "kw")
    assert reopened.watermark == "2026-01-02T00:00:00+00:00"
    assert ids(reopened.search("renamed", 10)) == ["p1"]
    reopened.delete(["p1"])
    reopened.commit()
    assert reopened.search("renamed", 10) == [] and len(reopened) == 3


def test_query_parsing_keeps_words_phrases_and_prefixes() -> None:
    parsed = parse_user_query('"Novel Class" discovery of tab* AND\x07 the')
    assert parsed.phrases == [["novel", "class"]]
    assert parsed.prefixes == ["tab"]
    assert parsed.words == ["discovery"]  # stop words and operators are plain words, and stop words drop
    assert parse_user_query("the of").words == ["the", "of"]  # unless nothing else is left


#: Six papers beside PAPERS: with them "clustering" is in 3 of 10 papers (at least COMMON_SHARE), "tabular" in one.
SORTING = [Paper(id=f"o{n}", title=f"Sorting {n}", abstract="Sorting networks of comparators.") for n in range(6)]


def selective(tmp_path: Path, papers: list[Paper]) -> KeywordIndex:
    """An index that scores a query's selective words whatever its size (large ones do by default)."""
    built = KeywordIndex(tmp_path / "selective", selective_from=0)
    built.add(papers)
    built.commit()
    return built


def test_a_large_index_leaves_common_words_out_of_a_query_with_rarer_ones(tmp_path: Path, index: KeywordIndex
                                                                            ) -> None:
    pruned = selective(tmp_path, PAPERS + SORTING)
    assert pruned.selective_words(["tabular", "clustering"]) == ["tabular"]
    assert ids(pruned.search("tabular clustering", 10)) == ["p1"]
    assert set(ids(index.search("tabular clustering", 10))) == {"p1", "p2", "p4"}  # a small index scores both
    assert pruned.selective_words(["clustering", "sorting"]) == ["clustering", "sorting"]  # none rarer: both stay
    assert pruned.selective_words(["zyxwv", "tabular"]) == ["tabular"]  # a word no paper has changes nothing
    assert pruned.selective_words(["zyxwv", "qwert"]) == ["zyxwv", "qwert"]


def test_a_long_query_scores_its_rarest_words_in_their_order(tmp_path: Path) -> None:
    """Word i is in i + 1 papers of 100 (all under COMMON_SHARE): the MAX_SCORED_WORDS rarest stay, in the
    query's order."""
    words = [f"w{i:02d}x" for i in range(MAX_SCORED_WORDS + 5)]
    papers = [Paper(id=f"p{n}", title=f"Paper {n}", abstract=" ".join(w for i, w in enumerate(words) if n <= i))
              for n in range(100)]
    pruned = selective(tmp_path, papers)
    query = list(reversed(words))
    assert pruned.selective_words(query) == list(reversed(words[:MAX_SCORED_WORDS]))


def test_word_frequencies_are_looked_up_as_the_index_stems_them(tmp_path: Path) -> None:
    """Every word of real abstracts is found with the frequency of its stemmed form: the query side's analyzer
    is the index's own ("en_stem")."""
    listing = sorted(shared_path("data", "arxiv", "cs").glob("*.jsonl"))[-1]
    rows = [json.loads(line) for line in listing.read_text(encoding="utf-8").splitlines()[:50]]
    papers = [Paper(id=row["id"], title=row["title"], abstract=row["summary"]) for row in rows]
    pruned = selective(tmp_path, papers)
    searcher = pruned._index.searcher()
    for paper in papers:
        for word in parse_user_query(paper.abstract).words:
            assert pruned.selective_words([word, "zyxwv"], searcher) == [word], word


def test_a_rebuild_replaces_an_index_of_another_format_that_readers_refuse(tmp_path: Path) -> None:
    """`paperscope index --rebuild` (index_papers with rebuild) on a keyword index an older version wrote: the
    writing engine replaces it and fills it again; a web process's engine reports the rebuild it needs until then."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", embedding_model="hashing",
                        index_dir=str(tmp_path / "index"))
    store = open_store(settings.database_url)
    store.upsert_papers(PAPERS)
    index_papers(SearchEngine(store, settings))
    meta = tmp_path / "index" / "keyword" / "paperscope-keyword.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": 0}))
    with pytest.raises(StoreError) as raised:
        SearchEngine(store, settings, writes_indexes=False).search("tabular", mode="keyword")
    assert raised.value.fix == Fix.REBUILD_INDEX
    report = index_papers(SearchEngine(store, settings), rebuild=True)
    assert report.keyword_updated == len(PAPERS)
    hits = SearchEngine(store, settings, writes_indexes=False).search("tabular", mode="keyword")
    assert [hit.id for hit in hits] == ["p1"]


def test_selective_searches_from_many_threads_at_once_agree(tmp_path: Path) -> None:
    """Hybrid searches run the keyword part on side threads: the shared analyzer and searcher serve them all."""
    pruned = selective(tmp_path, PAPERS + SORTING)
    expected = pruned.search("tabular clustering of noisy graph labels", 10)
    found: list[list[tuple[str, float]]] = []
    errors: list[BaseException] = []

    def search() -> None:
        try:
            found.extend(pruned.search("tabular clustering of noisy graph labels", 10) for _ in range(200))
        except BaseException as exc:  # noqa: BLE001 - any failure in a thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(found) == 800 and all(result == expected for result in found)
