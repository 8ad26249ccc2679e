"""BibTeX: Zotero and Google Scholar exports, every way of naming an arXiv id, broken files, linking."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.ids import derived_id
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.bibtex import read_bibtex
from paperscope.models import Paper
from paperscope.store import Store, open_store

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read(name: str) -> tuple[list[Entry], list[Problem]]:
    path = FIXTURES / name
    with path.open("rb") as stream:
        items = list(read_bibtex(stream, str(path)))
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def where(name: str, key: str, occurrence: int = 0) -> str:
    """The 1-based "line N" where the entry with this key starts in a fixture."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    numbers = [n for n, line in enumerate(lines, start=1) if line.startswith("@") and f"{{{key}," in line]
    return f"line {numbers[occurrence]}"


def by_key(name: str, entries: list[Entry], *keys: str) -> dict[str, Paper]:
    located = {e.where: e.paper for e in entries}
    return {key: located[where(name, key)] for key in keys}


def test_zotero_export() -> None:
    entries, problems = read("zotero.bib")
    papers = by_key("zotero.bib", entries, "vaswani_attention_2023", "touvron_training_2021",
                    "hochreiter_long_1997", "devlin_bert_2019", "caron_unsupervised_2021")

    assert problems == []
    assert len(entries) == 5
    assert {key: p.id for key, p in papers.items()} == {
        "vaswani_attention_2023": "1706.03762",
        "touvron_training_2021": "2012.12877",
        "hochreiter_long_1997": derived_id("Long Short-Term Memory"),
        "devlin_bert_2019": "1810.04805",
        "caron_unsupervised_2021": "2006.09882",
    }
    assert all(p.sources == ["bibtex"] for p in papers.values())

    attention = papers["vaswani_attention_2023"]
    assert attention.title == "Attention Is All You Need"
    assert attention.authors[:3] == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert attention.authors[5] == "Aidan N. Gomez" and len(attention.authors) == 8
    assert attention.published is None  # an arXiv paper's date comes from arXiv, not from BibTeX
    assert attention.doi is None and attention.comment is None and attention.journal_ref is None
    assert attention.abs_url == "https://arxiv.org/abs/1706.03762"

    deit = papers["touvron_training_2021"]
    assert deit.title == "Training data-efficient image transformers & distillation through attention"
    assert deit.authors[-1] == "Hervé Jégou"
    assert deit.journal_ref == ("Proceedings of the 38th International Conference on Machine Learning 139, "
                                "10347-10357 (2021)")

    lstm = papers["hochreiter_long_1997"]
    assert lstm.authors == ["Sepp Hochreiter", "Jürgen Schmidhuber"]
    assert lstm.doi == "10.1162/neco.1997.9.8.1735"
    assert lstm.abs_url == "https://doi.org/10.1162/neco.1997.9.8.1735" and lstm.pdf_url is None
    assert lstm.journal_ref == "Neural Computation 9(8), 1735-1780 (1997)"
    assert lstm.published == dt.date(1997, 11, 1)

    bert = papers["devlin_bert_2019"]
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    assert bert.doi == "10.18653/v1/N19-1423"

    assert "a 100% hand-written" in papers["caron_unsupervised_2021"].abstract


def test_every_form_of_arxiv_id() -> None:
    entries, problems = read("arxiv_forms.bib")
    papers = by_key("arxiv_forms.bib", entries, "form_arxiv_site", "form_biblatex", "form_url",
                    "form_datacite_doi", "form_note", "form_scholar", "form_dblp", "form_old_style",
                    "form_not_arxiv")

    assert problems == []
    assert {key: p.id for key, p in papers.items()} == {
        "form_arxiv_site": "2303.08774",
        "form_biblatex": "1810.04805",
        "form_url": "2006.09882",
        "form_datacite_doi": "2012.12877",
        "form_note": "1412.3555",
        "form_scholar": "1706.03762",
        "form_dblp": "2305.13749",
        "form_old_style": "hep-th/9711200",
        "form_not_arxiv": derived_id("A Preprint Kept on Another Server"),
    }
    assert papers["form_arxiv_site"].categories == ["cs.CL"]
    assert papers["form_arxiv_site"].authors == ["OpenAI"]
    assert papers["form_biblatex"].published is None  # arXiv paper: arXiv gives the exact date
    assert papers["form_url"].abstract == (
        "A bare percent sign, as in 75% of the time, is text in BibTeX (fixture sentence).")
    assert papers["form_datacite_doi"].doi is None  # arXiv's own DOI gave the id; it is no journal DOI
    assert papers["form_note"].authors[1] == "Çağlar Gülçehre"
    assert papers["form_note"].published is None  # arXiv paper
    assert papers["form_old_style"].title == (
        "The Large $N$ Limit of Superconformal Field Theories and Supergravity")
    assert papers["form_scholar"].journal_ref is None and papers["form_dblp"].journal_ref is None
    assert papers["form_not_arxiv"].abs_url is None


def test_google_scholar_export() -> None:
    entries, problems = read("scholar.bib")
    papers = by_key("scholar.bib", entries, "achiam2023gpt", "lecun2015deep", "he2016deep")

    assert problems == []
    gpt4, lecun, resnet = papers.values()
    assert gpt4.id == "2303.08774" and gpt4.journal_ref is None
    assert gpt4.authors == ["Josh Achiam", "Steven Adler", "Sandhini Agarwal", "Lama Ahmad", "Ilge Akkaya"]
    assert gpt4.published is None  # arXiv paper: a BibTeX year would pull arXiv's date back
    assert lecun.id == derived_id("Deep learning")
    assert lecun.journal_ref == "nature 521(7553), 436-444 (2015)"
    assert resnet.journal_ref == ("Proceedings of the IEEE conference on computer vision and pattern "
                                  "recognition, 770-778 (2016)")


def test_broken_file_reports_problems_and_keeps_the_other_entries() -> None:
    entries, problems = read("broken.bib")

    titles = {e.where: e.paper.title for e in entries}
    assert titles == {
        where("broken.bib", "good_before"): "Geometry-Aware Adaptation for Pretrained Models",
        where("broken.bib", "bad_year"): "Local Graph Clustering with Noisy Labels",
        where("broken.bib", "good_after"): "Diversity-Aware Meta Visual Prompting",
        # The key 'good_before' used twice: ids come from the content, so both entries are read.
        where("broken.bib", "good_before", 1): "Addressing Negative Transfer in Diffusion Models",
        where("broken.bib", "dup_field"): "Linking Representations with Multimodal Contrastive Learning",
    }
    first = entries[0].paper
    assert first.authors == ["John Smith", "Anna van der Berg"]  # a trailing comma is forgiven
    assert first.journal_ref == "International Conference on Machine Learning (2023)"  # from @string
    second_key = next(e.paper for e in entries if e.where == where("broken.bib", "good_before", 1))
    assert second_key.journal_ref == "International Conference on Machine Learning (2023)"

    rejected = {p.where: p.message for p in problems if p.rejected}
    assert set(rejected) == {where("broken.bib", "broken_entry"), where("broken.bib", "no_title")}
    broken = rejected[where("broken.bib", "broken_entry")]
    assert "entry 'broken_entry' could not be parsed" in broken and "Unexpected block start" in broken
    assert "entry 'no_title': no title" in rejected[where("broken.bib", "no_title")]

    warnings = {p.where: p.message for p in problems if not p.rejected}
    assert "year 'forthcoming'" in warnings[where("broken.bib", "bad_year")]
    assert "month '13'" in warnings[where("broken.bib", "good_after")]
    assert "field 'title' appears more than once" in warnings[where("broken.bib", "dup_field")]
    assert set(warnings) == {where("broken.bib", key) for key in ("bad_year", "good_after", "dup_field")}
    dates = {e.where: e.paper.published for e in entries}
    assert dates[where("broken.bib", "bad_year")] is None
    assert dates[where("broken.bib", "good_after")] == dt.date(2023, 1, 1)


def test_problem_text_names_file_line_and_entry() -> None:
    _, problems = read("broken.bib")
    line = where("broken.bib", "no_title")
    assert any(str(p).endswith(f"broken.bib:{line}: rejected: entry 'no_title': no title; add a title = "
                               "{...} field, or remove the entry if it is not a paper") for p in problems)


def test_text_that_is_not_utf8_is_an_input_error() -> None:
    data = "@article{x, title = {Caf\u00e9}, year = 2020}".encode("latin-1")
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_bibtex(io.BytesIO(data), "latin1.bib"))


# --- through the pipeline into a real store ----------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with open_store(str(tmp_path / "paperscope.db")) as store:
        yield store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}")


