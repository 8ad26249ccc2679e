"""A real SMTP server for the digest tests: aiosmtpd on loopback, recording what it accepts.

The handler can be told to answer the next messages with a given reply (a 4xx or 5xx), or to stall
after N accepted messages (it then holds the next DATA without answering until released, and never
records a stalled message: the server did not accept it).
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler: the messages it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.replies: list[str] = []  # forced replies to the next DATA commands, e.g. "451 4.3.0 busy"
        self.rcpt_replies: list[str] = []  # forced replies to the next RCPT TO commands
        self.data_calls = 0
        self.stall_after: int | None = None
        self.released = threading.Event()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        with self.lock:
            if self.rcpt_replies:
                return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.data_calls += 1
            if self.replies:
                return self.replies.pop(0)
            stall = self.stall_after is not None and len(self.messages) >= self.stall_after
        if stall:
            while not self.released.is_set():
                await asyncio.sleep(0.02)
            return "421 4.3.2 closing"  # the stalled client is gone; nothing was accepted
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for_data_calls(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.data_calls < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the SMTP server saw {self.data_calls} messages, expected {count}")
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def password_check(user: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting one user name and password (AUTH PLAIN / LOGIN)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextmanager
def smtp_server(authenticator: Any = None) -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd server on 127.0.0.1 and a free port, stopped afterwards; with `authenticator`, it
    requires AUTH (over plain text: loopback only)."""
    inbox = Inbox()
    port = free_port()
    extra: dict[str, Any] = {}
    if authenticator is not None:
        extra = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.released.set()
        controller.stop()
