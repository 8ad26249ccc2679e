"""OpenReview (API v2): a venue's papers, from a saved `/notes` answer or from the network.

An answer is `{"notes": [{"id", "forum", "number", "cdate", "pdate", "mdate", "invitations": [...],
"content": {"title": {"value"}, "abstract": {"value"}, "authors": {"value": [...]}, "keywords": {"value":
[...]}, "venue": {"value": "ICLR 2026 Poster"}, "venueid": {"value": "ICLR.cc/2026/Conference"}, "pdf":
{"value": "/pdf/..."}, ...}}, ...], "count": N}`: every content field is wrapped in `{"value": ...}`.

Fields: forum id -> `ids` ("openreview:ID"); title, abstract, authors; the venue id (without a
`/Rejected_Submission`-like suffix), then primary_area, then keywords -> `categories` (the venue first, so
the category filter and the stats group a conference's papers); venue ("ICLR 2026 Poster") -> `comment`
always, and `journal_ref` when the venueid says the paper was accepted (rejected, withdrawn and under-review
papers carry a `/Rejected_Submission`-like or `/Submission` venueid); pdate (else cdate) -> `published`;
mdate -> `updated`; `pdf_url`
https://openreview.net/pdf?id=ID.

Network form: `openreview:VENUE_ID` reads the notes whose `content.venueid` is VENUE_ID: the accepted
papers of `ICLR.cc/2026/Conference`; `openreview:ICLR.cc/2026/Conference/Rejected_Submission` (or
`/Submission` while under review) reads those. Pages of up to PAGE_SIZE notes by offset, a Checkpoint after
each, so an interrupted run resumes at its offset; a completed venue is read again in full by its next run,
which stores only what changed. This client has not met a real response (docs/sources.md).
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
from paperscope.ingest.fields import clean_text
from paperscope.ingest.json_results import read_answer
from paperscope.models import Paper
from paperscope.store import Store

SOURCE = "openreview"
PAGE_SIZE = 1000  # the API's largest page
SITE = "https://openreview.net"
MAX_CATEGORIES = 30
_VENUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_.\-]+)*$")
_NOT_ACCEPTED = re.compile(r"/(?:[A-Za-z_]*_)?Submission$")


def read_openreview_json(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers of a saved OpenReview API v2 `/notes` answer; each note is located as "note N"."""
    expected = 'an OpenReview API v2 answer ({"notes": [...], "count": N})'
    yield from read_answer(read_text(stream, origin), "notes", origin, "note", expected, _read_note)


def _value(content: dict[str, Any], name: str) -> Any:
    """A content field's value: v2 wraps each in {"value": ...}; a bare value (API v1) is taken as is."""
    field = content.get(name)
    return field.get("value") if isinstance(field, dict) else field