def test_title_only_entry_merges_into_the_stored_arxiv_paper(db: Store, settings: Settings) -> None:
    from paperscope.ingest.pipeline import Ingester

    title = "Goal-Driven Explainable Clustering via Language Descriptions"
    authors = ["Zihan Wang", "Jingbo Shang", "Ruiqi Zhong"]
    db.upsert_papers([Paper(id="2305.13749", title=title, authors=authors, sources=["arxiv"])])

    report = Ingester(db, settings).ingest(str(FIXTURES / "library_title_only.bib"))

    assert report.updated == 1 and report.added == 0 and report.rejected == 0
    assert db.count_papers() == 1
    stored = db.get_paper("2305.13749")
    assert stored is not None
    assert stored.sources == ["arxiv", "bibtex"]
    assert stored.title == title  # the stored record wins; BibTeX only fills its gaps
    assert stored.journal_ref == ("Proceedings of the 2023 Conference on Empirical Methods in Natural "
                                  "Language Processing (2023)")


def test_ingest_detects_bibtex_and_stores_every_entry(db: Store, settings: Settings) -> None:
    from paperscope.ingest.pipeline import Ingester

    report = Ingester(db, settings).ingest(str(FIXTURES / "zotero.bib"), str(FIXTURES / "arxiv_forms.bib"))

    # arxiv_forms.bib names four papers zotero.bib has too (same arXiv ids): they merge.
    assert report.rejected == 0 and report.added == 10
    assert db.count_papers() == 10
    bert = db.get_paper("1810.04805")
    assert bert is not None and bert.doi == "10.18653/v1/N19-1423" and bert.sources == ["bibtex"]


def test_dates_of_papers_without_an_arxiv_id(tmp_path: Path) -> None:
    path = tmp_path / "dates.bib"
    path.write_text(
        "@online{a, title={Dated by BibLaTeX}, date={2018-10-11}}\n"
        "@article{b, title={Dated by Month Name}, year={2014}, month=dec}\n"
        "@article{c, title={Dated by Year Only}, year={2023}}\n", encoding="utf-8")
    with path.open("rb") as stream:
        papers = {i.paper.title: i.paper for i in read_bibtex(stream, str(path)) if isinstance(i, Entry)}
    assert papers["Dated by BibLaTeX"].published == dt.date(2018, 10, 11)
    assert papers["Dated by Month Name"].published == dt.date(2014, 12, 1)
    assert papers["Dated by Year Only"].published == dt.date(2023, 1, 1)  # a year alone: January 1st
