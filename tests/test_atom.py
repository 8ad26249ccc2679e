"""The arXiv API Atom reader: the four real saved responses, both formats, broken and hostile input."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.errors import SourceError
from paperscope.ingest.atom import AtomFeed, read_atom
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store

# The shared data sits beside the repository (in CI too: <tmp>/main and <tmp>/shared).
ARXIV_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "fixtures" / "arxiv_api"
COUNTS = {
    "xiv_arxiv_response.xml": 2,
    "xiv_arxiv_empty.xml": 0,
    "zoia_arxiv_response.xml": 1,
    "sotawhat_arxiv_transformer_2026format.xml": 5,
}


def real_fixture(name: str) -> Path:
    path = ARXIV_FIXTURES / name
    if not path.exists():
        pytest.skip(f"real arXiv API fixture not found at {path}: these tests read ../shared/data "
                    "beside the repository")
    return path


def read_file(path: Path) -> list[Item]:
    with path.open("rb") as stream:
        return list(read_atom(stream, str(path)))


def read_bytes(data: bytes | str, origin: str = "test.xml") -> list[Item]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(read_atom(io.BytesIO(raw), origin))


def papers(items: list[Item]) -> list[Paper]:
    return [item.paper for item in items if isinstance(item, Entry)]


def problems(items: list[Item]) -> list[Problem]:
    return [item for item in items if isinstance(item, Problem)]


# --- the real saved responses -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), COUNTS.items())
def test_real_fixtures_give_exact_entry_counts_and_no_problems(name: str, expected: int) -> None:
    items = read_file(real_fixture(name))
    assert len(papers(items)) == expected
    assert problems(items) == []


def test_the_four_real_fixtures_give_eight_papers_in_all() -> None:
    total = sum(len(papers(read_file(real_fixture(name)))) for name in COUNTS)
    assert total == 8


def test_classic_format_fields() -> None:
    items = read_file(real_fixture("xiv_arxiv_response.xml"))
    first, second = papers(items)
    assert [p.id for p in (first, second)] == ["2510.14968", "2510.14827"]
    assert first.version == 1
    # The title is hard-wrapped in the XML; the abstract starts with spaces and has line breaks.
    assert first.title == ("RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in "
                           "Long-Horizon Tasks")
    assert first.abstract.startswith("To tackle long-horizon tasks, recent hierarchical "
                                     "vision-language-action (VLAs) frameworks")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.authors == ["Mingxuan Yan", "Yuping Wang", "Zechun Liu", "Jiachen Li"]
    assert first.categories == ["cs.RO", "cs.AI", "cs.CV", "cs.LG", "cs.SY", "eess.SY"]
    assert first.published == first.updated == dt.date(2025, 10, 16)
    assert first.comment == ("39th Conference on Neural Information Processing Systems (NeurIPS 2025); "
                             "Project Website: rdd-neurips.github.io")
    assert first.abs_url == "https://arxiv.org/abs/2510.14968"
    assert first.pdf_url == "https://arxiv.org/pdf/2510.14968"
    assert first.sources == ["arxiv"]
    assert first.doi is None and first.journal_ref is None
    assert second.categories == ["cs.RO"]
    assert second.comment is None
    assert second.authors[-1] == "Martin Magnusson"


def test_doi_and_journal_ref() -> None:
    (paper,) = papers(read_file(real_fixture("zoia_arxiv_response.xml")))
    assert paper.id == "1601.00001"
    assert paper.version == 1
    assert paper.doi == "10.1063/1.4944470"
    assert paper.journal_ref == "J. Chem. Phys. 144, 124107 (2016)"
    assert paper.categories == ["cond-mat.mes-hall"]
    assert paper.published == dt.date(2015, 12, 26)
    # The DOI link is not mistaken for the abstract page.
    assert paper.abs_url == "https://arxiv.org/abs/1601.00001"


def test_2026_format_fields() -> None:
    items = read_file(real_fixture("sotawhat_arxiv_transformer_2026format.xml"))
    found = papers(items)
    assert [p.id for p in found] == ["2606.13677", "2606.13591", "2606.13568", "2606.13515", "2606.13501"]
    assert all(p.version == 1 for p in found)
    # Primary category (without a scheme in this format) first, then the others in order.
    assert [p.categories[0] for p in found] == ["cs.RO", "cs.AI", "cs.LG", "cs.CV", "cs.DC"]
    assert found[1].categories == ["cs.AI", "cs.LG", "cs.MA"]
    assert found[0].authors == ["Zhao-Heng Yin", "Guanya Shi", "Pieter Abbeel", "C. Karen Liu"]
    assert found[0].comment == "Project Page: https://zhaohengyin.github.io/mana"
    assert found[0].abs_url == "https://arxiv.org/abs/2606.13677"
    assert found[0].pdf_url == "https://arxiv.org/pdf/2606.13677"
    assert found[0].updated == dt.date(2026, 6, 11)
    assert "<1 minute per tool" in found[0].abstract  # the &lt; entity is decoded
    # A paragraph break inside the abstract is collapsed like a hard wrap.
    assert "\n" not in found[4].abstract
    assert all(p.title and p.abstract and p.authors and p.published for p in found)


@pytest.mark.parametrize(("name", "total"), [
    ("xiv_arxiv_response.xml", 5619),
    ("xiv_arxiv_empty.xml", 0),
    ("zoia_arxiv_response.xml", 1),
    ("sotawhat_arxiv_transformer_2026format.xml", 28946),
])
def test_total_results_is_exposed_for_paging(name: str, total: int) -> None:
    with real_fixture(name).open("rb") as stream:
        feed = AtomFeed(stream, name)
        stamped = list(feed.stamped())
    assert feed.total_results == total
    assert feed.entries_read == COUNTS[name]
    assert not feed.malformed
    # Full timestamps, for incremental harvesting (Paper.updated only keeps the date).
    if stamped:
        assert all(s.updated is not None and s.updated.tzinfo is not None for s in stamped)


def test_truncated_real_response_keeps_the_entries_before_the_break(tmp_path: Path) -> None:
    data = real_fixture("sotawhat_arxiv_transformer_2026format.xml").read_bytes()
    cut = data.index(b"<entry>", data.index(b"2606.13515")) + 40  # inside the fifth entry
    broken = tmp_path / "truncated.xml"
    broken.write_bytes(data[:cut])
    items = read_file(broken)
    assert [p.id for p in papers(items)] == ["2606.13677", "2606.13591", "2606.13568", "2606.13515"]
    (problem,) = problems(items)
    line = data[:cut].count(b"\n") + 1
    assert problem.where == f"line {line}"
    assert f"truncated or malformed at line {line}, column" in problem.message
    assert "4 entries before it were read" in problem.message


# --- synthetic feeds: format variants and bad input -------------------------------------------------

CLASSIC_ENTRY = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2401.00001v3</id>
    <updated>2024-02-03T10:00:00Z</updated>
    <published>2024-01-01T09:00:00Z</published>
    <title>A Study of
  Wrapped Titles</title>
    <summary>  First line
of the abstract.
</summary>
    <author><name>Ada Lovelace</name></author>
    <author><name>Alan Turing</name><arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">Manchester</arxiv:affiliation></author>
    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.1000/xyz</arxiv:doi>
    <link href="http://arxiv.org/abs/2401.00001v3" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.00001v3" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="stat.ML" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="stat.ML" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""

# The same entry as the 2026 API writes it: namespaces on the root, https, another element order.
NEW_ENTRY = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/abc</id>
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>https://arxiv.org/abs/2401.00001v3</id>
    <title>A Study of Wrapped Titles</title>
    <updated>2024-02-03T10:00:00Z</updated>
    <link href="http://arxiv.org/abs/2401.00001v3" rel="alternate" type="text/html"/>
    <link href="http://arxiv.org/pdf/2401.00001v3" rel="related" type="application/pdf" title="pdf"/>
    <summary>First line of the abstract.</summary>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="stat.ML" scheme="http://arxiv.org/schemas/atom"/>
    <published>2024-01-01T09:00:00Z</published>
    <arxiv:doi>10.1000/xyz</arxiv:doi>
    <arxiv:primary_category term="stat.ML"/>
    <author><name>Ada Lovelace</name></author>
    <author><name>Alan Turing</name><arxiv:affiliation>Manchester</arxiv:affiliation></author>
  </entry>
</feed>
"""


