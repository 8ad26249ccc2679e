"""A cheap deterministic embedder FOR UNIT TESTS ONLY: not a language model, do not use it for real search.

Feature hashing of lower-cased word unigrams and bigrams into 384 signed buckets, L2-normalised. Texts that
share words get similar vectors, which is enough for tests of the store, the index and the pipeline to run
in milliseconds without model weights. It knows nothing about meaning (synonyms, paraphrases) and its
quality on any real benchmark is poor.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
_EMPTY_FEATURE = "\x00empty"  # so that an empty text still gets a unit vector


class HashingEmbedder:
    """Signed feature hashing of word unigrams and bigrams (blake2b, so stable across processes and runs)."""

    name = "hashing-384"
    version = "1"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        if dim != 384:
            self.name = f"hashing-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        words = _WORD.findall(text.lower())
        features = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        vector = np.zeros(self.dim, dtype=np.float32)
        for feature in features or [_EMPTY_FEATURE]:
            digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            number = int.from_bytes(digest, "little")
            vector[number % self.dim] += 1.0 if (number >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # every feature cancelled out: fall back to the empty-text vector
            return self._vector("")
        return vector / norm

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(text) for text in texts]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