def _read_note(note: Any, origin: str, where: str) -> Iterator[Item]:
    if not isinstance(note, dict) or not isinstance(note.get("content"), dict):
        yield Problem(origin, where, "expected a note: a JSON object with a \"content\" object")
        return
    content: dict[str, Any] = note["content"]
    forum = note.get("forum") or note.get("id")
    ref = id_ref("openreview", forum) if isinstance(forum, str) else None
    if ref is None:
        yield Problem(origin, where, f"field 'forum' (or 'id') is {forum!r}, which is not an OpenReview id; "
                      "every note needs one")
        return
    where = f"{where} ({forum})"
    title = clean_text(_text(_value(content, "title")))
    if not title:
        yield Problem(origin, where, "no title (field 'content.title.value'); every paper needs one")
        return
    venue = clean_text(_text(_value(content, "venue"))) or None
    venueid = clean_text(_text(_value(content, "venueid")))
    accepted = bool(venueid) and not _NOT_ACCEPTED.search(venueid)
    venue_category = _NOT_ACCEPTED.sub("", venueid)  # one category per venue, whatever the decision
    categories = [venue_category, clean_text(_text(_value(content, "primary_area"))).replace("_", " "),
                  *(clean_text(word) for word in _strings(_value(content, "keywords")))]
    paper_id = ref.removeprefix("openreview:")
    pdf = _value(content, "pdf")
    yield Entry(origin, where, Paper(
        id=canonical_id([ref]) or derived_id(title),
        title=title,
        abstract=clean_text(_text(_value(content, "abstract"))),
        authors=[clean_text(name) for name in _strings(_value(content, "authors")) if clean_text(name)],
        categories=list(dict.fromkeys(c for c in categories if c and len(c) <= 64))[:MAX_CATEGORIES],
        published=_date(note.get("pdate")) or _date(note.get("cdate")),
        updated=_date(note.get("mdate")),
        abs_url=f"{SITE}/forum?id={paper_id}",
        pdf_url=f"{SITE}/pdf?id={paper_id}" if isinstance(pdf, str) and pdf else None,
        comment=venue,
        journal_ref=venue if accepted else None,
        sources=[SOURCE],
        ids=[ref],
    ))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _date(value: object) -> dt.date | None:
    """A date from OpenReview's milliseconds since the epoch."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 10**14:
        return None
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()


def openreview_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """The papers of `openreview:VENUE_ID` (see the module docstring), a page at a time; `openreview:forum:ID`
    the one paper of that forum."""
    if spec.startswith("forum:"):
        return _forum_items(spec.removeprefix("forum:").strip(), settings)
    return _venue_items(spec, store, settings, limit=limit)


def _forum_items(forum: str, settings: Settings) -> Iterator[SourceItem]:
    """The paper of one OpenReview forum (`GET /notes?id=FORUM`)."""
    if id_ref("openreview", forum) is None:
        raise InputError(f"'openreview:forum:{forum}' does not name a forum; give the id= of its "
                         "https://openreview.net/forum?id=... link.")
    origin = f"openreview:forum:{forum}"
    with PoliteClient(settings, min_interval=settings.openreview_delay_seconds, headers=contact_headers(settings),
                      name="the OpenReview API") as client:
        response = client.get(f"{settings.openreview_api_url.rstrip('/')}/notes", params={"id": forum})
    _, notes = _page(response.content, str(response.url))
    if not notes:
        yield Problem(origin, "", f"OpenReview has no note {forum!r}; check the forum link")
    for number, note in enumerate(notes[:1], start=1):
        yield from _read_note(note, origin, f"note {number}")


def _venue_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    venueid = spec.strip().strip("/")
    if not venueid or not _VENUE_ID.match(venueid):
        raise InputError(f"'openreview:{spec}' does not name a venue; write its venue id as OpenReview shows it, "
                         "e.g. openreview:ICLR.cc/2026/Conference.")
    origin = f"openreview:{venueid}"
    state = store.get_sync_state(origin) or {}
    offset = state.get("offset") if isinstance(state.get("offset"), int) else 0
    assert isinstance(offset, int)
    url = f"{settings.openreview_api_url.rstrip('/')}/notes"
    read = 0
    with PoliteClient(settings, min_interval=settings.openreview_delay_seconds, headers=contact_headers(settings),
                      name="the OpenReview API") as client:
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - read)
            params = {"content.venueid": venueid, "offset": offset, "limit": size, "sort": "number:asc"}
            response = client.get(url, params=params)
            total, notes = _page(response.content, str(response.url))
            for number, note in enumerate(notes, start=offset + 1):
                yield from _read_note(note, origin, f"note {number}")
            offset += len(notes)
            read += len(notes)
            done = not notes or (offset >= total if total is not None else len(notes) < size)
            yield Checkpoint(origin, None if done else {"offset": offset})
            if done or (limit is not None and read >= limit):
                if done and offset == 0:
                    yield Problem(origin, "", f"no notes have the venue id {venueid!r}; check it on the venue's "
                                  "OpenReview page (e.g. ICLR.cc/2026/Conference)", rejected=False)
                return


def _page(body: bytes, url: str) -> tuple[int | None, list[Any]]:
    """The total (None when the answer has no count) and the notes of one answer."""
    try:
        answer = json.loads(body)
        notes = answer["notes"]
        assert isinstance(notes, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise SourceError(f"The OpenReview API answered {url} with something that is not a notes answer "
                          f"({body[:120]!r}); check PAPERSCOPE_OPENREVIEW_API_URL or try again later.") from None
    count = answer.get("count")
    return (count if isinstance(count, int) and not isinstance(count, bool) else None), notes
