"""What every command gets: the settings and a way to open the configured store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from paperscope.config import Settings
from paperscope.store import Store, open_configured_store

LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


@dataclass
class AppContext:
    settings: Settings

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = open_configured_store(self.settings)
        try:
            yield store
        finally:
            store.close()


def require_digest_extra() -> None:
    """Stop with the pip command to run when the recommendation and digest dependencies are missing."""
    from paperscope.errors import require_extra

    for module in ("sklearn", "scipy", "jinja2", "itsdangerous"):
        require_extra(module, "digest", "Recommendations and digests")
