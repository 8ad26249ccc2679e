"""Every exception paperscope defines. A message says what went wrong in terms of the value, file or setting at
fault, and how to fix it where the fix is the same whatever the interface; a fix that the command line and the
web app put in their own words is the error's `fix` (a `Fix`), which `paperscope.cli.hints` and
`paperscope.web.hints` render.

    PaperscopeError                     base of everything the user may see; the command line prints its message
    ├── ConfigError                     a setting is missing or invalid
    │   └── ModelNotAvailableError      the embedding model named in the embedder spec is not on this machine
    ├── MissingExtraError               an optional dependency is not installed (names the pip command)
    ├── StoreError                      the database or an index cannot be opened, is locked, or is newer than this code
    │   ├── DatabaseUnavailable         the database server cannot be reached now (down, restarting); try again later
    │   └── IndexBusy                   another process holds the keyword index's writer lock
    ├── SearchUnavailable               a search cannot run yet; says what to run
    │   └── NotEmbedded                 the papers it needs have no vector of the configured model yet
    ├── NothingToGoOn                   a user has no library, votes or follows to recommend from
    ├── ModelExportError                exporting or quantising the packaged model to ONNX failed
    ├── InputError                      a whole input cannot be read (missing file, unknown format, bad encoding)
    │   └── EmailTaken                  a user with this e-mail address exists already
    ├── NotPermitted                    this user may not do this (another user's comment, a blocked account)
    └── SourceError                     a remote source failed or refused a request
        ├── OfflineError                a remote source cannot be reached at all
        ├── EmbeddingServiceError       an embeddings endpoint refused a request, gave up, or sent bad vectors
        └── LLMServiceError             an LLM chat endpoint failed, refused, or answered like no chat endpoint
            ├── ExplanationServiceError the topic explanations' LLM answered something unusable
            └── UnusableSummary         a paper summary's answer is not one sentence and three key phrases

    FieldError (a ValueError)           one field of one JSON Lines record is unusable; becomes an ingest Problem
    DeliveryFailure                     one SMTP or webhook delivery failed; the outbox decides what happens next
    ├── TemporaryFailure                worth retrying (network, SMTP 4xx, HTTP 429 and 5xx)
    │   ├── Unreachable                 no connection to the server at all: retrying other messages would not help
    │   └── RetryLater                  a webhook answer worth retrying, with the wait it asked for (Retry-After)
    └── PermanentFailure                the server refused the message for good (SMTP 5xx, HTTP 4xx)
        └── NoAnswer                    a webhook request went out and no answer came: it may have arrived
    SignInRequired                      a web page needs a signed-in user; answered with a redirect to sign in
    ExpiredLink                         an unsubscribe link past its lifetime; answered with a page saying what to do

A single bad record is not a PaperscopeError: parsers report it as an `ingest.base.Problem` and go on.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from types import ModuleType


class Fix(StrEnum):
    """A next step that the command line and the web app each put in their own words."""

    CHOOSE_DATABASE = "choose_database"          # point paperscope at a database it can open
    CHOOSE_COPY_TARGET = "choose_copy_target"    # copy into another database than the source
    START_CLUSTER = "start_cluster"              # start the Dask scheduler, or embed on a local cluster
    REBUILD_INDEX = "rebuild_index"              # rebuild the search indexes from the stored papers and vectors
    SEED_RECOMMENDATIONS = "seed_recommendations"  # save papers, or follow a topic or a search


class PaperscopeError(Exception):
    """Base class: the message is meant for the user; `fix` is a next step each interface words its own way."""

    def __init__(self, message: str, *, fix: Fix | None = None) -> None:
        super().__init__(message)
        self.fix = fix


class ConfigError(PaperscopeError):
    pass


class ModelNotAvailableError(ConfigError):
    """The model cannot be loaded from local files (paperscope never downloads weights at run time)."""


class MissingExtraError(PaperscopeError):
    pass


class StoreError(PaperscopeError):
    pass


class DatabaseUnavailable(StoreError):
    """The database server is down or unreachable: a temporary state (the web app answers 503)."""


class IndexBusy(StoreError):
    """Another process holds the keyword index's writer lock."""


class SearchUnavailable(PaperscopeError):
    """The asked-for search cannot run yet (nothing embedded, say); the message says what to run."""


class NotEmbedded(SearchUnavailable):
    """The paper (or every paper) a search needs has no vector of the configured embedding model yet."""


class NothingToGoOn(PaperscopeError):
    """The user has no library, votes or follows yet; the message and `fix` say how to give them some."""


class ModelExportError(PaperscopeError):
    """Exporting or quantising the packaged model to ONNX failed."""


class InputError(PaperscopeError):
    pass


class EmailTaken(InputError):
    """A user with this e-mail address exists already (the web sign-up answers it as it answers a new one)."""


class NotPermitted(PaperscopeError):
    """The user may not do this: change another user's comment, post from a blocked account (the web app
    answers 403)."""



class SourceError(PaperscopeError):
    """`response` is the HTTP response that was refused, when there was one (its body may explain why)."""

    def __init__(self, message: str, response: object | None = None, *, fix: Fix | None = None) -> None:
        super().__init__(message, fix=fix)
        self.response = response


class OfflineError(SourceError):
    pass


class EmbeddingServiceError(SourceError):
    """An OpenAI-compatible embeddings endpoint failed; the message says what it answered."""


class LLMServiceError(SourceError):
    """An OpenAI-compatible chat endpoint (paperscope.llm) failed, refused, or answered like no chat endpoint."""


class ExplanationServiceError(LLMServiceError):
    """The topic explanations' LLM answered something unusable."""


class UnusableSummary(LLMServiceError):
    """The answer to a paper summary request is not one sentence and three key phrases as JSON."""


class FieldError(ValueError):
    """A field of one record is unusable; the message names it and says what was expected."""


class DeliveryFailure(Exception):
    """Handing one message to the SMTP server, or POSTing it to a webhook, failed."""


class TemporaryFailure(DeliveryFailure):
    """The server or the network failed in a way worth retrying."""


class PermanentFailure(DeliveryFailure):
    """The server refused this message for good."""


class Unreachable(TemporaryFailure):
    """No connection to the server at all: retrying other messages now would not help either."""


class RetryLater(TemporaryFailure):
    """A webhook answer worth retrying, with the wait the endpoint asked for (`Retry-After`), if any."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


class NoAnswer(PermanentFailure):
    """A webhook request went out and no answer came: it may have been acted on, so it is not repeated."""


class SignInRequired(Exception):
    """Raised by pages that need a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class ExpiredLink(Exception):
    """A genuine unsubscribe token older than its lifetime (or one without a date, from before links had one)."""


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or explain which extra to install for `purpose`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the optional package '{module}', which is not installed. "
            f"Install it with: pip install 'paperscope[{extra}]'"
        ) from exc
