"""Polite HTTP for remote sources: timeouts, retries with exponential backoff, a pause between requests."""

from __future__ import annotations

import time
from typing import Any

import httpx

from paperscope import __version__
from paperscope.config import Settings
from paperscope.errors import OfflineError, SourceError

USER_AGENT = f"paperscope/{__version__} (self-hosted paper radar; https://github.com/paperscope)"
_RETRY_STATUS = {429, 500, 502, 503, 504}


class PoliteClient:
    """An httpx client that waits `min_interval` seconds between requests and retries transient failures.

    Retried: connection errors, timeouts, 429 and 5xx answers (honouring Retry-After up to a minute).
    Not retried: other 4xx answers, which mean the request itself is wrong.
    """

    def __init__(self, settings: Settings, *, min_interval: float = 0.0, name: str = "the server") -> None:
        self.settings = settings
        self.min_interval = min_interval
        self.name = name
        self._last_request = 0.0
        self._client = httpx.Client(timeout=settings.http_timeout_seconds, follow_redirects=True,
                                    headers={"User-Agent": USER_AGENT})

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET with the politeness and retry rules above; raises SourceError/OfflineError when it gives up."""
        attempts = self.settings.http_retries + 1
        delay = self.settings.http_backoff_seconds
        last_error = ""
        for attempt in range(1, attempts + 1):
            self._wait_turn()
            try:
                response = self._client.get(url, params=params)
            except httpx.ConnectError as exc:
                last_error = f"cannot connect ({exc})"
                if attempt == attempts:
                    raise OfflineError(
                        f"Cannot reach {self.name} at {url}: {exc}. Check the network connection; "
                        "without one, ingest saved files instead (paperscope ingest FILE)."
                    ) from None
            except httpx.TimeoutException:
                last_error = f"no answer within {self.settings.http_timeout_seconds:g} s"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUS:
                    raise SourceError(f"{self.name} refused the request {response.url} with HTTP "
                                      f"{response.status_code}: {response.text[:200].strip()}",
                                      response=response)
                last_error = f"HTTP {response.status_code}"
                delay = max(delay, _retry_after(response))
            if attempt < attempts:
                time.sleep(delay)
                delay *= 2
        raise SourceError(f"{self.name} did not answer {url} after {attempts} attempts (last: {last_error}). "
                          "It may be down or overloaded; try again later.")

    def _wait_turn(self) -> None:
        wait = self._last_request + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", 0)), 60.0)
    except ValueError:
        return 0.0
