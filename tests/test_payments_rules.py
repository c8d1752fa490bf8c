"""The payment rules without I/O: forward-only states, receipt numbers,
decline wording and webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actors.payments import rules
from protocols.stripe_adapter import BadSignature, sign_webhook, verify_webhook

SECRET = "whsec_test_rules"


def test_a_succeeded_payment_never_goes_back() -> None:
    for later in ("pending", "processing", "requires_action", "failed", "canceled"):
        assert not rules.payment_may_move("succeeded", later)
    assert rules.payment_may_move("succeeded", "refunded")
    assert not rules.payment_may_move("refunded", "succeeded")


def test_a_declined_card_may_be_retried_until_it_succeeds() -> None:
    assert rules.payment_may_move("pending", "failed")
    assert rules.payment_may_move("failed", "requires_action")
    assert rules.payment_may_move("failed", "succeeded")
    assert not rules.payment_may_move("failed", "pending")
    assert rules.may_come_from("refunded") == {"succeeded"}


def test_intent_status_maps_declines_apart_from_fresh_intents() -> None:
    assert rules.payment_status({"status": "requires_payment_method"}) == "pending"
    declined = {"status": "requires_payment_method", "last_payment_error": {"code": "x"}}
    assert rules.payment_status(declined) == "failed"
    assert rules.payment_status({"status": "succeeded"}) == "succeeded"


def test_receipt_numbers_sort_within_a_year() -> None:
    assert rules.receipt_number(2026, 42) == "RL-2026-000042"
    numbers = [rules.receipt_number(2026, n) for n in (9, 10, 100)]
    assert numbers == sorted(numbers)


def test_monthly_periods_clamp_at_month_end() -> None:
    jan31 = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert rules.add_interval(jan31, "month") == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert rules.add_interval(jan31, "year") == datetime(2027, 1, 31, 12, tzinfo=UTC)


def test_declines_are_explained_in_the_card_holders_words() -> None:
    assert "insufficient funds" in rules.decline_message({"decline_code": "insufficient_funds"})
    assert "declined" in rules.decline_message({"code": "card_declined"})
    assert "declined" in rules.decline_message(None)


def test_a_signed_payload_verifies_and_a_changed_one_does_not() -> None:
    body = b'{"id": "evt_1", "type": "charge.refunded"}'
    header = sign_webhook(body, SECRET)
    verify_webhook(body, header, SECRET)
    with pytest.raises(BadSignature):
        verify_webhook(body.replace(b"evt_1", b"evt_2"), header, SECRET)
    with pytest.raises(BadSignature):
        verify_webhook(body, header, "whsec_other")
    with pytest.raises(BadSignature):
        verify_webhook(body, None, SECRET)


@pytest.mark.parametrize("skew", [-301, 301])
def test_signatures_older_or_newer_than_five_minutes_fail(skew: int) -> None:
    body = b'{"id": "evt_1"}'
    now = 1_800_000_000
    header = sign_webhook(body, SECRET, timestamp=now + skew)
    with pytest.raises(BadSignature):
        verify_webhook(body, header, SECRET, now=now)
