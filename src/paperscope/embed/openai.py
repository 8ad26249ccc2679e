"""An OpenAI-compatible embeddings endpoint (spec `openai:MODEL@BASE_URL`): OpenAI, or a local server speaking
the same API (text-embeddings-inference, vLLM, Ollama, LM Studio, llama.cpp...).

BASE_URL is the API root ("https://api.openai.com/v1", "http://127.0.0.1:8080"); requests go to
`<root>/embeddings`, with "/v1" added when the root does not end in it already. The API key comes from the
environment variable PAPERSCOPE_EMBEDDING_API_KEY (none is sent when it is unset). Texts are sent in batches
through `paperscope.http.PoliteClient`: connection failures, timeouts, 408, 409, 429 and 5xx answers are retried
with exponential backoff (honouring Retry-After); other refusals raise at once with the server's message.
Returned vectors are L2-normalised.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from paperscope.errors import EmbeddingServiceError, SourceError

if TYPE_CHECKING:
    from paperscope.http import PoliteClient

API_KEY_ENV = "PAPERSCOPE_EMBEDDING_API_KEY"


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
        self._client: PoliteClient | None = None
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
            from paperscope.http import PoliteClient

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = PoliteClient(name=f"the embeddings endpoint of {self.model!r}", timeout=self.timeout,
                                        retries=self.retries, backoff=self.backoff, headers=headers,
                                        offline_hint="Check that the server is running and reachable.")
        try:
            response = self._client.request("POST", self.url, json=payload)
        except EmbeddingServiceError:
            raise
        except SourceError as exc:
            if isinstance(exc.response, httpx.Response):
                raise self._refused(exc.response) from None
            raise EmbeddingServiceError(str(exc)) from None
        try:
            return response.json()
        except ValueError:
            raise EmbeddingServiceError(f"{self.url} answered HTTP {response.status_code} with something that is "
                                        f"not JSON: {response.text[:200]!r}", response=response) from None

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

