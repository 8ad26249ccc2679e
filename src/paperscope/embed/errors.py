"""Errors of the embedding backends, placed in the tree of `paperscope.errors`.

    PaperscopeError
    ├── ConfigError
    │   └── ModelNotAvailableError      the model named in the embedder spec is not on this machine
    └── SourceError
        └── EmbeddingServiceError       an embeddings endpoint refused a request, gave up, or sent bad vectors
"""

from __future__ import annotations

from paperscope.errors import ConfigError, SourceError


class ModelNotAvailableError(ConfigError):
    """The model cannot be loaded from local files (paperscope never downloads weights at run time)."""


class EmbeddingServiceError(SourceError):
    """An OpenAI-compatible embeddings endpoint failed; the message says what it answered."""
