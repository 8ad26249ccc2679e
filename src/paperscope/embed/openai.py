"""An OpenAI-compatible embeddings endpoint (spec `openai:MODEL@BASE_URL`): OpenAI, or a local server speaking
the same API (text-embeddings-inference, vLLM, Ollama, LM Studio, llama.cpp...).

BASE_URL is the API root ("https://api.openai.com/v1", "http://127.0.0.1:8080"); requests go to
`<root>/embeddings`, with "/v1" added when the root does not end in it already. The API key comes from the
environment variable PAPERSCOPE_EMBEDDING_API_KEY (none is sent when it is unset). Texts are sent in batches;
connection failures, timeouts, 429 and 5xx answers are retried with exponential backoff (honouring
Retry-After); other refusals raise at once with the server's message. Returned vectors are L2-normalised.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from paperscope.embed.errors import EmbeddingServiceError

API_KEY_ENV = "PAPERSCOPE_EMBEDDING_API_KEY"
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def endpoint_url(base_url: str) -> str:
    """The embeddings URL of an API root: ".../v1" -> ".../v1/embeddings", "http://h:8080" -> ".../v1/embeddings"."""
    base = base_url.rstrip("/")
    if base.endswith("/embeddings"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/embeddings"


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint.

    `dim` is the vector size the endpoint must return: given, or learnt from one short probe text sent
    by the constructor (so a server that is down or refuses the key fails there, early). An answer of another
    size, a different number of vectors than texts, or non-numeric values raise EmbeddingServiceError.
    Empty texts are sent as one space (the OpenAI API refuses empty strings); texts are cut at `max_chars`.
    Picklable (the HTTP client is opened again on first use).
    """

    def __init__(self, model: str, base_url: str, *, api_key: str | None = None, dim: int | None = None,
                 batch_size: int = 64, timeout: float = 60.0, retries: int = 4, backoff: float = 1.0,
                 max_chars: int = 20_000) -> None:
        if not model:
            raise ValueError("model must not be empty")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, not {base_url!r}")
        self.model = model
        self.url = endpoint_url(base_url)
        self.name = f"openai:{model}"
        self.version = self.url  # another server is another model, even under the same model name
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_chars = max_chars
        self._dim = dim
        self._client: httpx.Client | None = None
        if dim is None:
            self.embed(["dimension probe"])  # learn the size now: a dead or refusing server fails here, early
        assert self._dim is not None
        self.dim: int = self._dim

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIEmbedder(model={self.model!r}, url={self.url!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None
        return state

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        parts = [self._embed_batch(texts[i: i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        if not parts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        inputs = [text[: self.max_chars] if text.strip() else " " for text in texts]
        answer = self._post({"model": self.model, "input": inputs, "encoding_format": "float"})
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or len(data) != len(inputs):
            count = len(data) if isinstance(data, list) else "no"
            raise EmbeddingServiceError(f"{self.url} answered {count} embeddings for {len(inputs)} texts; it "
                                        "does not look like an OpenAI-compatible embeddings endpoint.")
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0))) if all(
                "index" in item for item in data) else data
            vectors = np.array([item["embedding"] for item in ordered], dtype=np.float32)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise EmbeddingServiceError(f"{self.url} sent embeddings that are not lists of numbers of one "
                                        f"length ({exc}).") from None
        if vectors.ndim != 2 or not np.isfinite(vectors).all():
            raise EmbeddingServiceError(f"{self.url} sent embeddings that are not lists of finite numbers "
                                        "of one length.")
        if self._dim is None:
            self._dim = int(vectors.shape[1])
        elif vectors.shape[1] != self._dim:
            raise EmbeddingServiceError(
                f"{self.url} (model {self.model!r}) returned {vectors.shape[1]}-dimensional vectors where "
                f"{self._dim} were expected. The model behind the endpoint changed or a different one was "
                "configured; vectors of two models cannot share one index: re-embed with the new model.")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return normalised

    def _post(self, payload: dict[str, Any]) -> Any:
        if self._client is None:
            from paperscope.ingest.http import USER_AGENT

            headers = {"User-Agent": USER_AGENT}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._client = httpx.Client(timeout=self.timeout, headers=headers, follow_redirects=True)
        attempts = self.retries + 1
        delay = self.backoff
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.post(self.url, json=payload)
            except httpx.TimeoutException:
                last = f"no answer within {self.timeout:g} s"
            except httpx.HTTPError as exc:
                connect = isinstance(exc, httpx.ConnectError)
                last = f"cannot connect ({exc})" if connect else f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise EmbeddingServiceError(f"{self.url} answered HTTP {response.status_code} with "
                                                    f"something that is not JSON: {response.text[:200]!r}",
                                                    response=response) from None
                if response.status_code not in _RETRY_STATUS:
                    raise self._refused(response)
                last = f"HTTP {response.status_code}"
                delay = max(delay, _retry_after(response))
            if attempt < attempts:
                time.sleep(delay)
                delay *= 2
        raise EmbeddingServiceError(f"The embeddings endpoint {self.url} did not answer after {attempts} attempts "
                                    f"(last: {last}). Check that the server is running and reachable.")

    def _refused(self, response: httpx.Response) -> EmbeddingServiceError:
        message = response.text[:300].strip()
        try:
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict) and error.get("message"):
                message = str(error["message"])
            elif isinstance(error, str):
                message = error
        except ValueError:
            pass
        hint = ""
        if response.status_code in (401, 403):
            hint = (f" Set the API key in the environment variable {API_KEY_ENV}"
                    + (" (it is set: check that it is valid for this server)." if self.api_key else "."))
        elif response.status_code == 404:
            hint = f" Check the base URL and the model name {self.model!r}."
        return EmbeddingServiceError(f"The embeddings endpoint {self.url} refused the request with HTTP "
                                     f"{response.status_code}: {message}.{hint}", response=response)


def _retry_after(response: httpx.Response) -> float:
    try:
        value = float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0
    return min(value, 60.0) if math.isfinite(value) and value > 0 else 0.0
