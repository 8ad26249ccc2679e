"""Passwords are stored as Argon2id hashes and checked against them."""

import pytest

from paperscope.auth import hash_password, needs_rehash, verify_password
from paperscope.errors import InputError


def test_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password(None, "anything at all")
    assert not verify_password("not a hash", "anything at all")
    assert not needs_rehash(hashed)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(InputError, match="at least 8"):
        hash_password("short")
