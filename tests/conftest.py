"""Shared fixtures: the real data beside the repository, a fresh store, quiet settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}: these tests read the real data in ../shared "
                    "beside the repository")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(str(tmp_path / "paperscope.db")) as opened:
        yield opened


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: a temporary database, no waiting between requests, quick retries."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'settings.db'}", arxiv_delay_seconds=0,
                    http_backoff_seconds=0.01, http_timeout_seconds=2, http_retries=2)
