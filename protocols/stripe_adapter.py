"""Stripe through the official library's async methods, on the server loop.

Answers come back as plain dicts (the library's objects turned inside out),
so the payment actor reads Stripe's documented JSON and nothing else. Every
call that creates something carries an idempotency key derived from our own
row, so a retry after a lost answer finds the object made the first time.
Webhook signatures are checked here too, with the library's verification
plus a check it lacks: a timestamp too far in the future.
"""

from __future__ import annotations

import time
from typing import Any

import stripe

TOLERANCE_SECONDS = 300


class StripeUnavailable(Exception):
    """Stripe could not be reached or answered with a server error."""


class StripeRefused(Exception):
    """Stripe refused the request; `code` and `decline_code` say why, and
    `missing` that an object it names (such as a PaymentMethod) does not exist."""

    def __init__(
        self, message: str, code: str | None, decline_code: str | None, *, missing: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.missing = missing


class BadSignature(Exception):
    """A webhook whose signature is wrong, missing or outside the tolerance."""


def verify_webhook(
    payload: bytes, header: str | None, secret: str, now: float | None = None
) -> None:
    """Raise BadSignature unless `header` signs `payload` within the tolerance."""
    if not header:
        raise BadSignature("the Stripe-Signature header is missing")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), header, secret, tolerance=TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise BadSignature(str(exc).split("\n")[0]) from None
    stamps = [p[2:] for p in header.split(",") if p.startswith("t=")]
    issued = int(stamps[0]) if stamps and stamps[0].isdigit() else 0
    now = time.time() if now is None else now
    if issued < now - TOLERANCE_SECONDS:
        raise BadSignature("the signature's timestamp is too old")
    if issued > now + TOLERANCE_SECONDS:
        raise BadSignature("the signature's timestamp is in the future")


def sign_webhook(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload` (tests and benchmarks send their own events)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(
        f"{stamp}.{payload.decode('utf-8')}", secret
    )
    return f"t={stamp},v1={signature}"


class StripeGateway:
    """The few Stripe calls payments need. Create and close it on the server loop."""

    def __init__(self, secret_key: str, api_base: str, *, timeout: float = 20.0) -> None:
        self._http = stripe.AIOHTTPClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")},
            http_client=self._http,
            max_network_retries=1,
        )
        self._v1 = self._client.v1

    async def close(self) -> None:
        await self._http.close_async()

    async def create_customer(self, *, email: str, user_id: str) -> dict[str, Any]:
        return await _call(
            self._v1.customers.create_async,
            {"email": email, "metadata": {"rateline_user_id": user_id}},
            {"idempotency_key": f"customer-{user_id}"},
        )

    async def attach_payment_method(self, payment_method: str, customer: str) -> None:
        await _call(self._v1.payment_methods.attach_async, payment_method, {"customer": customer})
        await _call(
            self._v1.customers.update_async,
            customer,
            {"invoice_settings": {"default_payment_method": payment_method}},
        )

    async def ensure_plan(
        self, *, plan_id: str, name: str, amount: int, currency: str, interval: str
    ) -> None:
        """Stripe's Plan for one of ours, made on first use."""
        try:
            await self._v1.plans.retrieve_async(plan_id)
            return
        except stripe.InvalidRequestError as exc:
            if exc.http_status != 404:
                raise _translate(exc) from None
        except stripe.StripeError as exc:
            raise _translate(exc) from None
        await _call(
            self._v1.plans.create_async,
            {
                "id": plan_id,
                "amount": amount,
                "currency": currency,
                "interval": interval,
                "product": {"name": name},
            },
            {"idempotency_key": f"plan-{plan_id}-{amount}"},
        )

    async def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        payment_method: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "metadata": metadata,
        }
        if payment_method is not None:
            params["payment_method"] = payment_method
        return await _call(
            self._v1.payment_intents.create_async, params, {"idempotency_key": idempotency_key}
        )

    async def create_setup_intent(self) -> dict[str, Any]:
        """A SetupIntent the browser confirms with the card, which makes a
        PaymentMethod for payments to attach and charge."""
        return await _call(
            self._v1.setup_intents.create_async,
            {"usage": "off_session", "payment_method_types": ["card"]},
        )

    async def create_subscription(
        self, *, customer: str, plan_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> dict[str, Any]:
        """A subscription left incomplete until its first invoice is paid."""
        return await _call(
            self._v1.subscriptions.create_async,
            {
                "customer": customer,
                "items": [{"plan": plan_id}],
                "payment_behavior": "allow_incomplete",
                "metadata": metadata,
                "expand": ["latest_invoice.payment_intent"],
            },
            {"idempotency_key": idempotency_key},
        )

    async def payment_intent(self, intent_id: str) -> dict[str, Any]:
        return await _call(self._v1.payment_intents.retrieve_async, intent_id)

    async def payment_method(self, payment_method_id: str) -> dict[str, Any]:
        return await _call(self._v1.payment_methods.retrieve_async, payment_method_id)

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        return await _call(self._v1.invoices.retrieve_async, invoice_id)

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        return await _call(self._v1.subscriptions.retrieve_async, subscription_id)

    async def cancel_at_period_end(self, subscription_id: str) -> dict[str, Any]:
        return await _call(
            self._v1.subscriptions.update_async, subscription_id, {"cancel_at_period_end": True}
        )

    async def refund(self, intent_id: str, idempotency_key: str) -> dict[str, Any]:
        return await _call(
            self._v1.refunds.create_async,
            {"payment_intent": intent_id},
            {"idempotency_key": idempotency_key},
        )

    async def recent_events(self, *, pages: int = 5) -> list[dict[str, Any]]:
        """Stripe's newest events, newest first, up to `pages` pages of 100."""
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        for _ in range(pages):
            page = await _call(self._v1.events.list_async, params)
            data = page.get("data", [])
            events.extend(data)
            if not page.get("has_more") or not data:
                break
            params = {"limit": 100, "starting_after": data[-1]["id"]}
        return events


async def _call(method: Any, *args: Any) -> dict[str, Any]:
    try:
        result = await method(*args)
    except stripe.StripeError as exc:
        raise _translate(exc) from None
    return dict(result.to_dict(recursive=True))


def _translate(exc: stripe.StripeError) -> Exception:
    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 500) >= 500:
        return StripeUnavailable(type(exc).__name__)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return StripeUnavailable("Stripe refused our API key")
    error = exc.error
    code = getattr(error, "code", None) if error is not None else None
    return StripeRefused(
        exc.user_message or str(exc),
        code,
        getattr(error, "decline_code", None) if error is not None else None,
        missing=exc.http_status == 404 or code == "resource_missing",
    )
