from pathlib import Path

from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.listing import read_listing
from tests.conftest import shared_path

ABSTRACT = ("We propose a method that groups documents by topic and chooses the number of groups from "
            "the data. It splits clusters while a Gaussian mixture supports the split and stops where it "
            "does not. Experiments on three corpora show that the chosen number matches the labels well.")


def parse(path: Path) -> tuple[list[Entry], list[Problem]]:
    with path.open("rb") as stream:
        items = list(read_listing(stream, str(path)))
    return ([i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)])


def test_seed_listing_gives_its_45_papers_with_whole_abstracts() -> None:
    path = shared_path("seed", "papers-listing.txt")
    entries, problems = parse(path)
    assert problems == []
    assert len(entries) == 45
    lines = path.read_text(encoding="utf-8").splitlines()
    long_lines = [line.strip() for line in lines if len(line.strip()) > 300]
    assert [e.paper.abstract for e in entries] == long_lines  # every abstract, whole, in order
    titles = {e.paper.title for e in entries}
    assert "Probabilistic Partitive Partitioning (PPP)" in titles
    assert "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments" in titles
    furniture = {"new", "Subscribe", "Mar 11", "Get trending papers in your email inbox!",
                 "byAK and the research community"}
    assert not titles & furniture
    assert all(e.paper.sources == ["listing"] and e.paper.id.startswith("title-") for e in entries)


def test_author_lines_votes_and_arxiv_links_between_title_and_abstract(tmp_path: Path) -> None:
    path = tmp_path / "copied.txt"
    path.write_text(
        "Trending Papers\n\nSign in\n\nNov 25, 2026\n\n"
        "Choosing the Number of Topics by Splitting\n\n"
        "Ada Lovelace, Grace Hopper, Alan Turing\n\n"
        "https://arxiv.org/abs/2511.01234\n\n"
        "42 upvotes\n\n"
        f"{ABSTRACT}\n\n"
        "A Second Paper\nWith a Title on Two Lines\n\n"
        f"{ABSTRACT}\n\nFooter text\n", encoding="utf-8")
    entries, problems = parse(path)
    assert problems == []
    assert [e.paper.title for e in entries] == ["Choosing the Number of Topics by Splitting",
                                                "A Second Paper With a Title on Two Lines"]
    assert entries[0].paper.id == "2511.01234"
    assert entries[0].paper.abs_url == "https://arxiv.org/abs/2511.01234"
    assert entries[0].where == "line 7"


def test_an_abstract_without_a_title_and_a_page_without_papers_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_text(f"{ABSTRACT}\n", encoding="utf-8")
    entries, problems = parse(path)
    assert entries == []
    assert "no title line" in problems[0].message and problems[0].where == "line 1"
    empty = tmp_path / "menu.txt"
    empty.write_text("Home\n\nAbout\n\nSubscribe\n", encoding="utf-8")
    entries, problems = parse(empty)
    assert entries == [] and "no papers found" in problems[0].message
