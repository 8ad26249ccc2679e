"""Ingest of a large snapshot in bounded memory: an ingest keeps the first KEPT_PROBLEMS problems and counts the
rest, while `paperscope ingest --problems FILE` still writes every one, as it finds them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.ingest.pipeline import KEPT_PROBLEMS, Ingester
from paperscope.store import open_store
from tests.conftest import shared_path

WORKS = KEPT_PROBLEMS + 500


def snapshot_without_abstracts(folder: Path) -> Path:
    """An OpenAlex snapshot partition (gzipped JSON Lines) of WORKS works, each a recorded real work's title with
    a new id and no abstract (which ingest stores with a warning)."""
    recorded = json.loads(shared_path("data", "fixtures", "openalex", "peneira_works_search_49.json")
                          .read_text(encoding="utf-8"))["results"]
    path = folder / "part_000.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for number in range(WORKS):
            title = recorded[number % len(recorded)]["title"]
            out.write(json.dumps({"id": f"https://openalex.org/W{9_000_000_000 + number}",
                                  "title": f"{title} (copy {number})"}) + "\n")
    return path


def test_a_report_keeps_the_first_problems_and_counts_them_all(tmp_path: Path) -> None:
    path = snapshot_without_abstracts(tmp_path)
    seen = []
    with open_store(str(tmp_path / "x.db")) as store:
        report = Ingester(store, Settings(database_url=str(tmp_path / "x.db")), on_problem=seen.append
                          ).ingest(str(path))
        assert store.count_papers() == WORKS
    assert report.added == WORKS and report.warnings == WORKS and len(seen) == WORKS
    assert len(report.problems) == KEPT_PROBLEMS  # memory bounded however long the snapshot
    assert report.problems == seen[:KEPT_PROBLEMS]


def test_the_problems_file_gets_every_problem(tmp_path: Path) -> None:
    path = snapshot_without_abstracts(tmp_path)
    problems = tmp_path / "problems.jsonl"
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.db"), "ingest", str(path), "--quiet", "--json",
                                       "--problems", str(problems)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["warnings"] == WORKS
    lines = [json.loads(line) for line in problems.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == WORKS and lines[-1]["where"] == f"line {WORKS}"
    assert all("empty abstract" in line["message"] and not line["rejected"] for line in lines)
