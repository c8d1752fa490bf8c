"""Payments and subscriptions through Stripe.

The payment actor owns every state change of payments and subscriptions:
routes ask it to create, confirm, refund and cancel, and the webhook tells
it which stored event to apply. Its pure rules are in rules.py.
"""

from __future__ import annotations

from typing import Any

from actors.runtime import ChildSpec


def child_specs(settings: Any) -> list[ChildSpec]:
    """The payment actor, when Stripe is configured."""
    if not settings.stripe_secret_key:
        return []
    from actors.payments.actor import NAME, PaymentsActor, PaymentsConfig

    return [
        ChildSpec(
            name=NAME,
            factory=PaymentsActor,
            kwargs={"config": PaymentsConfig.from_settings(settings)},
            shutdown_timeout=10.0,
        )
    ]