def test_both_formats_give_the_same_paper() -> None:
    (classic,) = papers(read_bytes(CLASSIC_ENTRY))
    (new,) = papers(read_bytes(NEW_ENTRY))
    assert classic == new
    assert classic.id == "2401.00001" and classic.version == 3
    assert classic.title == "A Study of Wrapped Titles"
    assert classic.abstract == "First line of the abstract."
    assert classic.authors == ["Ada Lovelace", "Alan Turing"]
    # The primary category comes first even where <category> lists it later, and only once.
    assert classic.categories == ["stat.ML", "cs.LG"]
    assert classic.doi == "10.1000/xyz"
    assert (classic.published, classic.updated) == (dt.date(2024, 1, 1), dt.date(2024, 2, 3))


def entry(number: int, *, published: str = "2024-01-01T09:00:00Z", arxiv_id: str | None = None) -> str:
    arxiv_id = f"2401.{number:05d}v1" if arxiv_id is None else arxiv_id
    id_element = f"<id>http://arxiv.org/abs/{arxiv_id}</id>" if arxiv_id else ""
    return f"""  <entry>
    {id_element}
    <updated>2024-01-02T09:00:00Z</updated>
    <published>{published}</published>
    <title>Paper {number}</title>
    <summary>Abstract {number}.</summary>
    <author><name>Author {number}</name></author>
  </entry>
"""


