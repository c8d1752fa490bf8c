"""Request and response types of /api/auth/* and the dev mailbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from protocols.api.payments import Subscription

Role = Literal["consumer", "broker", "admin"]

EmailField = Annotated[
    str,
    Meta(min_length=3, max_length=320, description="Email address", examples=["ada@example.com"]),
]
PasswordField = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=256,
        description="At least 12 characters and not easy to guess",
    ),
]
TokenField = Annotated[str, Meta(min_length=1, max_length=128, description="Token from the email")]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: EmailField
    password: PasswordField
    name: Annotated[str, Meta(min_length=1, max_length=200, description="Display name")]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: EmailField
    password: PasswordField


class EmailRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Resending a verification link, or asking for a password reset link."""

    email: EmailField


class ResetRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: TokenField
    password: PasswordField


class RoleChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role


class VerifyQuery(msgspec.Struct, kw_only=True):
    token: TokenField


class Accepted(msgspec.Struct):
    """The request was taken; what happens next arrives by email, if at all."""

    status: Literal["verification_sent", "email_sent", "accepted"]


class Done(msgspec.Struct):
    status: Literal["verified", "password_changed", "signed_out", "session_ended"]


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    email_verified: bool
    created_at: datetime
    subscription: Subscription | None = None


class LoginResponse(msgspec.Struct, kw_only=True):
    token: Annotated[str, Meta(description="Send as `Authorization: Bearer <token>`")]
    expires_at: Annotated[
        datetime, Meta(description="The latest moment the session ends (idle ends it sooner)")
    ]
    user: User


class Session(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class MailboxItem(msgspec.Struct, kw_only=True):
    id: int
    to: str
    subject: str
    text: str
    html: str
    status: str
    created_at: datetime
