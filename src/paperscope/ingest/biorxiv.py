"""bioRxiv and medRxiv: the `details` API (api.biorxiv.org), from a saved response or from the network.

An answer is `{"messages": [{"status", "interval", "cursor", "count", "total"}], "collection": [{"doi",
"title", "authors": "Last, F.; Last2, G.", "date", "version", "type", "license", "category", "jatsxml",
"abstract", "published": DOI or "NA", "server"}, ...]}`, 100 records a page. Each version of a preprint is
a record of its own; they share the DOI, so they are one paper, the latest version's fields winning.

Fields: doi -> `ids` (the preprint's DOI), `published` (the published version's DOI, when not "NA") ->
`doi` and `ids` too, so that the preprint and its journal version are one paper; category -> `categories`;
date -> `published`; version -> `version`; server -> `sources` ("biorxiv" or "medrxiv").

Network forms: `biorxiv:FROM/TO` and `medrxiv:FROM/TO` (YYYY-MM-DD), `biorxiv:Nd` (the last N days, for the
daily background ingest), each optionally followed by `?category=NAME` (the API's own parameter; spaces
as `_`, e.g. `biorxiv:2026-01-01/2026-01-31?category=cell_biology`). The cursor of the page reached is a
Checkpoint, so an interrupted run resumes there; a completed interval is read again in full by its next run
(the API has no "changed since"), which stores nothing new. This client has not met a real response: it is
built from the API's documentation (docs/sources.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient, contact_headers
from paperscope.ids import canonical_id, derived_id, id_ref
from paperscope.ingest.base import Checkpoint, Entry, Item, Problem, SourceItem
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import clean_text, parse_date
from paperscope.ingest.json_results import read_answer
from paperscope.models import Paper
from paperscope.store import Store

SERVERS = ("biorxiv", "medrxiv")
PAGE_SIZE = 100  # fixed by the API
_SPEC = re.compile(r"^(?:(?P<from>\d{4}-\d{2}-\d{2})/(?P<to>\d{4}-\d{2}-\d{2})|(?P<days>\d{1,4})d)"
                   r"(?:\?category=(?P<category>[A-Za-z_ \-]+))?$")


def read_biorxiv_json(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers of a saved bioRxiv/medRxiv `details` answer; each record is located as "record N"."""
    expected = 'a bioRxiv/medRxiv details API answer ({"messages": [...], "collection": [...]})'
    yield from read_answer(read_text(stream, origin), "collection", origin, "record", expected, _read_record)


def _read_record(record: Any, origin: str, where: str) -> Iterator[Item]:
    if not isinstance(record, dict):
        yield Problem(origin, where, "expected a JSON object (a preprint record)")
        return
    doi_ref = id_ref("doi", str(record.get("doi") or ""))
    if doi_ref is None:
        yield Problem(origin, where, f"field 'doi' is {record.get('doi')!r}, which is not a DOI (like "
                      "10.1101/2026.01.02.123456); every preprint record needs one")
        return
    title = clean_text(record.get("title"))
    if not title:
        yield Problem(origin, where, f"no title (field 'title') for {doi_ref}; every paper needs one")
        return
    server = str(record.get("server") or "").strip().lower()
    server = server if server in SERVERS else "biorxiv"
    refs = {doi_ref}
    published_doi = id_ref("doi", str(record.get("published") or "")) if record.get("published") != "NA" else None
    if published_doi:
        refs.add(published_doi)
    warnings = []
    try:
        posted = parse_date(record.get("date")) if isinstance(record.get("date"), str) else None
    except ValueError as exc:
        posted = None
        warnings.append(Problem(origin, where, f"field 'date': {exc}; the paper is kept without a date",
                                rejected=False))
    version_text = str(record.get("version") or "").strip()
    version = int(version_text) if version_text.isdigit() and 0 < int(version_text) < 1000 else None
    doi = doi_ref.removeprefix("doi:")
    page = f"https://www.{server}.org/content/{doi}" + (f"v{version}" if version else "")
    category = clean_text(record.get("category")).replace("_", " ")
    yield Entry(origin, where, Paper(
        id=canonical_id(refs) or derived_id(title),
        title=title,
        abstract=clean_text(record.get("abstract")),
        authors=_authors(record.get("authors")),
        categories=[category] if category and len(category) <= 64 else [],
        published=posted,
        updated=posted,  # the date of this version: the latest version's date is the paper's `updated`
        version=version,
        abs_url=page,
        pdf_url=f"{page}.full.pdf",
        doi=(published_doi or doi_ref).removeprefix("doi:"),
        comment=f"{'medRxiv' if server == 'medrxiv' else 'bioRxiv'} preprint"
                + (f", published as doi:{published_doi.removeprefix('doi:')}" if published_doi else ""),
        sources=[server],
        ids=sorted(refs),
    ))
    yield from warnings


