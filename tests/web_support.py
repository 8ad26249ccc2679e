"""Shared by the web tests: a real SQLite store with real papers (one day of the arXiv cs listing and the
recorded Hugging Face daily papers), indexed with the fast `hashing` embedder, and helpers to sign in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.topics import Assignment, Neighbour, OtherTopic, TopicRecord
from tests.conftest import shared_path

LISTING = ("data", "arxiv", "cs", "2025-06-30.jsonl")
HF_DAILY = ("data", "fixtures", "hf_daily_papers", "sotawhat_hf_daily_papers.json")
HOSTILE_ID = "2599.00001"
HOSTILE_TITLE = "<script>alert(1)</script> & friends"
MATH_ID = "2599.00002"
TEX_ID = "2599.00003"  # cited by MATH_ID
ADA_ORCID = "orcid:0000-0002-1825-0097"  # the author of MATH_ID, an author record
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def site_settings(folder: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": f"sqlite:///{folder / 'site.db'}", "embedding_model": "hashing",
                                 "background_jobs": False, "arxiv_delay_seconds": 0, "http_backoff_seconds": 0.01,
                                 "http_timeout_seconds": 2, "http_retries": 0,
                                 # Every test client comes from one address ("testclient") to one database.
                                 "sign_ups_per_hour": 1000}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def build_site(folder: Path) -> Settings:
    """A database of real papers plus three crafted ones (a hostile title, an abstract with math, TeX text
    markup), indexed."""
    settings = site_settings(folder)
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(shared_path(*LISTING)), str(shared_path(*HF_DAILY)))
        store.upsert_papers([
            Paper(id=HOSTILE_ID, title=HOSTILE_TITLE, abstract='An abstract with <img src=x onerror="alert(2)">.',
                  authors=["<b>Mallory</b>"], categories=["cs.CR"]),
            Paper(id=MATH_ID, title="Bounds of order $O(n^2)$ for clustering",
                  abstract=r"We prove that $\sum_{i=1}^n x_i \leq \sqrt{n}$ for clustering costs.",
                  authors=["Ada Lovelace"], categories=["cs.LG"], citation_count=7,
                  author_ids=[[ADA_ORCID]], references=[f"arxiv:{TEX_ID}", "doi:10.1000/not-stored-here"]),
            Paper(id=TEX_ID, title=r"Sparse \textsc{Spectre} cuts -- fast and exact",
                  abstract=r"Spectre makes \textbf{graph partitioning} up to 20\% faster \cite{x}. Code: "
                           r"\href{https://example.org/spectre}{the repository}; \href{javascript:alert(3)}{no link}.",
                  authors=["Grace Hopper"], categories=["cs.DS"]),
        ])
        index_papers(SearchEngine(store, settings))
        save_topic_map(store)
    return settings


TOPIC_CATEGORIES = ("cs.CV", "cs.LG", "cs.RO", "cs.HC")


def save_topic_map(store: Store) -> None:
    """A topic map through the store's API: one topic per main category, points from a 2-D projection of
    the stored vectors (the topics stage computes real maps; the pages only read what is stored)."""
    ids, vectors = store.load_embeddings("hashing-384")
    centred = vectors - vectors.mean(axis=0)
    xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    papers = store.get_papers(ids)
    topic_of = {pid: (TOPIC_CATEGORIES.index(p.primary_category) + 1 if p.primary_category in TOPIC_CATEGORIES
                      else None) for pid, p in papers.items()}
    assignments = [Assignment(pid, topic_of[pid], 0.5, [OtherTopic(2, 0.4)] if topic_of[pid] == 1 and i % 5 == 0
                              else [], float(x), float(y)) for i, (pid, (x, y)) in enumerate(zip(ids, xy, strict=True))]
    records = []
    for number, category in enumerate(TOPIC_CATEGORIES, start=1):
        members = [a for a in assignments if a.topic_id == number]
        records.append(TopicRecord(
            id=number, label=f"{category} papers", keywords=[category, "vision" if number == 1 else "learning"],
            representative_ids=[a.paper_id for a in members[:3]], size=len(members), cohesion=0.5,
            centroid=np.eye(4, dtype=np.float32)[number - 1], x=float(np.mean([a.x for a in members])),
            y=float(np.mean([a.y for a in members])),
            neighbours=[Neighbour(2 if number == 1 else 1, 0.3 if number in (1, 2) else 0.8)],
            emerging=number == 3))
    store.topics.save_map("hashing-384", records, assignments, params={"method": "by category (test)"})


@pytest.fixture(scope="module", name="site")  # named: import it as site_fixture to register it
def site_fixture(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(name="client")
def client_fixture(site: Settings) -> Iterator[TestClient]:
    from paperscope.web import create_app

    with TestClient(create_app(site)) as test_client:
        yield test_client


def csrf(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token a form on `path` carries for this client's session."""
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_up(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Sign up, then sign in as the sign-up page asks (it signs nobody in: see decision 0064)."""
    form = {"email": email, "password": password, "csrf_token": csrf(client, "/signup")}
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin"), response.text
    sign_in(client, email, password)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    form = {"email": email, "password": password, "csrf_token": csrf(client, "/signin")}
    response = client.post("/signin", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


def api_token(client: TestClient, name: str = "script") -> str:
    """Create an API token for the signed-in user through the settings page."""
    page = client.post("/me/tokens", data={"name": name, "csrf_token": csrf(client, "/me")})
    match = re.search(r'<code id="new-token">(ps_[^<]+)</code>', page.text)
    assert match, page.text[:500]
    return match.group(1)
