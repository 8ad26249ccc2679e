"""A real SMTP server for the digest tests: aiosmtpd on loopback, recording what it accepts.

With a certificate (`certificate()` makes one, signed by a certificate authority made for the test), the
server offers STARTTLS or speaks TLS from the first byte. The handler can be told to answer the next
messages with a given reply (a 4xx or 5xx), or to stall after N accepted messages (it then holds the next
DATA without answering until released, and never records a stalled message: the server did not accept it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler: the messages it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.tls_versions: list[str | None] = []  # per accepted message: the TLS version, None in plain text
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
        tls = server.transport.get_extra_info("ssl_object") if server.transport is not None else None
        with self.lock:
            self.messages.append(message)
            self.tls_versions.append(tls.version() if tls is not None else None)
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


@dataclass(frozen=True)
class Certificate:
    """A server certificate for 127.0.0.1 and localhost, and the test's certificate authority that signed it."""

    ca_file: Path  # PEM of the certificate authority: what a client is told to trust
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def certificate(folder: Path) -> Certificate:
    """Make a certificate authority and a server certificate it signs (cryptography), as PEM files in `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("paperscope test CA")).issuer_name(name("paperscope test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    files = Certificate(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return files


@contextmanager
def smtp_server(authenticator: Any = None, *, starttls: Certificate | None = None,
                implicit_tls: Certificate | None = None) -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd server on 127.0.0.1 and a free port, stopped afterwards; with `authenticator`, it
    requires AUTH (over plain text: loopback only); with `starttls`, it offers and requires STARTTLS with that
    certificate; with `implicit_tls`, it speaks TLS from the first byte."""
    inbox = Inbox()
    port = free_port()
    extra: dict[str, Any] = {}
    if authenticator is not None:
        extra = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    if starttls is not None:
        extra |= {"tls_context": starttls.server_context(), "require_starttls": True}
    if implicit_tls is not None:
        extra |= {"ssl_context": implicit_tls.server_context()}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.released.set()
        controller.stop()
