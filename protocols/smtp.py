"""Talking SMTP to the configured relay, and saying whether a failure is worth
another try.

The mailer needs one decision from every failed send: retry later, or give up
on this message. A 5xx answer to MAIL, RCPT or DATA is about the message and
will not change; everything else (4xx, dropped connections, timeouts, and
also bad credentials or certificates, which are about our configuration and
get fixed by an operator) is temporary, so no email is lost to a typo in
RATELINE_SMTP_URL.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib

Security = Literal["starttls", "tls", "none"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


class SmtpConfigError(ValueError):
    """The SMTP URL cannot be understood."""


class SmtpError(Exception):
    """A send failed; `code` is the server's reply code when there was one."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SmtpTemporaryError(SmtpError):
    """Try again later: the server, the network or our configuration is at fault."""


class SmtpPermanentError(SmtpError):
    """The server refused this message for good (5xx)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0, ca_file: str | None = None) -> SmtpConfig:
        """Parse `smtp+starttls://user:pass@host:587` and friends.

        User and password are percent-decoded, so a password with `@` or `:`
        can be written as `%40` or `%3A`.
        """
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            known = ", ".join(f"{s}://" for s in _SCHEMES)
            raise SmtpConfigError(f"unknown SMTP scheme {parts.scheme!r}; use {known}")
        if not parts.hostname:
            raise SmtpConfigError("the SMTP URL names no host")
        security, default_port = _SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise SmtpConfigError(f"the SMTP URL has a bad port: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            ca_file=ca_file,
        )

    def describe(self) -> str:
        """Where mail goes, without the credentials, for logs."""
        return f"{self.security}://{self.host}:{self.port}"


class SmtpSession:
    """One open, authenticated connection; send messages one at a time."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    @property
    def connected(self) -> bool:
        return self._client.is_connected

    async def send(self, message: EmailMessage) -> None:
        if not self._client.is_connected:
            raise SmtpTemporaryError("the SMTP connection was closed")
        try:
            errors, _ = await self._client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _from_codes([r.code for r in exc.recipients], _refusals(exc)) from None
        except aiosmtplib.SMTPException as exc:
            raise classify(exc) from None
        except (OSError, TimeoutError) as exc:
            raise SmtpTemporaryError(f"connection failed: {exc}") from None
        if errors:
            codes = [response.code for response in errors.values()]
            detail = "; ".join(f"{r}: {e.code} {e.message}" for r, e in errors.items())
            raise _from_codes(codes, f"recipient refused: {detail}")


class SmtpSender:
    """Opens sessions to the relay described by an `SmtpConfig`."""

    def __init__(self, config: SmtpConfig, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        if tls_context is None and config.security != "none":
            tls_context = ssl.create_default_context(cafile=config.ca_file)
        self._tls_context = tls_context

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            timeout=c.timeout,
            use_tls=c.security == "tls",
            start_tls=c.security == "starttls",
            tls_context=self._tls_context if c.security != "none" else None,
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SmtpSession]:
        """Connect, upgrade to TLS and log in; raises SmtpTemporaryError when
        any of that fails, because none of it is the message's fault."""
        client = self._client()
        try:
            await client.connect()
        except aiosmtplib.SMTPException as exc:
            client.close()
            reason = classify(exc).reason
            raise SmtpTemporaryError(f"cannot open an SMTP session: {reason}") from None
        except (OSError, TimeoutError) as exc:
            client.close()
            raise SmtpTemporaryError(f"cannot reach {self.config.describe()}: {exc}") from None
        try:
            yield SmtpSession(client)
        except BaseException:
            client.close()  # mid-conversation: a polite QUIT could hang
            raise
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()


def classify(exc: aiosmtplib.SMTPException) -> SmtpError:
    """Temporary or permanent, by the rules in this module's docstring."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SmtpTemporaryError(f"authentication failed: {exc.code} {exc.message}", exc.code)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
        exc, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPHeloError
    ):
        return _from_codes([exc.code], f"{exc.code} {exc.message}")
    return SmtpTemporaryError(str(exc) or type(exc).__name__)


def _from_codes(codes: list[int], reason: str) -> SmtpError:
    code = codes[0] if codes else None
    if codes and all(500 <= c < 600 for c in codes):
        return SmtpPermanentError(reason, code)
    return SmtpTemporaryError(reason, code)


def _refusals(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return "recipient refused: " + "; ".join(
        f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients
    )
