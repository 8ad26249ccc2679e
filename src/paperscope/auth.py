"""Passwords, shared by the web app and the command line: the strength rule (zxcvbn) and Argon2id hashing.

`hash_password` refuses a password that `password_problem` finds fault with, so every way in (web sign-up,
password change, `paperscope users add --password-stdin`) applies the same rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paperscope.errors import InputError

MIN_PASSWORD_LENGTH = 8
# Checked before anything else: hashing grows with the length (0.5 s for 100,000 characters).
MAX_PASSWORD_LENGTH = 128
# zxcvbn's matching grows faster than linearly with the length (a 72-character run of look-alike characters
# takes seconds), so the estimate reads the first characters only; more characters only add strength.
STRENGTH_PREFIX = 24
# zxcvbn scores 0 to 4; 3 means "safely unguessable: moderate protection from an offline attack" (>= 10^8 guesses).
MIN_PASSWORD_SCORE = 3
_hasher = PasswordHasher()


def password_problem(password: str, *, user_inputs: Iterable[str | None] = ()) -> str | None:
    """What is wrong with the password, in words that say how to fix it; None for a good one.

    `user_inputs` are what an attacker would try first (the e-mail address, the name): zxcvbn counts a
    password built from them as weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"A password has at most {MAX_PASSWORD_LENGTH} characters; this one has {len(password)}."
    from zxcvbn import zxcvbn

    user_inputs = list(user_inputs)
    inputs = _context_words(user_inputs)
    estimate = zxcvbn(password[:STRENGTH_PREFIX], user_inputs=inputs, max_length=STRENGTH_PREFIX)
    if estimate["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = estimate["feedback"]
    lowered = password.lower()
    hints = [feedback["warning"]] if feedback["warning"] else []
    if any(len(word) >= 3 and word in lowered for word in _own_words(user_inputs)):
        hints.append("It contains your e-mail address or name.")
    hints += feedback["suggestions"]
    return ("This password is too easy to guess. " + " ".join(hints)
            + " A few unrelated words, or a password manager's random password, make a strong one.")


def check_password(password: str, *, user_inputs: Iterable[str | None] = ()) -> None:
    """InputError (with `password_problem`'s advice) unless the password is strong enough."""
    if problem := password_problem(password, user_inputs=user_inputs):
        raise InputError(problem)


def hash_password(password: str, *, user_inputs: Iterable[str | None] = ()) -> str:
    """An Argon2id hash of the password; InputError if it is too weak or too long (see `password_problem`)."""
    check_password(password, user_inputs=user_inputs)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches. Without a hash (an unknown account, a user without password) a dummy
    hash is verified, so the answer takes as long as for a real account."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False  # never set (hash_password refuses it), and hashing it would cost time
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("a password nobody has: it only makes unknown accounts cost a hash")


def _context_words(user_inputs: Iterable[str | None]) -> list[str]:
    """The inputs and their parts (an address's local part and domain words, a name's words), lower-cased."""
    words: list[str] = []
    for value in user_inputs:
        if value:
            lowered = value.strip().lower()
            words += [lowered, *(part for part in re.split(r"[\s@._+-]+", lowered) if len(part) >= 3)]
    return list(dict.fromkeys(words))


def _own_words(user_inputs: Iterable[str | None]) -> list[str]:
    """What a password should not contain: each input, an address's local part, a name's words."""
    words: list[str] = []
    for value in user_inputs:
        if value:
            lowered = value.strip().lower()
            words += [lowered, lowered.partition("@")[0], *lowered.split()] if "@" in lowered else lowered.split()
    return words
