"""BibTeX export: keys, escaping, and a round trip through our own BibTeX reader; Atom/RSS escaping."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET

from paperscope.feed.bibtex import citation_key, to_bibtex
from paperscope.feed.syndication import paper_feed
from paperscope.ingest.base import Entry
from paperscope.ingest.bibtex import read_bibtex
from paperscope.models import Paper

PAPERS = [
    Paper(id="2503.11731", title="Industrial-Grade Sensor Simulation via Gaussian Splatting",
          authors=["Xianming Zeng", "Sicong Du"], categories=["cs.CV", "cs.RO"],
          abs_url="https://arxiv.org/abs/2503.11731"),
    Paper(id="2503.11732", title="The 100% & #1 {unbalanced} } method for $k$-means",
          authors=["Xianming Zeng"], published=dt.date(2025, 3, 14), journal_ref="J. Tests 1 (2025)"),
    Paper(id="title-abc123", title="A paper without an arXiv id", authors=["Ada Lovelace"]),
]


def test_keys_are_author_year_word_and_unique() -> None:
    assert citation_key(PAPERS[0]) == "zeng2025industrialgrade"
    assert citation_key(PAPERS[2]) == "lovelacepaper"
    text = to_bibtex([PAPERS[0], PAPERS[0]])
    assert "@misc{zeng2025industrialgrade," in text and "@misc{zeng2025industrialgradea," in text


def test_special_characters_are_escaped_and_braces_balanced() -> None:
    text = to_bibtex([PAPERS[1]])
    assert r"100\% \& \#1 {unbalanced}  method for $k$-means" in text
    assert text.count("{") == text.count("}")
    assert "@article{" in text and "journal = {J. Tests 1 (2025)}" in text


def test_export_reads_back_with_our_bibtex_reader() -> None:
    items = list(read_bibtex(io.BytesIO(to_bibtex(PAPERS).encode()), "export.bib"))
    papers = [item.paper for item in items if isinstance(item, Entry)]
    assert [p.id for p in papers[:2]] == ["2503.11731", "2503.11732"]
    assert papers[0].authors == ["Xianming Zeng", "Sicong Du"]
    assert papers[2].title == "A paper without an arXiv id"


def test_atom_and_rss_escape_and_keep_the_order() -> None:
    hostile = Paper(id="2599.00001", title="<script>alert(1)</script>", abstract="a < b & c", authors=["<b>M</b>"])
    for fmt in ("atom", "rss"):
        body = paper_feed([hostile, PAPERS[0]], title="t", description="d", page_url="http://x/",
                          feed_url="http://x/feed.xml", base_url="http://x", fmt=fmt)  # type: ignore[arg-type]
        assert b"<script>" not in body
        root = ET.fromstring(body)
        titles = [e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "title"][1:]
        assert titles == ["<script>alert(1)</script>", PAPERS[0].title]
