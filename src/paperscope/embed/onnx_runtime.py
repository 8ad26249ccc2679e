"""Run a BERT-style sentence-embedding model exported to ONNX: tokenise, length-sorted batches, mean pooling.

Independent of the model: `minilm.py` exports all-MiniLM-L6-v2 and builds an `OnnxSentenceEmbedder` on it.
Only `onnxruntime`, `tokenizers` and numpy are needed here (no torch at run time).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paperscope.errors import require_extra

_PURPOSE = "The ONNX embedding model"
# A text longer than this many characters is tokenised from its start only. That is exact whenever the cut text
# still has more than `max_tokens + _CUT_MARGIN` tokens: the word split by the cut (at most 100 characters, so
# at most 100 tokens, in BERT's WordPiece) lies past the tokens that are kept. Otherwise the whole text is
# tokenised. It keeps a pathological multi-megabyte "abstract" from costing seconds of tokenisation.
_MAX_CHARS = 20_000
_CUT_MARGIN = 128
# Texts tokenised and sorted at a time: bounds the memory of a huge call (a million texts) at a few MB.
_WINDOW = 4096


def load_tokenizer(path: Path) -> Any:
    """A `tokenizers.Tokenizer` from a tokenizer.json, with its own truncation and padding switched off."""
    tokenizers = require_extra("tokenizers", "model", _PURPOSE)
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def create_session(path: Path, threads: int | None = None, *, spinning: bool = False) -> Any:
    """An ONNX Runtime CPU session with every graph optimisation on, whose threads wait for work asleep instead of
    spinning (a query's embedding is followed by the vector scan, which needs the cores;
    docs/decisions/0135-threads-that-wait-asleep.md). `spinning` gives ONNX Runtime's own default back, for
    bench/bench_embed.py to measure against."""
    ort = require_extra("onnxruntime", "model", _PURPOSE)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxSentenceEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings from an ONNX encoder that outputs token states.

    The ONNX model takes int64 `input_ids`, `attention_mask` (and `token_type_ids` if it declares it), with
    dynamic batch and sequence axes, and returns the last hidden state (batch, sequence, dim) first.
    Texts are tokenised once, truncated to `max_tokens` (special tokens included, as sentence-transformers
    does), sorted by length so each batch is padded only to its own longest text, and put back in order.
    One session per instance, created up front and warmed, so `embed_query` pays no start-up cost.
    Picklable: the session and tokenizer are rebuilt from their files after unpickling (for a worker pool).
    """

    def __init__(self, model_path: Path, tokenizer_path: Path, *, name: str, version: str, dim: int,
                 max_tokens: int, batch_size: int = 32, threads: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = name
        self.version = version
        self.dim = dim
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = threads
        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)
        self._tokenizer: Any = None
        self._session: Any = None
        self._input_names: frozenset[str] = frozenset()
        self._start()

    def _start(self) -> None:
        self._tokenizer = load_tokenizer(self.tokenizer_path)
        self._session = create_session(self.model_path, self.threads)
        self._input_names = frozenset(i.name for i in self._session.get_inputs())
        self.embed(["warm up"])  # first run allocates buffers; do it now, not on the first query

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tokenizer"] = state["_session"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start()

    # -- tokenising -------------------------------------------------------------------------------------

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, special tokens included, truncated to `max_tokens`."""
        cut = [text[:_MAX_CHARS] for text in texts]
        try:
            encodings = self._tokenizer.encode_batch(cut)
        except (UnicodeError, TypeError):  # a lone surrogate (from a broken decode) cannot cross into Rust
            texts = [_valid_unicode(text) for text in texts]
            cut = [text[:_MAX_CHARS] for text in texts]
            encodings = self._tokenizer.encode_batch(cut)
        result = []
        for text, short, encoding in zip(texts, cut, encodings, strict=True):
            ids: list[int] = encoding.ids
            if len(short) < len(text) and len(ids) <= self.max_tokens + _CUT_MARGIN:
                ids = self._tokenizer.encode(text).ids  # the cut fell before the limit: use the whole text
            if len(ids) > self.max_tokens:
                ids = ids[: self.max_tokens - 1] + [ids[-1]]  # keep the closing [SEP]
            result.append(ids)
        return result

    # -- embedding --------------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, shape (len(texts), dim), float32, unit rows, in the order given."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), _WINDOW):
            window = texts[start: start + _WINDOW]
            ids = self.token_ids(window)
            order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first
            for batch_start in range(0, len(order), self.batch_size):
                rows = order[batch_start: batch_start + self.batch_size]
                out[[start + r for r in rows]] = self.embed_ids([ids[r] for r in rows])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one query, shape (dim,)."""
        vector: np.ndarray = self.embed_ids(self.token_ids([text]))[0]
        return vector

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """One model call on already tokenised texts, padded to the longest of them."""
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        states = self._session.run(None, feed)[0]
        return mean_pool_normalise(states, mask)


def _valid_unicode(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8") if isinstance(text, str) else str(text)


def mean_pool_normalise(states: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token states under the attention mask, then L2-normalised rows (float32)."""
    weights = mask.astype(np.float32)
    summed = np.matmul(weights[:, None, :], states.astype(np.float32, copy=False))[:, 0, :]
    pooled = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    vectors: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return vectors
