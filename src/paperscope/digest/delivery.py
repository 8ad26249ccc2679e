"""Deliver the outbox over SMTP, exactly once per message across crashes and restarts.

Each message is claimed before it is handed to the server (state `sending`, with the claimant's host and
process id and a lease) and marked `sent` as soon as the server accepted it. A restart finds a message
left in `sending` by a process that is gone (same host, process no longer running, or lease expired) and
sends it again: the server never acknowledged it (SMTP makes the server responsible only once it answers
250 to the message), so it was not delivered. The one window for a duplicate is between the server's
250 and our commit, a single local write.

What each SMTP failure does (docs/reference.md, "Digests"):

* connection refused or reset, timeout, a 4xx reply: temporary. Retried in the same run after
  `smtp_backoff_seconds`, doubling, up to `smtp_retries` times; then left `pending` with the error and a
  later `next_attempt_at`, for the next run. After `smtp_max_attempts` attempts in all it is `failed`.
  When the server cannot be reached at all, the run stops: the other messages stay `pending`, untouched.
* a 5xx reply (mailbox unknown, message refused): permanent. The message is `failed` at once, with the
  server's reply as `last_error`, and its papers count as unsent again.
* the server refuses our credentials (535): the run stops with a message naming the settings to fix.
* the security mode does not fit the server (STARTTLS not offered, no TLS spoken, an untrusted certificate):
  the run stops with a message naming PAPERSCOPE_SMTP_SECURITY or PAPERSCOPE_SMTP_CA_FILE.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from paperscope.config import Settings
from paperscope.errors import ConfigError, PermanentFailure, TemporaryFailure, Unreachable
from paperscope.store import Store
from paperscope.store.digests import OutboxMessage

Sleep = Callable[[float], None]


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retry_later: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, if it did


class SmtpConnection:
    """One SMTP session, opened on first use and reused for the messages of a run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.smtp_host}:{s.smtp_port}"
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds,
                                                      context=tls_context(s))
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=tls_context(s))
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ConfigError(f"The SMTP server {where} refused the credentials ({exc.smtp_code} "
                              f"{_text(exc.smtp_error)}): check PAPERSCOPE_SMTP_USER and PAPERSCOPE_SMTP_PASSWORD."
                              ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            if s.smtp_security == "starttls" and "STARTTLS" in str(exc).upper():
                raise ConfigError(f"The SMTP server {where} does not offer STARTTLS, so "
                                  "PAPERSCOPE_SMTP_SECURITY=starttls cannot secure the connection: use tls if the "
                                  "server expects TLS from the first byte (usually port 465), or none if it only "
                                  "speaks plain SMTP.") from exc
            raise ConfigError(f"The SMTP server {where} does not support what PAPERSCOPE_SMTP_SECURITY="
                              f"{s.smtp_security} or the credentials need: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}", unreachable=True) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(f"The certificate of the SMTP server {where} is not trusted ({exc.verify_message}): "
                              "if it is signed by your own certificate authority or self-signed, set "
                              "PAPERSCOPE_SMTP_CA_FILE to that certificate (PEM); check PAPERSCOPE_SMTP_HOST is "
                              "the name the certificate is for.") from exc
        except ssl.SSLError as exc:
            raise ConfigError(f"No TLS session with the SMTP server {where} ({exc.reason or exc}): with "
                              f"PAPERSCOPE_SMTP_SECURITY={s.smtp_security} the server must speak TLS "
                              + ("from the first byte (usually port 465); for a server that starts in plain text "
                                 "use starttls (usually port 587) or none." if s.smtp_security == "tls" else
                                 "after STARTTLS.")) from exc
        except (OSError, smtplib.SMTPException) as exc:
            hint = ""
            timed_out = isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)
            if timed_out and s.smtp_security != "tls":
                hint = (" (a server that expects TLS from the first byte, usually on port 465, never greets a "
                        "plain client: then set PAPERSCOPE_SMTP_SECURITY=tls)")
            raise Unreachable(f"cannot reach the SMTP server {where} ({type(exc).__name__}: {exc}){hint}") from exc
        return smtp

    def send(self, message: OutboxMessage, sender: str) -> None:
        """Hand one message to the server; raises TemporaryFailure or PermanentFailure."""
        if self.smtp is None:
            self.smtp = self._open()
        try:
            refused = self.smtp.sendmail(sender, [message.recipient], message.message.encode("utf-8"))
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            self.close()
            raise _classify_code(code, f"recipient refused: {code} {_text(reply)}") from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
            self.close()
            raise _classify_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:  # disconnected, timed out
            self.close()
            raise TemporaryFailure(f"the SMTP connection failed: {type(exc).__name__}: {exc}") from exc
        if refused:  # one recipient only, so a non-empty dict means it was refused
            code, reply = next(iter(refused.values()))
            raise _classify_code(code, f"recipient refused: {code} {_text(reply)}")

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying client context: the system's certificate authorities, and PAPERSCOPE_SMTP_CA_FILE's."""
    context = ssl.create_default_context()
    if settings.smtp_ca_file:
        try:
            context.load_verify_locations(cafile=settings.smtp_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"PAPERSCOPE_SMTP_CA_FILE={settings.smtp_ca_file} cannot be read as PEM certificates "
                              f"({exc}): point it to the certificate authority's PEM file.") from exc
    return context


def claimant_id() -> str:
    """Who is sending: host and process, so a restart on the same host can tell a dead sender."""
    return f"{socket.gethostname()}:{os.getpid()}"


def abandoned(message: OutboxMessage, now: dt.datetime) -> bool:
    """A `sending` message whose sender is gone: its lease ran out, or it was this host's process that died."""
    if message.state != "sending":
        return False
    if message.lease_until is None or message.lease_until <= now:
        return True
    host, _, pid = (message.claimed_by or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not _process_alive(int(pid))


def deliver_outbox(store: Store, settings: Settings, *, user_id: int | None = None, now: dt.datetime | None = None,
                   sleep: Sleep = time.sleep, connection: SmtpConnection | None = None) -> DeliveryReport:
    """Send every message that is due, oldest first; see the module docstring for failures."""
    report = DeliveryReport()
    smtp = connection or SmtpConnection(settings)
    me = claimant_id()
    sender = _address(settings.mail_from)
    try:
        moment = now or _now()
        for message in store.digests.deliverable(moment, user_id=user_id):
            if message.state == "sending" and not abandoned(message, moment):
                continue  # another live process is sending it
            outcome = _deliver_one(store, settings, smtp, message, me, sender, sleep, report)
            if outcome == "stop":
                break
    finally:
        smtp.close()
    return report


def _deliver_one(store: Store, settings: Settings, smtp: SmtpConnection, message: OutboxMessage, me: str,
                 sender: str, sleep: Sleep, report: DeliveryReport) -> str:
    lease = dt.timedelta(seconds=settings.smtp_timeout_seconds * 4 + 60)
    delay = settings.smtp_backoff_seconds
    current: OutboxMessage | None = message
    for attempt in range(settings.smtp_retries + 1):
        assert current is not None
        claimed = store.digests.claim(current, me, _now() + lease)
        if claimed is None:
            return "skipped"  # taken by another process meanwhile
        try:
            smtp.send(claimed, sender)
        except ConfigError as exc:  # wrong credentials or security mode: no message can go; stop the run
            store.digests.mark_retry(claimed.id, str(exc), _now())
            raise
        except PermanentFailure as exc:
            store.digests.mark_failed(claimed.id, str(exc))
            report.failed.append(claimed.id)
            report.errors.append(f"message {claimed.id} to {claimed.recipient}: {exc} (given up)")
            return "failed"
        except TemporaryFailure as exc:
            error = str(exc)
            if claimed.attempts >= settings.smtp_max_attempts:
                store.digests.mark_failed(claimed.id, error)
                report.failed.append(claimed.id)
                report.errors.append(f"message {claimed.id} to {claimed.recipient}: {error} (given up after "
                                     f"{claimed.attempts} attempts)")
                return "failed"
            store.digests.mark_retry(claimed.id, error, _now() + dt.timedelta(seconds=delay))
            if attempt == settings.smtp_retries:
                report.retry_later.append(claimed.id)
                report.errors.append(f"message {claimed.id} to {claimed.recipient}: {error} (will retry)")
                if isinstance(exc, Unreachable):
                    report.stopped = error
                    return "stop"
                return "retry"
            sleep(delay)
            delay *= 2
            current = store.digests.get_message(claimed.id)
            if current is None or current.state != "pending":
                return "skipped"
            continue
        store.digests.mark_sent(claimed.id)
        report.sent.append(claimed.id)
        return "sent"
    return "retry"


def _classify_code(code: int, text: str, *, unreachable: bool = False) -> Exception:
    if 400 <= code < 500:
        return Unreachable(text) if unreachable else TemporaryFailure(text)
    if code >= 500:
        return PermanentFailure(text)
    return TemporaryFailure(text)  # -1 and other oddities: a broken connection


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _address(mail_from: str) -> str:
    from email.utils import parseaddr

    return parseaddr(mail_from)[1] or mail_from


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    """A killed child that its parent has not reaped yet still answers kill(pid, 0); /proc says it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
