"""The real model end to end, through the command line, on a slice of SciFact with its relevance judgements."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ir_metrics import mean, ndcg_at_k, read_qrels
from tests.conftest import shared_path

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

QUERIES = 40
DISTRACTORS = 300


@pytest.fixture(scope="module")
def scifact_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, dict[str, int]]]:
    """A database with the relevant abstracts of 40 test queries among 300 others, indexed with the real model."""
    root = shared_path("data", "scifact")
    qrels = dict(list(read_qrels(root / "beir" / "qrels" / "test.tsv").items())[:QUERIES])
    wanted = {doc for rel in qrels.values() for doc in rel}
    lines = (root / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    chosen = [line for line in lines if json.loads(line)["id"] in wanted] + lines[:DISTRACTORS]
    folder = tmp_path_factory.mktemp("scifact")
    corpus = folder / "corpus.jsonl"
    corpus.write_text("\n".join(dict.fromkeys(chosen)) + "\n", encoding="utf-8")
    queries = folder / "queries.jsonl"
    texts = {json.loads(line)["_id"]: json.loads(line)["text"]
             for line in (root / "beir" / "queries.jsonl").read_text(encoding="utf-8").splitlines()}
    queries.write_text("".join(json.dumps({"_id": q, "text": texts[q]}) + "\n" for q in qrels), encoding="utf-8")
    db = folder / "scifact.db"
    for args in (["ingest", str(corpus)], ["index"]):
        run = subprocess.run([sys.executable, "-m", "paperscope", "--db", str(db), *args],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
    return db, queries, qrels


def ndcg_of(db: Path, queries: Path, qrels: dict[str, dict[str, int]], mode: str) -> float:
    run = subprocess.run([sys.executable, "-m", "paperscope", "--db", str(db), "search", "--queries", str(queries),
                          "--limit", "10", "--mode", mode, "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = {r["query_id"]: [hit["id"] for hit in r["results"]] for r in map(json.loads, run.stdout.splitlines())}
    assert set(results) == set(qrels)  # one line per query
    return mean([ndcg_at_k(results[q], rel) for q, rel in qrels.items()])


def test_hybrid_search_ranks_relevant_abstracts_first(scifact_slice: tuple[Path, Path, dict[str, dict[str, int]]]
                                                      ) -> None:
    db, queries, qrels = scifact_slice
    scores = {mode: ndcg_of(db, queries, qrels, mode) for mode in ("keyword", "semantic", "hybrid")}
    assert scores["semantic"] > 0.5, scores  # the model understands the claims
    assert scores["hybrid"] >= 0.7, scores
    assert scores["hybrid"] >= min(scores["keyword"], scores["semantic"]), scores
