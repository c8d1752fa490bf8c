"""Request and response types of leads, brokers and notifications.

Money travels as decimal strings (inputs accept strings or numbers), times as
ISO 8601 UTC. Each amount's range is declared once with `Bounds` (the
validator checks it and the OpenAPI document states it); `check_lead` holds
the rules no schema can state (fields compared with each other, a dialable
phone number), answered as one 422 of type BROKEN_RULE naming every field.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
import phonenumbers
from msgspec import Meta

from protocols.api.decimals import Bounds, bounds_errors
from protocols.api.mortgage import AMOUNT, LOAN
from protocols.problems import BROKEN_RULE, FieldError, Problem

Money = Annotated[Decimal, Meta(description="US dollars, as a decimal string")]
PRICE = LOAN
DOWN_PAYMENT = AMOUNT
LOAN_BALANCE = LOAN
Price = Annotated[Decimal, PRICE.meta("The home's price in dollars."), PRICE]
DownPayment = Annotated[Decimal, DOWN_PAYMENT.meta("Dollars, below the price."), DOWN_PAYMENT]
LoanBalance = Annotated[Decimal, LOAN_BALANCE.meta("Dollars owed today."), LOAN_BALANCE]
# What check_lead asks of an address, stated for the document too.
EMAIL_PATTERN = r"@[^@]{3,}$"
UsState = Literal[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
]  # fmt: skip
Purpose = Literal["purchase", "refinance"]
Timeline = Literal["now", "3_months", "6_months", "later"]
LeadStatus = Literal[
    "received", "offered", "accepted", "contacted", "won", "lost", "unassigned", "opted_out"
]
Tier = Literal["hot", "warm", "cold"]
# The IANA zones this server knows: the document lists exactly what it accepts.
TIME_ZONES = sorted(zoneinfo.available_timezones())
ClockTime = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:00"])]


class Consent(msgspec.Struct, forbid_unknown_fields=True):
    """The disclosure the borrower agreed to, exactly as shown."""

    agreed: Annotated[
        bool,
        Meta(
            description="Must be true: we contact a borrower only with their consent.",
            extra_json_schema={"const": True},
        ),
    ]
    text: Annotated[str, Meta(min_length=1, max_length=10_000)]
    version: Annotated[str, Meta(min_length=1, max_length=100)]


class LeadRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    email: Annotated[str, Meta(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
    phone: Annotated[str, Meta(min_length=3, max_length=40)]
    state: UsState
    purpose: Purpose
    price: Price
    down_payment: Annotated[
        DownPayment | None, Meta(description="Required for a purchase, absent for a refinance.")
    ] = None
    loan_balance: Annotated[
        LoanBalance | None, Meta(description="Required for a refinance, absent for a purchase.")
    ] = None
    credit_score: Annotated[int, Meta(ge=300, le=850)] | None = None
    timeline: Timeline
    message: Annotated[str, Meta(max_length=2000)] = ""
    calculation_id: uuid.UUID | None = None
    source: Annotated[str, Meta(max_length=100)] | None = None
    utm: dict[Annotated[str, Meta(max_length=40)], Annotated[str, Meta(max_length=200)]] | None = (
        None
    )
    consent: Consent

    @property
    def loan_amount(self) -> Decimal:
        if self.purpose == "purchase":
            return self.price - (self.down_payment or Decimal(0))
        return self.loan_balance or Decimal(0)


def e164(phone: str) -> str | None:
    """The number in E.164 (+14155550123), US numbers without a country code
    accepted; None when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def check_lead(lead: LeadRequest) -> None:
    """The rules no schema states; raises one 422 naming each field to fix.
    Its type is BROKEN_RULE unless a constraint the document states is broken
    too (callers that did not come through the HTTP decoder)."""
    stated = bounds_errors(lead, LeadRequest)
    rules: list[FieldError] = []

    def bad(pointer: str, detail: str) -> None:
        rules.append(FieldError(pointer=pointer, detail=detail))

    if not lead.consent.agreed:
        stated.append(
            FieldError(
                pointer="/consent/agreed",
                detail="must be true: we contact a borrower only with their consent",
            )
        )
    if not re.search(EMAIL_PATTERN, lead.email):
        stated.append(FieldError(pointer="/email", detail="is not an email address"))
    if e164(lead.phone) is None:
        bad("/phone", "is not a valid phone number; give a US number or one with +country code")
    if lead.purpose == "purchase":
        if lead.down_payment is None:
            bad("/down_payment", "is required for a purchase")
        elif (
            _fits(lead.down_payment, DOWN_PAYMENT)
            and _fits(lead.price, PRICE)
            and lead.down_payment >= lead.price
        ):
            bad("/down_payment", f"must be below the price ({lead.price})")
        if lead.loan_balance is not None:
            bad("/loan_balance", "applies to a refinance; remove it")
    else:
        if lead.loan_balance is None:
            bad("/loan_balance", "is required for a refinance")
        if lead.down_payment is not None:
            bad("/down_payment", "applies to a purchase; remove it")
    errors = stated + [e for e in rules if e.pointer not in {s.pointer for s in stated}]
    if errors:
        raise Problem(
            422,
            "Invalid input",
            "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
            errors=errors,
            type="about:blank" if stated else BROKEN_RULE,
        )


