import gzip
from pathlib import Path

import pytest

from paperscope.errors import InputError
from paperscope.ingest.detect import detect_format, open_input, read_text


@pytest.mark.parametrize(("head", "expected"), [
    (b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">', "atom"),
    (b"<feed>", "atom"),
    (b'[{"paper": {"id": "2606.00467"}}]', "hf"),
    (b'{\n  "paper": {"id": "2606.00467"}\n}', "hf"),
    (b'{"id": "2503.11731", "title": "T"}\n{"id": "2503.11732", "title": "U"}\n', "jsonl"),
    (b'\xef\xbb\xbf{"id": "1", "title": "T"}\n', "jsonl"),
    (b"@article{key,\n  title={T}\n}", "bibtex"),
    (b"% exported by Zotero\n\n@inproceedings{key, title={T}}", "bibtex"),
    (b"Trending papers\n\nA Title\n\nAn abstract with an @ sign.", "listing"),
])
def test_formats_are_detected_from_content(head: bytes, expected: str) -> None:
    assert detect_format(head, "f") == expected


def test_empty_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        detect_format(b"  \n", "x.txt")
    with pytest.raises(InputError, match="no such file"):
        open_input(tmp_path / "missing.jsonl")


def test_gzip_is_opened_transparently(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"hello"))
    with open_input(path) as stream:
        assert stream.read() == b"hello"


def test_text_decoding_names_the_line_of_a_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("first line\nsecond caf\xe9\n".encode("latin-1"))
    with open_input(path) as stream, pytest.raises(InputError, match=r"line 2: byte 0xe9 is not UTF-8"):
        read_text(stream, str(path))
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes("Ünïcode".encode("utf-16"))
    with open_input(utf16) as stream:
        assert read_text(stream, str(utf16)) == "Ünïcode"
