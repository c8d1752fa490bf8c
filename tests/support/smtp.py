"""A real SMTP server (aiosmtpd) on 127.0.0.1 in its own thread, recording
what it accepts: plain, STARTTLS with AUTH, or implicit TLS."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.net import free_port

USER, PASSWORD = "mailer", "s3cret:with@signs"


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
