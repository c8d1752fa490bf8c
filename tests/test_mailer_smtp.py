"""The SMTP adapter against real aiosmtpd servers: plain, STARTTLS with AUTH,
and implicit TLS, with certificates from a throwaway CA.

The server helpers here are also used by the other mailer and auth tests.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from protocols.smtp import (
    SmtpConfig,
    SmtpConfigError,
    SmtpPermanentError,
    SmtpSender,
    SmtpTemporaryError,
)

USER, PASSWORD = "mailer", "s3cret:with@signs"

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RecordingHandler:
    """Accepts mail and keeps it; can refuse recipients or hold DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None
        self.on_data: Callable[[EmailMessage], Any] | None = None
        self.delay = 0.0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply is not None:
            return self.data_reply
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        if self.on_data is not None:
            await self.on_data(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.received()]


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: let the server answer 535 itself
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """A real SMTP server on 127.0.0.1 in its own thread."""

    def __init__(
        self,
        mode: Literal["plain", "starttls", "tls"],
        *,
        ca: trustme.CA | None = None,
        port: int | None = None,
        handler: RecordingHandler | None = None,
    ) -> None:
        self.mode = mode
        self.ca = ca
        self.port = port or free_port()
        self.handler = handler or RecordingHandler()
        self._controller: Controller | None = None

    def _server_context(self) -> ssl.SSLContext:
        assert self.ca is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self.mode == "starttls":
            options = {
                "tls_context": self._server_context(),
                "require_starttls": True,
                "auth_required": True,
                "authenticator": _authenticator,
            }
        elif self.mode == "tls":
            options = {
                "ssl_context": self._server_context(),
                "auth_required": True,
                # aiosmtpd only knows about STARTTLS; this socket is TLS already
                "auth_require_tls": False,
                "authenticator": _authenticator,
            }
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            **options,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, *, password: str = PASSWORD) -> str:
        if self.mode == "plain":
            return f"smtp://127.0.0.1:{self.port}"
        scheme = "smtp+starttls" if self.mode == "starttls" else "smtps"
        quoted = password.replace("%", "%25").replace(":", "%3A").replace("@", "%40")
        return f"{scheme}://{USER}:{quoted}@127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


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


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Block until `predicate()` holds (for checks across threads)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


async def eventually(predicate: Callable[[], Any], within: float = 10.0) -> None:
    """Wait on the loop until `predicate()` (sync or async) holds."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


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