def _fits(value: Decimal, bounds: Bounds) -> bool:
    return bounds.problem(value) is None


class LeadReceipt(msgspec.Struct):
    id: uuid.UUID
    status: Literal["received"] = "received"


class LeadView(msgspec.Struct, kw_only=True):
    """A lead as its reader may see it: before a broker accepts, the contact
    details (full name, email, phone, message) are null."""

    id: uuid.UUID
    status: LeadStatus
    first_name: str
    state: str
    purpose: Purpose
    loan_amount: Money
    score: int | None
    tier: Tier | None
    reasons: list[str]
    received_at: datetime
    timeline: Timeline
    credit_score: int | None
    offer_deadline: datetime | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    message: str | None = None
    price: Money | None = None
    broker_id: uuid.UUID | None = None
    accepted_at: datetime | None = None


class LeadsQuery(msgspec.Struct, forbid_unknown_fields=True):
    status: LeadStatus | None = None
    state: UsState | None = None
    tier: Tier | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["contacted", "won", "lost"]


class Done(msgspec.Struct):
    id: uuid.UUID
    status: LeadStatus


class OptOutRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: str | None = None


# ---- brokers -------------------------------------------------------------------


class License(msgspec.Struct, forbid_unknown_fields=True):
    state: UsState
    expires: date


class WorkingHours(msgspec.Struct, forbid_unknown_fields=True):
    start: ClockTime
    end: Annotated[ClockTime, Meta(description="Later than start.")]
    days: Annotated[list[Annotated[int, Meta(ge=1, le=7)]], Meta(max_length=7)]


class BrokerSelfUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a broker edits of their own profile (licenses are set by an admin)."""

    nmls_id: Annotated[str, Meta(pattern=r"^\d{1,12}$")]
    capacity: Annotated[int, Meta(ge=0, le=1000)]
    timezone: Annotated[
        str,
        Meta(
            max_length=64,
            examples=["America/Los_Angeles"],
            extra_json_schema={"enum": TIME_ZONES},
        ),
    ]
    hours: WorkingHours
    active: bool = True


class BrokerProfile(BrokerSelfUpdate, kw_only=True):
    licenses: list[License]


class BrokerView(BrokerProfile, kw_only=True):
    id: uuid.UUID
    name: str
    email: str
    open_leads: int


# ---- notifications -------------------------------------------------------------

NotificationKind = Literal[
    "lead_offered", "lead_offer_expired", "lead_assigned", "lead_opted_out", "leads_unassigned"
]


class NotificationView(msgspec.Struct):
    id: int
    kind: NotificationKind
    channel: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationsQuery(msgspec.Struct, forbid_unknown_fields=True):
    unread: bool = False
    limit: Annotated[int, Meta(ge=1, le=500)] = 100