def _authors(value: object) -> list[str]:
    """"Last, F.; Last2, G." -> ["F. Last", "G. Last2"]."""
    if not isinstance(value, str):
        return []
    names = []
    for part in value.split(";"):
        last, comma, first = clean_text(part).partition(",")
        name = f"{first.strip()} {last.strip()}".strip() if comma else last.strip()
        if name:
            names.append(name)
    return names


def biorxiv_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """`biorxiv:FROM/TO[?category=NAME]` or `biorxiv:Nd` as a network source (see the module docstring)."""
    return _interval_items("biorxiv", spec, store, settings, limit)


def medrxiv_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """`medrxiv:FROM/TO[?category=NAME]` or `medrxiv:Nd` as a network source (see the module docstring)."""
    return _interval_items("medrxiv", spec, store, settings, limit)


def _parse_spec(server: str, spec: str) -> tuple[dt.date, dt.date, str | None]:
    usage = (f"Write {server}:FROM/TO with dates as YYYY-MM-DD (e.g. {server}:2026-01-01/2026-01-31), or "
             f"{server}:7d for the last 7 days, optionally followed by ?category=NAME (e.g. ?category=neuroscience).")
    match = _SPEC.match(spec.strip())
    if not match:
        raise InputError(f"'{server}:{spec}' is not a date interval. {usage}")
    if match["days"]:
        until = dt.datetime.now(dt.UTC).date()
        start = until - dt.timedelta(days=max(int(match["days"]), 1) - 1)
    else:
        try:
            start, until = dt.date.fromisoformat(match["from"]), dt.date.fromisoformat(match["to"])
        except ValueError:
            raise InputError(f"'{server}:{spec}' holds a date that does not exist. {usage}") from None
        if until < start:
            raise InputError(f"'{server}:{spec}': the interval ends before it starts. {usage}")
    category = match["category"].strip().lower().replace(" ", "_") if match["category"] else None
    return start, until, category


def _interval_items(server: str, spec: str, store: Store, settings: Settings,
                    limit: int | None) -> Iterator[SourceItem]:
    start, until, category = _parse_spec(server, spec)
    origin = f"{server}:{spec.strip()}"
    state = store.get_sync_state(origin) or {}
    cursor = state.get("cursor") if isinstance(state.get("cursor"), int) else 0
    assert isinstance(cursor, int)
    base = settings.biorxiv_api_url.rstrip("/")
    url = f"{base}/details/{server}/{start.isoformat()}/{until.isoformat()}"
    params = {"category": category} if category else None
    name = "the medRxiv API" if server == "medrxiv" else "the bioRxiv API"
    read = 0
    with PoliteClient(settings, min_interval=settings.biorxiv_delay_seconds, headers=contact_headers(settings),
                      name=name) as client:
        while True:
            response = client.get(f"{url}/{cursor}/json", params=params)
            total, records = _page(response.content, str(response.url), name)
            if limit is not None:
                records = records[:limit - read]
            for number, record in enumerate(records, start=cursor + 1):
                yield from _read_record(record, origin, f"record {number}")
            read += len(records)
            cursor += len(records)
            limited = limit is not None and read >= limit
            done = not records or cursor >= total
            yield Checkpoint(origin, None if done else {"cursor": cursor})
            if done or limited:
                return


def _page(body: bytes, url: str, name: str) -> tuple[int, list[Any]]:
    """The total and the records of one `details` answer; SourceError for an error or a broken answer."""
    try:
        answer = json.loads(body)
        message = answer["messages"][0]
        assert isinstance(message, dict)
    except (ValueError, KeyError, IndexError, TypeError, AssertionError):
        raise SourceError(f"{name} answered {url} with something that is not a details answer ({body[:120]!r}); "
                          "check PAPERSCOPE_BIORXIV_API_URL or try again later.") from None
    records = answer.get("collection")
    status = str(message.get("status", "ok")).lower()
    if status != "ok" and not records:
        if "no posts found" in status:
            return 0, []
        raise SourceError(f"{name} answered {url} with: {message.get('status')}")
    try:
        total = int(message.get("total", 0))
    except (TypeError, ValueError):
        total = 0
    return total, records if isinstance(records, list) else []

