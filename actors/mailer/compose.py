"""An outbox row as an RFC 5322 message.

Everything in the message is derived from the row, including the Date and
the Message-ID, so a message sent twice (a crash after the relay accepted it
but before we recorded that) is byte-for-byte the same message, and
receiving systems that de-duplicate on Message-ID show it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr


def sender_domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    domain = address.rpartition("@")[2]
    return domain or "rateline.invalid"


def message_id(message_key: uuid.UUID, mail_from: str) -> str:
    return f"<{message_key}@{sender_domain(mail_from)}>"


def compose(
    *,
    message_key: uuid.UUID,
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    created_at: datetime,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = Address(addr_spec=to)
    message["Subject"] = subject
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = message_id(message_key, mail_from)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
        message.set_boundary(f"=_{message_key.hex}")
    return message
