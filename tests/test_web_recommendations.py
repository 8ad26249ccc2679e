"""Recommendations over HTTP never wait for the corpus to be read again (web/recommendations.py): while a
refresh is held in the middle of loading, requests answer at once from the previous corpus, only one refresh
runs, and the new papers appear once it is done."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.models import Paper
from paperscope.recommend.engine import CorpusSnapshot, Recommender
from paperscope.store import open_store
from paperscope.web import create_app
from paperscope.web.recommendations import RecommendationCache
from tests.web_support import api_token, build_site, sign_up

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

HOLD_SECONDS = 60.0  # a held refresh lasts until the test releases it (at most this long)


class HeldLoader:
    """The real corpus loader, which waits for `release` before it reads: a rebuild that lasts as long as
    the test wants."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.calls: list[CorpusSnapshot | None] = []

    def __call__(self, recommender: Recommender, previous: CorpusSnapshot | None) -> CorpusSnapshot:
        self.calls.append(previous)
        self.started.set()
        assert self.release.wait(HOLD_SECONDS), "the test never released the refresh"
        return recommender.load_corpus(previous)


def _ids(client: TestClient, token: str) -> list[str]:
    response = client.get("/api/recommendations?limit=30", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()]


def test_requests_during_a_corpus_refresh_answer_from_the_previous_corpus(tmp_path: Path) -> None:
    settings = build_site(tmp_path)
    loader = HeldLoader()
    app = create_app(settings)
    cache = app.state.services.recommendations = RecommendationCache(corpus_loader=loader)
    with TestClient(app) as client, open_store(settings.database_url) as store:
        sign_up(client, "reader@example.org")
        token = api_token(client)
        feed = re.search(r"/feeds/users/[^<\s]+\.xml", client.get("/me").text)
        assert feed
        user = store.accounts.require_user("reader@example.org")
        library = [p for p in store.get_papers(store.papers_added_since(None)[:200]).values()
                   if "robot" in p.title.lower()][:3]
        assert len(library) == 3
        store.accounts.set_library_state(user.id, [p.id for p in library], "saved")
        first = _ids(client, token)  # the first corpus is read for this request
        assert first and len(loader.calls) == 1

        # New papers close to the library: the next request's store has changed.
        new = [Paper(id=f"2699.{n:05d}", title=p.title + " (extended version)", abstract=p.abstract,
                     authors=p.authors, categories=p.categories) for n, p in enumerate(library, start=1)]
        store.upsert_papers(new)
        index_papers(SearchEngine(store, settings))
        new_ids = {p.id for p in new}

        loader.release.clear()
        loader.started.clear()
        during = _ids(client, token)
        assert loader.started.wait(HOLD_SECONDS)  # the request started a refresh ...
        assert not cache.wait_for_refresh(0)  # ... and answered while it is still held
        assert during == first and not new_ids & set(during)  # the previous corpus answered
        _ids(client, token)
        assert client.get(feed.group(0)).status_code == 200
        assert not cache.wait_for_refresh(0) and len(loader.calls) == 2  # one refresh at a time, still held
        assert loader.calls[1] is not None  # the refresh starts from the corpus it replaces (to fold it in)

        loader.release.set()
        assert cache.wait_for_refresh(HOLD_SECONDS)
        after = _ids(client, token)
        assert new_ids <= set(after[:10])  # the near copies of the library now rank high
        snapshot = cache.for_store(app.state.services.store, settings).recommender.loaded
        assert snapshot is not None and snapshot.folded == 3  # folded in, not read anew
        assert len(loader.calls) == 2  # the store has not changed since: no further refresh
