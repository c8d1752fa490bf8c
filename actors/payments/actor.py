"""The payment actor: one message at a time, its I/O run on the server loop.

A timer tells it to reconcile with Stripe every few minutes; routes ask it
for everything else. Stripe errors reach the caller as problem documents.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from actors.payments.checkout import Checkout
from actors.payments.ledger import PaymentLedger, Started
from actors.payments.reconcile import Reconciled, apply_stored, reconcile
from actors.runtime import ActorContext, RatelineActor
from protocols.stripe_adapter import StripeGateway
from storage.payments import PaymentRow, SubscriptionRow

log = logging.getLogger(__name__)

NAME = "payments"
IO_TIMEOUT = 60.0


@dataclass(frozen=True)
class PaymentsConfig:
    secret_key: str
    api_base: str
    reconcile_seconds: float

    @classmethod
    def from_settings(cls, settings: Any) -> PaymentsConfig:
        return cls(
            secret_key=settings.stripe_secret_key,
            api_base=settings.stripe_api_base,
            reconcile_seconds=settings.payments_reconcile_seconds,
        )


@dataclass(frozen=True)
class CreatePayment:
    user_id: uuid.UUID
    email: str
    plan: str
    payment_method: str | None
    idempotency_key: str | None


@dataclass(frozen=True)
class ConfirmPayment:
    user_id: uuid.UUID
    payment_id: uuid.UUID


@dataclass(frozen=True)
class ApplyEvent:
    """A verified webhook event is stored under this id; apply it."""

    event_id: str


@dataclass(frozen=True)
class RefundPayment:
    payment_id: uuid.UUID


@dataclass(frozen=True)
class CancelSubscription:
    user_id: uuid.UUID


@dataclass(frozen=True)
class PrepareCard:
    """The browser is about to collect a card; answers a SetupIntent's client secret."""


@dataclass(frozen=True)
class Reconcile:
    """Check the books against Stripe now."""


@dataclass(frozen=True)
class Tick:
    """The timer fired: reconcile, and again in `reconcile_seconds`."""


class PaymentsActor(RatelineActor):
    def __init__(self, ctx: ActorContext, config: PaymentsConfig) -> None:
        super().__init__(ctx)
        self.config = config
        self.ledger: PaymentLedger | None = None
        self.checkout: Checkout | None = None

    def on_start(self) -> None:
        async def open_gateway() -> StripeGateway:
            return StripeGateway(self.config.secret_key, self.config.api_base)

        gateway = self.run_io(open_gateway(), timeout=10)
        self.ledger = PaymentLedger(self.ctx.deps["db"].pool, gateway)
        self.checkout = Checkout(self.ledger)
        self.tell_later(self.config.reconcile_seconds, Tick())

    def on_stop(self) -> None:
        self._close_gateway()

    def on_failure(self, *exc_info: Any) -> None:
        self._close_gateway()

    def handle(self, message: Any) -> Any:
        ledger, checkout = self.ledger, self.checkout
        assert ledger is not None and checkout is not None
        if isinstance(message, ApplyEvent):
            return self.run_io(apply_stored(ledger, message.event_id), timeout=IO_TIMEOUT)
        if isinstance(message, CreatePayment):
            started: Started = self.run_io(
                checkout.create(
                    user_id=message.user_id,
                    email=message.email,
                    plan_code=message.plan,
                    payment_method=message.payment_method,
                    idempotency_key=message.idempotency_key,
                ),
                timeout=IO_TIMEOUT,
            )
            return started
        if isinstance(message, ConfirmPayment):
            confirmed: tuple[PaymentRow, SubscriptionRow | None] = self.run_io(
                ledger.confirm(message.user_id, message.payment_id), timeout=IO_TIMEOUT
            )
            return confirmed
        if isinstance(message, RefundPayment):
            return self.run_io(ledger.refund(message.payment_id), timeout=IO_TIMEOUT)
        if isinstance(message, CancelSubscription):
            return self.run_io(ledger.cancel(message.user_id), timeout=IO_TIMEOUT)
        if isinstance(message, Tick):
            self.tell_later(self.config.reconcile_seconds, Tick())
        if isinstance(message, Reconcile | Tick):
            return self._reconcile(ledger)
        if isinstance(message, PrepareCard):
            secret: str = self.run_io(checkout.card_setup(), timeout=IO_TIMEOUT)
            return secret
        raise TypeError(f"{self.name} does not handle {message!r}")

    def _reconcile(self, ledger: PaymentLedger) -> Reconciled | None:
        try:
            result: Reconciled = self.run_io(reconcile(ledger), timeout=IO_TIMEOUT * 5)
        except Exception as exc:  # Stripe down: try again at the next tick
            log.warning("reconciliation failed", extra={"error": repr(exc)})
            return None
        return result

    def _close_gateway(self) -> None:
        loop, ledger, self.ledger = self.ctx.loop, self.ledger, None
        if ledger is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            loop.call_soon_threadsafe(lambda: loop.create_task(ledger.stripe.close()))
