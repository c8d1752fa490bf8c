"""Request and response types of /api/auth/* and the dev mailbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from protocols.api.payments import Subscription

Role = Literal["consumer", "broker", "admin"]

NO_CONTROL = "^[^\x00-\x1f\x7f]*$"  # stored as text, which cannot hold U+0000
EmailField = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=320,
        pattern=NO_CONTROL,
        description="Email address",
        examples=["ada@example.com"],
    ),
]
# An address an account can be made for: the common shape of one (a
# stricter rule than RFC 5321, which no schema could state), so anything the
# document admits is an address the server takes. The few names email
# cannot reach (.test, .invalid, ...) are refused as a broken rule.
NewEmailField = Annotated[
    str,
    Meta(
        max_length=254,
        pattern=(
            r"^[A-Za-z0-9_%+-]{1,32}(\.[A-Za-z0-9_%+-]{1,15}){0,2}"
            r"@([A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}$"
        ),
        description="Email address",
        examples=["ada@example.com"],
    ),
]
PasswordField = Annotated[str, Meta(min_length=1, max_length=256, description="Your password")]
NewPasswordField = Annotated[
    str,
    Meta(
        min_length=12,
        max_length=256,
        description="At least 12 characters and not easy to guess (judged by zxcvbn, "
        "with your address and name as known words: a guessable one is refused as a "
        "broken rule)",
    ),
]
TokenField = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        description="Token from the email; one that is spent, expired or unknown is 410 Gone",
    ),
]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: NewEmailField
    password: NewPasswordField
    name: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            pattern="^[^\x00-\x1f\x7f]*[^\\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
            description="Display name: not blank, no control characters",
        ),
    ]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: EmailField
    password: PasswordField


class EmailRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Asking for a password reset link (any address: the answer is the same)."""

    email: EmailField


class ResendRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Resending a verification link."""

    email: NewEmailField


class ResetRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: TokenField
    password: NewPasswordField


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
