"""The one HTTP client of paperscope: timeouts, retries with exponential backoff, a pause between requests.

Remote sources (arXiv, Hugging Face), the embeddings endpoint and the LLM endpoint of topic explanations all
send their requests through `PoliteClient`. A caller that words its errors itself (the LLM endpoint) overrides
the three `*_error` methods; tests pass an `httpx.MockTransport` as `transport` (httpx's test seam).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import httpx

from paperscope import __version__
from paperscope.config import Settings
from paperscope.errors import OfflineError, SourceError

USER_AGENT = f"paperscope/{__version__} (self-hosted paper radar; https://github.com/paperscope)"
#: Answers worth another try: request timeout, conflict (OpenAI's API asks for a retry), rate limit, 5xx.
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
OFFLINE_HINT = "Check the network connection; without one, ingest saved files instead (paperscope ingest FILE)."


class PoliteClient:
    """An httpx client that waits `min_interval` seconds between requests and retries transient failures.

    Retried: connection errors, timeouts, and the answers in RETRY_STATUS (honouring Retry-After up to a
    minute), with exponential backoff. Not retried: other 4xx answers, which mean the request itself is
    wrong. Timeout, retries and backoff come from `settings` (PAPERSCOPE_HTTP_*) unless given here;
    `offline_hint` ends the message when the server cannot be reached at all.
    """

    def __init__(self, settings: Settings | None = None, *, min_interval: float = 0.0, name: str = "the server",
                 timeout: float | None = None, retries: int | None = None, backoff: float | None = None,
                 headers: Mapping[str, str] | None = None, offline_hint: str = OFFLINE_HINT,
                 transport: httpx.BaseTransport | None = None) -> None:
        fields = Settings.model_fields
        self.timeout = _first(timeout, settings and settings.http_timeout_seconds,
                              fields["http_timeout_seconds"].default)
        self.retries = int(_first(retries, settings and settings.http_retries, fields["http_retries"].default))
        self.backoff = _first(backoff, settings and settings.http_backoff_seconds,
                              fields["http_backoff_seconds"].default)
        self.min_interval = min_interval
        self.name = name
        self.offline_hint = offline_hint
        self._last_request = 0.0
        self._client = httpx.Client(timeout=self.timeout, follow_redirects=True, transport=transport,
                                    headers={"User-Agent": USER_AGENT, **(headers or {})})

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET with the politeness and retry rules above; raises SourceError/OfflineError when it gives up."""
        return self.request("GET", url, params=params)

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> httpx.Response:
        """Send a request with the rules above and return the successful response. Raises OfflineError when
        the server cannot be reached, SourceError (with `.response`) when it refuses the request, and
        SourceError when it still fails after the retries."""
        attempts = self.retries + 1
        delay = self.backoff
        last_error = ""
        for attempt in range(1, attempts + 1):
            self._wait_turn()
            try:
                response = self._client.request(method, url, params=params, json=json)
            except httpx.ConnectError as exc:
                last_error = f"cannot connect ({exc})"
                if attempt == attempts:
                    raise self.offline_error(url, exc) from None
            except httpx.TimeoutException:
                last_error = f"no answer within {self.timeout:g} s"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUS:
                    raise self.refused_error(response)
                last_error = f"HTTP {response.status_code}"
                delay = max(delay, _retry_after(response))
            if attempt < attempts:
                time.sleep(delay)
                delay *= 2
        raise self.gave_up_error(url, attempts, last_error)

    def offline_error(self, url: str, exc: httpx.HTTPError) -> SourceError:
        """The error raised when the server cannot be reached at all, after the last attempt."""
        return OfflineError(f"Cannot reach {self.name} at {url}: {exc}. {self.offline_hint}")

    def refused_error(self, response: httpx.Response) -> SourceError:
        """The error raised for an answer that another try would not change (a 4xx outside RETRY_STATUS)."""
        return SourceError(f"{self.name} refused the request {response.url} with HTTP {response.status_code}: "
                           f"{response.text[:200].strip()}", response=response)

    def gave_up_error(self, url: str, attempts: int, last_error: str) -> SourceError:
        """The error raised when every attempt failed; `last_error` says how the last one did."""
        return SourceError(f"{self.name} did not answer {url} after {attempts} attempts (last: {last_error}). "
                           "It may be down or overloaded; try again later.")

    def _wait_turn(self) -> None:
        wait = self._last_request + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _retry_after(response: httpx.Response) -> float:
    try:
        value = float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0
    return min(value, 60.0) if math.isfinite(value) and value > 0 else 0.0


def contact_headers(settings: Settings) -> dict[str, str]:
    """A User-Agent that names the contact address (PAPERSCOPE_CONTACT_EMAIL) where one is set, as scholarly
    APIs ask of the clients that call them."""
    email = settings.contact_email
    return {"User-Agent": f"{USER_AGENT[:-1]}; mailto:{email})"} if email else {}
