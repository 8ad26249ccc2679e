import datetime as dt
import gzip
import json
from pathlib import Path

from paperscope.config import Settings
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.jsonl import read_jsonl
from paperscope.ingest.pipeline import Ingester
from paperscope.store import Store
from tests.conftest import shared_path

SNAPSHOT_RECORD = {  # the arXiv bulk metadata snapshot's shape (an invented paper)
    "id": "0704.0001", "submitter": "Grace Hopper",
    "authors": "G. Hopper, A. Lovelace and A. Turing",
    "authors_parsed": [["Hopper", "G.", ""], ["Lovelace", "A.", ""], ["Turing", "A.", "Jr"]],
    "title": "A Made-Up Study of\n  Clustering", "comments": "12 pages", "journal-ref": "J. Imag. 1 (2007) 1",
    "doi": "10.1000/made.up", "report-no": None, "categories": "stat.ML cs.LG", "license": None,
    "abstract": "  We study clustering.\nIt is\nfine.  ",
    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                 {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"}],
    "update_date": "2008-11-13",
}


def parse(path: Path) -> tuple[list[Entry], list[Problem]]:
    with path.open("rb") as stream:
        items = list(read_jsonl(stream, str(path)))
    return ([i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)])


def write_lines(path: Path, lines: list[object]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
                              for line in lines))
    return path


def test_real_daily_listing_file_parses_every_line() -> None:
    path = shared_path("data", "arxiv", "cs", "2025-03-18.jsonl")
    entries, problems = parse(path)
    assert problems == []
    assert len(entries) == sum(1 for line in path.open() if line.strip())
    first = entries[0].paper
    raw = json.loads(path.open().readline())
    assert first.id == raw["id"] and first.authors == raw["authors"] and first.categories == raw["categories"]
    assert "\n" not in first.abstract and first.abstract.startswith(raw["summary"].split()[0])
    assert first.abs_url == raw["abs"] and first.sources == ["jsonl"]


def test_snapshot_flavour_maps_versions_authors_and_references(tmp_path: Path) -> None:
    old_style = dict(SNAPSHOT_RECORD, id="hep-th/9901001", versions=[{"version": "v1", "created": "x"}])
    entries, problems = parse(write_lines(tmp_path / "s.jsonl", [SNAPSHOT_RECORD, old_style]))
    paper = entries[0].paper
    assert paper.id == "0704.0001" and paper.version == 2
    assert paper.authors == ["G. Hopper", "A. Lovelace", "A. Turing Jr"]
    assert paper.categories == ["stat.ML", "cs.LG"]
    assert paper.published == dt.date(2007, 4, 2) and paper.updated == dt.date(2007, 7, 24)
    assert paper.title == "A Made-Up Study of Clustering" and paper.abstract == "We study clustering. It is fine."
    assert (paper.doi, paper.journal_ref, paper.comment) == ("10.1000/made.up", "J. Imag. 1 (2007) 1", "12 pages")
    assert paper.abs_url == "https://arxiv.org/abs/0704.0001"
    assert entries[1].paper.id == "hep-th/9901001"
    assert [p.message for p in problems if not p.rejected][0].startswith("invalid date")


def test_plain_flavour_keeps_the_id_as_given(tmp_path: Path) -> None:
    entries, _ = parse(write_lines(tmp_path / "p.jsonl", [{"id": "4983", "title": "T", "abstract": "A."},
                                                          {"id": 77, "title": "U", "abstract": "B."}]))
    assert [e.paper.id for e in entries] == ["4983", "77"]
    assert entries[0].paper.abs_url is None


def test_bad_lines_are_reported_with_their_line_and_the_rest_kept(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [
        {"id": "2501.00001", "title": "Good one", "abstract": "Fine."},
        b'{"id": "2501.00002", "title": "cut',
        b"[1, 2]",
        b'{"id": "2501.00003", "title": "Caf\xe9", "abstract": "latin-1"}',
        {"id": "2501.00004", "title": ["not", "text"]},
        {"id": {"nested": 1}, "title": "x"},
        {"id": "has spaces in it", "title": "x"},
        b"",
        {"id": "2501.00005", "title": "Good two", "abstract": "Fine."},
    ])
    entries, problems = parse(path)
    assert [e.paper.id for e in entries] == ["2501.00001", "2501.00005"]
    by_line = {p.where: p.message for p in problems}
    assert "not valid JSON" in by_line["line 2"] and "truncated" in by_line["line 2"]
    assert "expected a JSON object" in by_line["line 3"]
    assert "not UTF-8" in by_line["line 4"] and "iconv" in by_line["line 4"]
    assert "field 'title' must be text" in by_line["line 5"]
    assert "field 'id'" in by_line["line 6"]
    assert "not a usable id" in by_line["line 7"]
    assert all(str(p).startswith(f"{path}:line ") for p in problems)


def test_gzip_reads_the_same_and_a_truncated_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    records = [{"id": f"2501.{n:05d}", "title": f"Paper {n}", "abstract": "Words " * 50} for n in range(500)]
    plain = write_lines(tmp_path / "a.jsonl", records)
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    from paperscope.ingest.detect import open_input

    with open_input(packed) as stream:
        assert len([i for i in read_jsonl(stream, "a.jsonl.gz") if isinstance(i, Entry)]) == 500
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed.read_bytes()[: len(packed.read_bytes()) // 2])
    with open_input(cut) as stream:
        items = list(read_jsonl(stream, "cut.jsonl.gz"))
    entries = [i for i in items if isinstance(i, Entry)]
    assert 0 < len(entries) < 500
    assert "ends early" in items[-1].message and isinstance(items[-1], Problem)


def test_validation_rejects_absurd_fields_and_warns_on_empty_abstract(tmp_path: Path, store: Store,
                                                                       settings: Settings) -> None:
    path = write_lines(tmp_path / "v.jsonl", [
        {"id": "2501.00001", "title": "x" * 5000, "abstract": "A."},
        {"id": "2501.00002", "title": "", "abstract": "A."},
        {"id": "2501.00003", "title": "No abstract", "abstract": ""},
        {"id": "2501.00004", "title": "Many", "authors": [f"Author {n}" for n in range(20_000)]},
        {"id": "2501.00005", "title": "Bad date", "abstract": "A.", "published": "2025-13-45"},
    ])
    report = Ingester(store, settings).ingest(str(path))
    assert (report.added, report.rejected, report.warnings) == (2, 3, 2)
    messages = [str(p) for p in report.problems]
    assert any("line 1" in m and "'title' is 5,000 characters" in m for m in messages)
    assert any("line 2" in m and "no title" in m for m in messages)
    assert any("line 3" in m and "empty abstract" in m for m in messages)
    assert any("line 4" in m and "20,000 authors" in m for m in messages)
    assert any("line 5" in m and "'2025-13-45' is not a date" in m for m in messages)
    assert store.get_paper("2501.00005").published is None  # type: ignore[union-attr]
