"""PAPERSCOPE_SMTP_SECURITY against real servers on loopback (aiosmtpd with a certificate made by the test):
STARTTLS and TLS from the first byte deliver the digest, verified against PAPERSCOPE_SMTP_CA_FILE; a mode
that does not fit the server, or a certificate nobody vouches for, stops the run with a message naming the
setting to change (docs/reference.md, "Digests")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.digest import send_digests
from paperscope.errors import ConfigError
from paperscope.store import open_store
from paperscope.store.digests import OutboxMessage
from tests.test_digest_delivery import populate, settings_for
from tests.test_digest_support import Certificate, certificate, smtp_server

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

USER = "ada@example.org"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return certificate(tmp_path_factory.mktemp("tls"))


def tls_settings(tmp_path: Path, port: int, **changes: object) -> Settings:
    return settings_for(f"sqlite:///{tmp_path / 'tls.db'}", port, smtp_retries=0, **changes)


def check_digest(message: object) -> None:
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    assert message["To"] == USER and message["Subject"].startswith("paperscope: ")
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["List-Unsubscribe"].startswith("<http") and message["List-Unsubscribe-Post"]
    html = message.get_body(("html",))
    assert html is not None and "/papers/2601." in html.get_content()


def stopped_run(settings: Settings, match: str) -> OutboxMessage:
    """Send USER's digest with `settings`: the run stops with a ConfigError matching `match`, and the digest
    stays queued (its one outbox message is returned)."""
    with open_store(settings.database_url) as store:
        populate(store, settings, [USER])
        with pytest.raises(ConfigError, match=match):
            send_digests(store, settings, sleep=lambda _: None)
        [message] = store.digests.outbox_messages()
    assert message.state == "pending"
    return message


def test_starttls_upgrades_the_connection_and_delivers(tmp_path: Path, cert: Certificate) -> None:
    with smtp_server(starttls=cert) as (inbox, port):
        settings = tls_settings(tmp_path, port)
        with open_store(settings.database_url) as store:
            populate(store, settings, [USER])
        env = {"PAPERSCOPE_DATABASE_URL": settings.database_url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing",
               "PAPERSCOPE_SMTP_HOST": "127.0.0.1", "PAPERSCOPE_SMTP_PORT": str(port),
               "PAPERSCOPE_SMTP_SECURITY": "starttls", "PAPERSCOPE_SMTP_CA_FILE": str(cert.ca_file),
               "PAPERSCOPE_SECRET_KEY": settings.secret_key}
        result = CliRunner(env=env).invoke(main, ["digest", "send"])
        assert result.exit_code == 0, result.output
        assert "sent 1, to retry later 0, failed 0" in result.output
    [message] = inbox.messages
    check_digest(message)
    assert inbox.tls_versions[0] in {"TLSv1.2", "TLSv1.3"}


def test_tls_from_the_first_byte_delivers(tmp_path: Path, cert: Certificate) -> None:
    with smtp_server(implicit_tls=cert) as (inbox, port):
        settings = tls_settings(tmp_path, port, smtp_security="tls", smtp_ca_file=str(cert.ca_file))
        with open_store(settings.database_url) as store:
            populate(store, settings, [USER])
            report = send_digests(store, settings)
            [stored] = store.digests.outbox_messages()
    assert report.delivery.sent == [stored.id] and stored.state == "sent"
    [message] = inbox.messages
    check_digest(message)
    assert inbox.tls_versions[0] in {"TLSv1.2", "TLSv1.3"}


def test_starttls_against_a_server_that_does_not_offer_it_names_the_setting(tmp_path: Path) -> None:
    with smtp_server() as (inbox, port):
        message = stopped_run(tls_settings(tmp_path, port, smtp_security="starttls"),
                              r"does not offer STARTTLS.*PAPERSCOPE_SMTP_SECURITY=starttls")
        assert "STARTTLS" in (message.last_error or "")
    assert inbox.messages == []  # never sent in plain text instead


def test_tls_against_a_plain_server_names_the_setting(tmp_path: Path) -> None:
    with smtp_server() as (inbox, port):
        stopped_run(tls_settings(tmp_path, port, smtp_security="tls"), r"No TLS session.*use starttls .* or none")
    assert inbox.messages == []


def test_a_certificate_nobody_vouches_for_is_refused_not_ignored(tmp_path: Path, cert: Certificate) -> None:
    with smtp_server(starttls=cert) as (inbox, port):
        stopped_run(tls_settings(tmp_path, port, smtp_security="starttls"),  # no PAPERSCOPE_SMTP_CA_FILE
                    r"not trusted .*PAPERSCOPE_SMTP_CA_FILE")
    assert inbox.messages == []


def test_an_unreadable_ca_file_is_named(tmp_path: Path, cert: Certificate) -> None:
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate\n")
    with smtp_server(starttls=cert) as (inbox, port):
        stopped_run(tls_settings(tmp_path, port, smtp_security="starttls", smtp_ca_file=str(not_pem)),
                    r"PAPERSCOPE_SMTP_CA_FILE=.*ca.txt cannot be read")
    assert inbox.messages == []


def test_a_plain_client_at_a_tls_port_times_out_with_a_hint(tmp_path: Path, cert: Certificate) -> None:
    with smtp_server(implicit_tls=cert) as (inbox, port):
        settings = tls_settings(tmp_path, port, smtp_timeout_seconds=0.5)  # security none
        with open_store(settings.database_url) as store:
            populate(store, settings, [USER])
            report = send_digests(store, settings, sleep=lambda _: None)
            [message] = store.digests.outbox_messages()
    assert report.delivery.stopped is not None and "PAPERSCOPE_SMTP_SECURITY=tls" in report.delivery.stopped
    assert message.state == "pending" and inbox.messages == []
