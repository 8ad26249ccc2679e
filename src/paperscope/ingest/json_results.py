"""The list of records inside a saved JSON API response, read so that a damaged file keeps what precedes the damage.

Scholarly APIs wrap their records: OpenAlex in `{"meta": ..., "results": [...]}`, Crossref in
`{"message": {"items": [...]}}`. A whole document is decoded at once; a document that does not decode (cut short
by a download, corrupted) is read record by record from its list onwards, so every record before the damage is
kept and the damage is reported as a Problem naming its line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from paperscope.ingest.base import Item, Problem

# Reads one record of a document: (value, origin, where) -> its paper and problems.
RecordReader = Callable[[Any, str, str], Iterator[Item]]

_WHITESPACE = re.compile(r"[ \t\r\n]*")


def broken_json(origin: str, text: str, pos: int, read: int, record: str) -> Problem:
    """The Problem of a JSON document that breaks at `pos`, after `read` records were read."""
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    before = f"1 {record} before it was" if read == 1 else f"{read} {record}s before it were"
    return Problem(origin, f"line {line}", f"the JSON ends early or is malformed at line {line}, column {column}; "
                   f"{before} read. Download or export the file again.")


def read_records(values: Iterable[Any], origin: str, record: str, read: RecordReader) -> Iterator[Item]:
    """Each value read by `read`, located "record N" (`record` names them); a Problem among the values (where a
    damaged document breaks, see `records_after`) passes as it is."""
    for number, value in enumerate(values, start=1):
        if isinstance(value, Problem):
            yield value
        else:
            yield from read(value, origin, f"{record} {number}")


def read_answer(text: str, key: str, origin: str, record: str, expected: str, read: RecordReader) -> Iterator[Item]:
    """The records of the array under `key` of a saved API answer object, each read by `read`; a document cut
    short gives the records before the damage, then a Problem; an answer without that array is a Problem saying
    what was `expected`."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        yield from read_records(records_after(text, key, origin, record), origin, record, read)
        return
    values = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(values, list):
        yield Problem(origin, "", f'no "{key}" array; expected {expected}')
        return
    yield from read_records(values, origin, record, read)


def records_after(text: str, key: str, origin: str, record: str) -> Iterator[Any]:
    """The records of the first array under `"key": [` in a document that does not decode whole, one at a time,
    then a Problem where the JSON breaks (or one saying the list was not found)."""
    match = re.search(rf'"{re.escape(key)}"\s*:\s*\[', text)
    if match is None:
        error = _decode_error(text)
        yield broken_json(origin, text, error.pos if error else 0, 0, record)
        return
    yield from _records_from(text, match.end(), origin, record)


def array_records(text: str, origin: str, record: str) -> Iterator[Any]:
    """The records of a document that is itself an array (`[{...}, ...]`) and does not decode whole, one at a
    time, then a Problem where the JSON breaks."""
    start = _skip_space(text, 0)
    if not text.startswith("[", start):
        error = _decode_error(text)
        yield broken_json(origin, text, error.pos if error else 0, 0, record)
        return
    yield from _records_from(text, start + 1, origin, record)


def _records_from(text: str, start: int, origin: str, record: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    pos = _skip_space(text, start)
    count = 0
    if text.startswith("]", pos):
        error = _decode_error(text)
        yield broken_json(origin, text, error.pos if error else pos, 0, record)
        return
    while True:
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield broken_json(origin, text, exc.pos, count, record)
            return
        count += 1
        yield value
        pos = _skip_space(text, pos)
        if text.startswith("]", pos):
            # The list is whole, so the damage lies after it.
            error = _decode_error(text)
            yield broken_json(origin, text, error.pos if error else pos, count, record)
            return
        if not text.startswith(",", pos):
            yield broken_json(origin, text, pos, count, record)
            return
        pos = _skip_space(text, pos + 1)


def _decode_error(text: str) -> json.JSONDecodeError | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc
    return None


def _skip_space(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def json_type(value: object) -> str:
    """How a JSON value's type reads in a message ("an array", "a string", ...)."""
    names = {list: "an array", dict: "an object", str: "a string", bool: "true/false", int: "a number",
             float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
