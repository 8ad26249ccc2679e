"""Opening input files (plain or gzip) and telling their format from their content."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import BinaryIO

from paperscope.errors import InputError

FORMATS = ("jsonl", "atom", "hf", "bibtex", "listing", "s2", "pubmed", "biorxiv", "openreview", "openalex",
           "crossref", "csljson", "ris")
# Formats told by a mark in the first bytes (a JSON key or an XML root element only they have), checked
# before the general rules of `detect_format`; one line per format, from the module that reads it.
SIGNATURES: list[tuple[re.Pattern[bytes], str]] = [
    (re.compile(rb'"(?:paperId|citedPaper|citingPaper)"\s*:'), "s2"),  # Semantic Scholar Graph API answers
    (re.compile(rb"<(?:!DOCTYPE\s+)?Pubmed(?:Book)?ArticleSet\b"), "pubmed"),
    (re.compile(rb'"messages"\s*:\s*\[\s*\{[^{}]*"(?:interval|cursor)"|"jatsxml"\s*:|"author_corresponding_institution"'),
     "biorxiv"),
    (re.compile(rb'"notes"\s*:\s*\[\s*(?:\]|\{\s*"(?:id|forum|content|invitations?|number|domain|cdate)"\s*:)'),
     "openreview"),
    (re.compile(rb'"message-type"\s*:\s*"work(?:-list)?"'), "crossref"),
    (re.compile(rb'"(?:id|openalex)"\s*:\s*"https://openalex\.org/W\d+"'), "openalex"),
    # CSL-JSON (Zotero, Mendeley, Pandoc): CSL's hyphenated date and container keys, or an item type of CSL's.
    # After Crossref, whose works use the same keys inside its "message" wrapper.
    (re.compile(rb'"(?:issued|container-title|citation-key|date-parts)"\s*:|"type"\s*:\s*"(?:article-journal|'
                rb'paper-conference|chapter|book|report|thesis|manuscript|webpage|post-weblog|dataset|'
                rb'entry-encyclopedia|article)"'), "csljson"),
]
_GZIP_MAGIC = b"\x1f\x8b"
_BIBTEX_ENTRY = re.compile(rb"^\s*@[A-Za-z]+\s*[{(]", re.MULTILINE)
_RIS_RECORD = re.compile(rb"^TY\s{1,2}- ?[A-Z]{2,8}\s*$", re.MULTILINE)  # a RIS record's first line: "TY  - JOUR"


def open_input(path: Path) -> BinaryIO:
    """Open a file for reading, transparently decompressing gzip."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file. Check the path (or quote a network source such as "
                         "arxiv:cs.LG or hf:daily).") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror}.") from None
    if raw.read(2) == _GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def detect_format(head: bytes, origin: str) -> str:
    """The format of a file from its first bytes: one of FORMATS."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise InputError(f"{origin}: the file is empty; there is nothing to ingest.")
    if text.startswith((b"<", b"{", b"[")):
        for mark, fmt in SIGNATURES:
            if mark.search(text):
                return fmt
    if text.startswith(b"<"):
        return "atom"
    if text.startswith(b"["):
        return "hf"
    if text.startswith(b"{"):
        # A pretty-printed JSON document opens with "{" alone on its line; JSON Lines never do.
        return "hf" if text.split(b"\n", 1)[0].strip() == b"{" else "jsonl"
    first_content = next((line for line in text.splitlines() if line.strip()
                          and not line.lstrip().startswith(b"%")), b"")
    if _BIBTEX_ENTRY.match(first_content):
        return "bibtex"
    if _RIS_RECORD.search(text):
        return "ris"
    return "listing"


def read_text(stream: BinaryIO, origin: str) -> str:
    """The whole stream as text: UTF-8 (with or without BOM) or UTF-16 with a BOM.

    Raises InputError naming the line and byte where the text stops being UTF-8.
    """
    try:
        data = stream.read()
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise InputError(f"{origin}: the compressed file is damaged or truncated ({exc}); "
                         "download or export it again.") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"{origin}: the file starts as UTF-16 text but byte {exc.start + 1} breaks it "
                             f"({exc.reason}); export it again, preferably as UTF-8.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{origin}:line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; the file is in "
            "another encoding. Convert it first, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8"
        ) from None
