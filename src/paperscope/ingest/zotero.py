"""A Zotero library read through the Zotero Web API (v3): `zotero:USER_ID` in `paperscope library import`.

Requests `GET {PAPERSCOPE_ZOTERO_API_URL}/users/{id}/items/top?format=json&include=csljson`, 100 items a page,
following the `Link: <...>; rel="next"` header (else `start` up to `Total-Results`), with `Zotero-API-Version: 3`
and the key of PAPERSCOPE_ZOTERO_API_KEY as `Zotero-API-Key`. A `Backoff` header makes the next request wait
that long; 429 and 503 answers are retried after their `Retry-After` (paperscope.http). Each regular item's
CSL-JSON becomes a paper as in a CSL-JSON file (ingest.csljson); standalone notes and attachments are skipped.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient
from paperscope.ingest.base import Item, Problem
from paperscope.ingest.csljson import read_item

PREFIX = "zotero:"
PAGE_SIZE = 100  # the most the API answers in one page
MAX_BACKOFF_SECONDS = 300.0
NOT_PAPERS = frozenset({"note", "attachment", "annotation"})
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def is_zotero_source(text: str) -> bool:
    return text.startswith(PREFIX)


def zotero_user_id(source: str) -> str:
    """The numeric user id of `zotero:USER_ID`; InputError when it is not one."""
    user_id = source.removeprefix(PREFIX).strip()
    if not user_id.isdigit():
        raise InputError(f"{source!r}: a Zotero library is named zotero:USER_ID, with the numeric user id shown "
                         "at zotero.org/settings/keys (\"Your userID for use in API calls\").")
    return user_id


def zotero_items(source: str, settings: Settings, *, client: PoliteClient | None = None) -> Iterator[Item]:
    """The papers of a Zotero user library, located as "item N" of `source`."""
    user_id = zotero_user_id(source)
    headers = {"Zotero-API-Version": "3"}
    if settings.zotero_api_key:
        headers["Zotero-API-Key"] = settings.zotero_api_key
    own = client is None
    http = client or PoliteClient(settings, name="the Zotero Web API", headers=headers)
    url: str | None = f"{settings.zotero_api_url.rstrip('/')}/users/{user_id}/items/top"
    params: dict[str, Any] | None = {"format": "json", "include": "csljson", "limit": PAGE_SIZE, "start": 0}
    number = 0
    try:
        while url is not None:
            response = _get(http, url, params, settings)
            try:
                page = response.json()
            except ValueError:
                raise SourceError(f"the Zotero Web API answered {response.url} with something that is not JSON; "
                                  "check PAPERSCOPE_ZOTERO_API_URL") from None
            if not isinstance(page, list):
                raise SourceError(f"the Zotero Web API answered {response.url} with no list of items")
            for entry in page:
                number += 1
                yield from _item(entry, source, f"item {number}")
            url, params = _next_page(response, params, len(page))
            if url is not None:
                _backoff(response)
    finally:
        if own:
            http.close()


def _get(http: PoliteClient, url: str, params: dict[str, Any] | None, settings: Settings) -> httpx.Response:
    try:
        return http.get(url, params=params)
    except SourceError as exc:
        status = exc.response.status_code if isinstance(exc.response, httpx.Response) else None
        if status in (401, 403):
            raise SourceError("the Zotero Web API refused to read this library (HTTP "
                              f"{status}): it is private and PAPERSCOPE_ZOTERO_API_KEY is "
                              f"{'not set' if not settings.zotero_api_key else 'a key without read access to it'}. "
                              "Create a key with library read access at zotero.org/settings/keys.",
                              response=exc.response) from None
        if status == 404:
            raise SourceError("the Zotero Web API knows no such user library; check the numeric user id "
                              "(zotero.org/settings/keys).", response=exc.response) from None
        raise


def _item(entry: Any, origin: str, where: str) -> Iterator[Item]:
    if not isinstance(entry, dict):
        yield Problem(origin, where, "the Zotero Web API answered with an item that is not an object; skipped")
        return
    data = entry.get("data")
    if isinstance(data, dict) and data.get("itemType") in NOT_PAPERS:
        return
    key = entry.get("key") if isinstance(entry.get("key"), str) else "?"
    csl = entry.get("csljson")
    if not isinstance(csl, dict):
        yield Problem(origin, f"{where} (key {key})", "the item came without its CSL-JSON; skipped")
        return
    yield from read_item(csl, origin, f"{where} (key {key})")


def _next_page(response: httpx.Response, params: dict[str, Any] | None, count: int
               ) -> tuple[str | None, dict[str, Any] | None]:
    """The next page's URL and parameters: the `Link` header's rel="next", else the next `start` below
    `Total-Results`; (None, None) after the last page."""
    match = _NEXT.search(response.headers.get("Link", ""))
    if match and httpx.URL(match[1]).host == response.url.host:
        return match[1], None  # the link carries every parameter; the key is never sent to another host
    total = response.headers.get("Total-Results", "")
    if params is None or not total.isdigit() or count == 0:
        return None, None
    start = int(params["start"]) + count
    if start >= int(total):
        return None, None
    return str(response.url.copy_with(query=None)), {**params, "start": start}


def _backoff(response: httpx.Response) -> None:
    """Wait as long as the API's `Backoff` header asks before the next request (Zotero sends it under load)."""
    try:
        seconds = float(response.headers.get("Backoff", 0))
    except ValueError:
        return
    if math.isfinite(seconds) and seconds > 0:
        time.sleep(min(seconds, MAX_BACKOFF_SECONDS))
