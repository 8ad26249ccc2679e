"""The vector index's file format: writing one file atomically and reading it back, checksums checked.

    preamble  magic b"PSVECIDX", format version (uint32), header length (uint64), little-endian
    header    JSON, keys sorted: the index's settings, the length and CRC-32 of the id list and of the payload
    ids       JSON list of the id of each slot (null: a free slot)
    payload   the vectors: float32 rows (exact mode) or a faiss index (IVF mode)

Errors are StoreErrors whose message completes "The vector index <path> ..." (e.g. "is truncated.").
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final

from paperscope.errors import StoreError

__all__ = ["FORMAT_VERSION", "IO_CHUNK", "PayloadReader", "open_payload", "read_header", "write_index_file"]

FORMAT_VERSION: Final = 2
_MAGIC: Final = b"PSVECIDX"
_PREAMBLE: Final = struct.Struct("<8sIQ")  # magic, format version, header length
IO_CHUNK: Final = 1 << 24


def write_index_file(target: Path, header: dict[str, Any], ids: list[str | None],
                     write_payload: Callable[[Callable[[bytes], int]], None]) -> None:
    """Write `header`, `ids` and the payload that `write_payload` writes through the callback it is given
    to `target`, atomically (a temporary file renamed over `target`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    ids_blob = json.dumps(ids, ensure_ascii=False).encode("utf-8")
    header = dict(header, format=FORMAT_VERSION, ids_bytes=len(ids_blob), ids_crc32=zlib.crc32(ids_blob))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            # the payload's length and checksum are known only once written: reserve, then patch
            header_blob = _header_blob(header, payload_bytes=0, payload_crc32=0)
            out.write(_PREAMBLE.pack(_MAGIC, FORMAT_VERSION, len(header_blob)))
            out.write(header_blob)
            out.write(ids_blob)
            writer = _ChecksumWriter(out)
            write_payload(writer.write)
            patched = _header_blob(header, payload_bytes=writer.length, payload_crc32=writer.crc)
            out.seek(0)
            out.write(_PREAMBLE.pack(_MAGIC, FORMAT_VERSION, len(patched)))
            out.write(patched)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_header(handle: IO[bytes]) -> tuple[dict[str, Any], list[str | None]]:
    """The header and the id list of the file open in `handle`, each checked; leaves `handle` at the payload."""
    preamble = handle.read(_PREAMBLE.size)
    if len(preamble) < _PREAMBLE.size or preamble[:8] != _MAGIC:
        raise StoreError("is not a paperscope vector index (or is empty).")
    _, version, header_len = _PREAMBLE.unpack(preamble)
    if version != FORMAT_VERSION:
        raise StoreError(f"has format version {version}; this paperscope reads version {FORMAT_VERSION}.")
    if header_len > 1 << 20:
        raise StoreError("has a damaged header.")
    header: dict[str, Any] = json.loads(_read_exactly(handle, header_len))
    ids_blob = _read_exactly(handle, int(header["ids_bytes"]))
    if zlib.crc32(ids_blob) != int(header["ids_crc32"]):
        raise StoreError("is damaged (the id list fails its checksum).")
    ids: list[str | None] = json.loads(ids_blob)
    if len(ids) != int(header["slots"]):
        raise StoreError("is damaged (the id list has the wrong length).")
    return header, ids


def open_payload(handle: IO[bytes], header: dict[str, Any]) -> PayloadReader:
    """A reader over the payload that follows in `handle`, once the payload has passed its length and
    checksum in `header`."""
    payload_bytes, payload_start = int(header["payload_bytes"]), handle.tell()
    # checksum first, so that a damaged file never reaches faiss's parser
    crc, remaining = 0, payload_bytes
    while remaining:
        chunk = _read_exactly(handle, min(remaining, IO_CHUNK))
        crc, remaining = zlib.crc32(chunk, crc), remaining - len(chunk)
    if handle.read(1):
        raise StoreError("is damaged (unexpected length).")
    if crc != int(header["payload_crc32"]):
        raise StoreError("is damaged (the vectors fail their checksum).")
    handle.seek(payload_start)
    return PayloadReader(handle, payload_bytes)


def _header_blob(header: dict[str, Any], payload_bytes: int, payload_crc32: int) -> bytes:
    # fixed-width numbers, so that patching them after the payload keeps the header's length
    full = dict(header, payload_bytes=f"{payload_bytes:020d}", payload_crc32=f"{payload_crc32:010d}")
    return json.dumps(full, sort_keys=True).encode("utf-8")


def _read_exactly(handle: IO[bytes], size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise StoreError("is truncated.")
    return data


class _ChecksumWriter:
    """A write callback for faiss that counts and checksums what it writes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.length, self.crc = out, 0, 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.length += len(data)
        self.crc = zlib.crc32(data, self.crc)
        return len(data)


class PayloadReader:
    """A read callback for faiss over the payload only: it refuses to read past it."""

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self.handle, self.remaining = handle, length

    def read(self, size: int) -> bytes:
        if size > self.remaining:
            raise StoreError("is truncated.")
        data = _read_exactly(self.handle, size)
        self.remaining -= size
        return data
