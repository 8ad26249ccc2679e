"""The client of OpenAI-compatible chat endpoints (OpenAI, vLLM, Ollama, llama.cpp, LM Studio...), shared by
the topic explanations (topics/explain.py) and the paper summaries (summaries/).

    client = ChatClient("http://localhost:11434", "llama3.1", settings_prefix="PAPERSCOPE_LLM")
    text = client.complete("Answer with JSON only: ...")

One user message in, the reply's text out. Timeouts, retries and backoff are PoliteClient's (paperscope.http);
the errors name the endpoint and the settings (`settings_prefix` + `_URL`, `_API_KEY`) to check.
"""

from __future__ import annotations

import httpx

from paperscope.errors import LLMServiceError, OfflineError, SourceError
from paperscope.http import PoliteClient


def chat_url(base_url: str) -> str:
    """".../v1" or "http://host:port" -> ".../v1/chat/completions"."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"


class ChatClient(PoliteClient):
    """A minimal OpenAI-compatible chat client: one user message in, the reply's text out."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 60.0,
                 retries: int = 3, backoff: float = 1.0, settings_prefix: str = "PAPERSCOPE_LLM",
                 max_tokens: int | None = None, transport: httpx.BaseTransport | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the LLM URL must start with http:// or https://, not {base_url!r}")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(name="the LLM endpoint", timeout=timeout, retries=retries, backoff=backoff,
                         headers=headers, transport=transport)
        self.url = chat_url(base_url)
        self.model = model
        self.settings_prefix = settings_prefix
        self.max_tokens = max_tokens

    def complete(self, prompt: str) -> str:
        """The reply's text to one user message (temperature 0)."""
        payload: dict[str, object] = {"model": self.model, "temperature": 0,
                                      "messages": [{"role": "user", "content": prompt}]}
        if self.max_tokens is not None:
            payload["max_tokens"] = self.max_tokens
        response = self.request("POST", self.url, json=payload)
        try:
            return str(response.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMServiceError(f"{self.url} did not answer like a chat completions "
                                  f"endpoint: {response.text[:200]!r}", response=response) from None

    def offline_error(self, url: str, exc: httpx.HTTPError) -> SourceError:
        return OfflineError(f"Cannot reach the LLM endpoint {url}: {exc}. Check "
                            f"{self.settings_prefix}_URL and that the server runs.")

    def refused_error(self, response: httpx.Response) -> SourceError:
        hint = f" Set {self.settings_prefix}_API_KEY." if response.status_code in (401, 403) else ""
        return LLMServiceError(f"The LLM endpoint {self.url} refused the request with HTTP "
                               f"{response.status_code}: {response.text[:200].strip()}.{hint}", response=response)

    def gave_up_error(self, url: str, attempts: int, last_error: str) -> SourceError:
        return LLMServiceError(f"The LLM endpoint {url} did not answer after {attempts} "
                               f"attempts (last: {last_error}).")
