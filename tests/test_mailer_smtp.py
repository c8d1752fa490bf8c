"""The SMTP adapter against real aiosmtpd servers: plain, STARTTLS with AUTH,
and implicit TLS, with certificates from a throwaway CA.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import trustme

from protocols.smtp import (
    SmtpConfig,
    SmtpConfigError,
    SmtpPermanentError,
    SmtpSender,
    SmtpTemporaryError,
)
from tests.support.net import free_port
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def plain_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer("plain").start()
    yield server
    server.stop()


@pytest.fixture
def starttls_smtp(ca: trustme.CA) -> Iterator[SmtpServer]:
    server = SmtpServer("starttls", ca=ca).start()
    yield server
    server.stop()


@pytest.fixture
def tls_smtp(ca: trustme.CA) -> Iterator[SmtpServer]:
    server = SmtpServer("tls", ca=ca).start()
    yield server
    server.stop()


def sample(to: str = "ada@example.com", subject: str = "Hello") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Rateline <no-reply@rateline.test>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<fixed-id@rateline.test>"
    message.set_content("plain body")
    message.add_alternative("<p>html body</p>", subtype="html")
    return message


# --- the URL ---------------------------------------------------------------------


def test_urls_name_security_port_and_decoded_credentials() -> None:
    c = SmtpConfig.from_url("smtp+starttls://us%40er:p%3Ass@mail.example.com")
    assert (c.security, c.host, c.port, c.username, c.password) == (
        "starttls",
        "mail.example.com",
        587,
        "us@er",
        "p:ss",
    )
    assert SmtpConfig.from_url("smtps://relay:2465").security == "tls"
    assert SmtpConfig.from_url("smtps://relay").port == 465
    assert SmtpConfig.from_url("smtp://relay").port == 25
    assert "p:ss" not in c.describe()


@pytest.mark.parametrize("url", ["http://relay", "smtp://", "smtp://relay:notaport"])
def test_bad_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(SmtpConfigError):
        SmtpConfig.from_url(url)


# --- sending ---------------------------------------------------------------------


async def test_plain_server_receives_the_message(plain_smtp: SmtpServer) -> None:
    sender = SmtpSender(SmtpConfig.from_url(plain_smtp.url(), timeout=5))
    async with sender.session() as smtp:
        await smtp.send(sample())
    [got] = plain_smtp.handler.received()
    assert got["Subject"] == "Hello"
    assert got["Message-ID"] == "<fixed-id@rateline.test>"
    assert got.get_body(("plain",)).get_content().strip() == "plain body"  # type: ignore[union-attr]


async def test_starttls_with_auth_and_a_private_ca(starttls_smtp: SmtpServer, ca_file: str) -> None:
    config = SmtpConfig.from_url(starttls_smtp.url(), timeout=5, ca_file=ca_file)
    async with SmtpSender(config).session() as smtp:
        await smtp.send(sample(subject="over starttls"))
    assert [m["Subject"] for m in starttls_smtp.handler.received()] == ["over starttls"]


async def test_implicit_tls_with_auth(tls_smtp: SmtpServer, ca_file: str) -> None:
    config = SmtpConfig.from_url(tls_smtp.url(), timeout=5, ca_file=ca_file)
    async with SmtpSender(config).session() as smtp:
        await smtp.send(sample(subject="over tls"))
    assert [m["Subject"] for m in tls_smtp.handler.received()] == ["over tls"]


async def test_wrong_password_is_temporary_so_mail_waits_for_a_fix(
    starttls_smtp: SmtpServer, ca_file: str
) -> None:
    config = SmtpConfig.from_url(starttls_smtp.url(password="wrong"), timeout=5, ca_file=ca_file)
    with pytest.raises(SmtpTemporaryError, match="authentication"):
        async with SmtpSender(config).session():
            pass


async def test_untrusted_certificate_is_temporary(starttls_smtp: SmtpServer) -> None:
    config = SmtpConfig.from_url(starttls_smtp.url(), timeout=5)
    with pytest.raises(SmtpTemporaryError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        async with SmtpSender(config).session():
            pass


async def test_server_down_is_temporary() -> None:
    config = SmtpConfig.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(SmtpTemporaryError):
        async with SmtpSender(config).session():
            pass


async def test_550_recipient_is_permanent_and_451_temporary(plain_smtp: SmtpServer) -> None:
    plain_smtp.handler.refuse = {
        "gone@example.com": "550 5.1.1 No such user",
        "busy@example.com": "451 4.3.0 Try again later",
    }
    async with SmtpSender(SmtpConfig.from_url(plain_smtp.url(), timeout=5)).session() as smtp:
        with pytest.raises(SmtpPermanentError) as refused:
            await smtp.send(sample(to="gone@example.com"))
        assert refused.value.code == 550
        assert "No such user" in refused.value.reason
        with pytest.raises(SmtpTemporaryError) as deferred:
            await smtp.send(sample(to="busy@example.com"))
        assert deferred.value.code == 451
        await smtp.send(sample(to="ok@example.com"))
    assert [str(m["To"]) for m in plain_smtp.handler.received()] == ["ok@example.com"]


async def test_rejected_data_is_permanent(plain_smtp: SmtpServer) -> None:
    plain_smtp.handler.data_reply = "554 5.6.0 Message rejected"
    async with SmtpSender(SmtpConfig.from_url(plain_smtp.url(), timeout=5)).session() as smtp:
        with pytest.raises(SmtpPermanentError, match="rejected"):
            await smtp.send(sample())
