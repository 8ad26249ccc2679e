"""The exceptions paperscope raises. Every message says what went wrong and how to fix it.

    PaperscopeError                 base of everything below; the command line prints its message
    ├── ConfigError                 a setting is missing or invalid
    │   └── ModelNotAvailableError  an embedding model is not on this machine (embed/errors.py)
    ├── MissingExtraError           an optional dependency is not installed (names the pip command)
    ├── StoreError                  the database or an index cannot be opened, is locked, or is newer than this code
    │   └── DatabaseUnavailable     the database server cannot be reached now (down, restarting); try again later
    ├── SearchUnavailable           a search cannot run yet (nothing embedded); says what to run (index/search.py)
    ├── InputError                  a whole input cannot be read (missing file, unknown format, bad encoding)
    └── SourceError                 a remote source failed or refused a request
        ├── OfflineError            a remote source cannot be reached at all
        └── EmbeddingServiceError   an embeddings endpoint failed (embed/errors.py)

A single bad record is not an exception: parsers report it as an `ingest.base.Problem` and go on.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class PaperscopeError(Exception):
    """Base class: the message is meant for the user and says how to fix the problem."""


class ConfigError(PaperscopeError):
    pass


class MissingExtraError(PaperscopeError):
    pass


class StoreError(PaperscopeError):
    pass


class DatabaseUnavailable(StoreError):
    """The database server is down or unreachable: a temporary state (the web app answers 503)."""


class InputError(PaperscopeError):
    pass


class SourceError(PaperscopeError):
    """`response` is the HTTP response that was refused, when there was one (its body may explain why)."""

    def __init__(self, message: str, response: object | None = None) -> None:
        super().__init__(message)
        self.response = response


class OfflineError(SourceError):
    pass


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or explain which extra to install for `purpose`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the optional package '{module}', which is not installed. "
            f"Install it with: pip install 'paperscope[{extra}]'"
        ) from exc