def feed(*entries: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
            + "".join(entries) + "</feed>\n")


def test_truncated_file_keeps_earlier_entries_and_names_the_line(tmp_path: Path) -> None:
    text = feed(entry(1), entry(2), entry(3))
    cut = text.index("<title>Paper 3")
    path = tmp_path / "cut.xml"
    path.write_text(text[:cut], encoding="utf-8")
    items = read_file(path)
    assert [p.title for p in papers(items)] == ["Paper 1", "Paper 2"]
    (problem,) = problems(items)
    line = text[:cut].count("\n") + 1
    assert problem.rejected
    assert problem.origin == str(path)
    assert problem.where == f"line {line}"
    assert f"at line {line}, column 5:" in problem.message  # 1-based, after the 4-space indent
    assert "2 entries before it were read" in problem.message
    assert str(problem).startswith(f"{path}:line {line}: rejected:")


def test_malformed_markup_in_the_middle_is_reported_with_its_line() -> None:
    text = feed(entry(1), entry(2).replace("</title>", "</titel>"), entry(3))
    items = read_bytes(text)
    assert [p.title for p in papers(items)] == ["Paper 1"]
    (problem,) = problems(items)
    line = text[:text.index("</titel>")].count("\n") + 1
    assert problem.where == f"line {line}"
    assert "mismatched tag" in problem.message


def test_empty_input_is_a_problem_not_a_crash() -> None:
    (problem,) = read_bytes(b"")
    assert isinstance(problem, Problem)
    assert "line 1" in problem.message and "0 entries before it were read" in problem.message


def test_entity_expansion_is_refused() -> None:
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&b;</title></entry></feed>')
    items = read_bytes(bomb)
    assert papers(items) == []
    (problem,) = problems(items)
    assert "refused for safety" in problem.message


def test_bad_date_is_a_warning_and_the_paper_is_kept_without_it() -> None:
    items = read_bytes(feed(entry(1), entry(2, published="yesterday-ish")))
    first, second = papers(items)
    assert first.published == dt.date(2024, 1, 1)
    assert second.published is None
    assert second.updated == dt.date(2024, 1, 2)
    (warning,) = problems(items)
    assert not warning.rejected
    assert warning.where == "entry 2"
    assert "'published'" in warning.message and "yesterday-ish" in warning.message


@pytest.mark.parametrize("bad_id", ["", "not-an-id"])
def test_entry_without_a_usable_id_is_rejected(bad_id: str) -> None:
    items = read_bytes(feed(entry(1), entry(2, arxiv_id=bad_id), entry(3)))
    assert [p.title for p in papers(items)] == ["Paper 1", "Paper 3"]
    (problem,) = problems(items)
    assert problem.rejected
    assert problem.where == "entry 2"
    assert "'id'" in problem.message


ERROR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: search_query=&amp;id_list=1234.12345&amp;start=0&amp;max_results=10</title>
  <id>http://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <updated>2007-10-12T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345" rel="alternate"/>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""


def test_error_feed_in_a_file_is_a_rejected_problem() -> None:
    items = read_bytes(ERROR_FEED, "saved.xml")
    assert papers(items) == []
    (problem,) = problems(items)
    assert problem.rejected
    assert problem.where == "entry 1"
    assert "incorrect id format for 1234.12345" in problem.message


def test_error_feed_from_the_api_raises_source_error_with_a_hint() -> None:
    feed_from_api = AtomFeed(io.BytesIO(ERROR_FEED.encode()), "arxiv:id:1234.12345", from_api=True)
    with pytest.raises(SourceError) as info:
        list(feed_from_api)
    message = str(info.value)
    assert "incorrect id format for 1234.12345" in message
    assert "arxiv:id:1234.12345" in message
    assert "Check the query" in message


def test_entries_are_numbered_from_first_entry() -> None:
    text = feed(entry(1), entry(2, arxiv_id=""))
    items = list(AtomFeed(io.BytesIO(text.encode()), "api", first_entry=101))
    assert [i.where for i in items] == ["entry 101", "entry 102"]


def test_pipeline_reads_real_responses(store: Store, settings: Settings) -> None:
    report = Ingester(store, settings).ingest(str(real_fixture("sotawhat_arxiv_transformer_2026format.xml")))
    assert (report.added, report.rejected) == (5, 0)
    again = Ingester(store, settings).ingest(str(real_fixture("xiv_arxiv_response.xml")))
    assert again.added == 2
    assert store.count_papers() == 7
