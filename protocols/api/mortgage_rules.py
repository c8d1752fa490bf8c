"""The bounds and cross-field rules of the mortgage requests.

msgspec cannot put numeric bounds on Decimal fields, and some rules span
several fields (an ARM needs caps, payments come after the advance, debts
cannot exceed income), so they are checked here. Every broken rule becomes
one FieldError with a JSON pointer and the allowed range, and all of them
are reported together in a single 422.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from protocols.api.mortgage import (
    AffordabilityRequest,
    AmortizationRequest,
    AprRequest,
    ArmSpec,
    CalculateRequest,
    RefinanceRequest,
)
from protocols.problems import FieldError, Problem

MAX_LOAN = Decimal(100_000_000)
MAX_RATE = Decimal(30)
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
)
US_STATES = frozenset(_STATE_CODES.split(" "))


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, pointer: str, detail: str) -> None:
        self.items.append(FieldError(pointer=pointer, detail=detail))

    def within(
        self,
        pointer: str,
        value: Decimal | None,
        low: Decimal | int,
        high: Decimal | int,
        *,
        low_open: bool = False,
    ) -> bool:
        """Check `low ≤ value ≤ high` (or `low < value` when `low_open`)."""
        if value is None:
            return True
        lower = "greater than" if low_open else "at least"
        if not value.is_finite():
            self.add(pointer, f"must be a finite number {lower} {low} and at most {high}")
            return False
        if value < low or (low_open and value == low) or value > high:
            self.add(pointer, f"must be {lower} {low} and at most {high}")
            return False
        return True

    def raise_if_any(self) -> None:
        if self.items:
            raise Problem(
                422,
                "Invalid input",
                "; ".join(f"{e.pointer}: {e.detail}" for e in self.items),
                errors=self.items,
            )


def check(request: Any) -> None:
    rules: dict[type[Any], Callable[[Any, _Errors], None]] = {
        AmortizationRequest: _amortization,
        AprRequest: _apr,
        AffordabilityRequest: _affordability,
        RefinanceRequest: _refinance,
        CalculateRequest: _calculate,
    }
    errors = _Errors()
    rules[type(request)](request, errors)
    errors.raise_if_any()


def _amortization(r: AmortizationRequest, e: _Errors) -> None:
    principal_ok = e.within("/principal", r.principal, 0, MAX_LOAN, low_open=True)
    e.within("/annual_rate", r.annual_rate, 0, MAX_RATE)
    if principal_ok:
        e.within("/extra_monthly", r.extra_monthly, 0, r.principal)
    last_payment = r.term_months * 26 // 12 if r.biweekly else r.term_months
    for k, lump in enumerate(r.lump_sums):
        e.within(f"/lump_sums/{k}/amount", lump.amount, 0, MAX_LOAN, low_open=True)
        if lump.payment_number > last_payment:
            e.add(
                f"/lump_sums/{k}/payment_number",
                f"must be between 1 and {last_payment}, the last payment of the term",
            )
    if r.interest_only_months >= r.term_months:
        e.add(
            "/interest_only_months",
            f"must be at least 0 and less than term_months ({r.term_months})",
        )
    if r.balloon_months is not None and not (
        r.interest_only_months < r.balloon_months < r.term_months
    ):
        e.add(
            "/balloon_months",
            f"must be greater than interest_only_months ({r.interest_only_months}) "
            f"and less than term_months ({r.term_months})",
        )
    if r.biweekly and (r.arm or r.interest_only_months or r.balloon_months):
        e.add(
            "/biweekly",
            "biweekly payments apply to fully amortizing fixed-rate loans only; "
            "remove arm, interest_only_months and balloon_months or set biweekly to false",
        )
    if r.arm is not None:
        _arm(r.arm, r, e)


def _arm(arm: ArmSpec, r: AmortizationRequest, e: _Errors) -> None:
    if arm.fixed_months >= r.term_months:
        e.add(
            "/arm/fixed_months", f"must be at least 1 and less than term_months ({r.term_months})"
        )
    e.within("/arm/initial_rate", arm.initial_rate, 0, MAX_RATE)
    e.within("/arm/margin", arm.margin, 0, MAX_RATE)
    e.within("/arm/current_index", arm.current_index, -10, MAX_RATE)
    for k, value in enumerate(arm.index_path):
        e.within(f"/arm/index_path/{k}", value, -10, MAX_RATE)
    if not arm.index_path and arm.current_index is None:
        e.add(
            "/arm/index_path",
            "give the index values (one per adjustment) or current_index to hold flat",
        )
    if arm.caps is None:
        e.add("/arm/caps", "an ARM needs caps: initial, periodic and lifetime (e.g. 2/1/5)")
        return
    caps_ok = all(
        [
            e.within("/arm/caps/initial", arm.caps.initial, 0, MAX_RATE),
            e.within("/arm/caps/periodic", arm.caps.periodic, 0, MAX_RATE),
            e.within("/arm/caps/lifetime", arm.caps.lifetime, 0, MAX_RATE),
        ]
    )
    initial = arm.initial_rate if arm.initial_rate is not None else r.annual_rate
    if caps_ok and arm.floor is not None and initial.is_finite():
        e.within("/arm/floor", arm.floor, 0, initial + arm.caps.lifetime)


def _apr(r: AprRequest, e: _Errors) -> None:
    e.within("/amount_financed", r.amount_financed, 0, MAX_LOAN, low_open=True)
    total = 0
    for k, group in enumerate(r.payments):
        e.within(f"/payments/{k}/amount", group.amount, 0, MAX_LOAN, low_open=True)
        if group.first_date <= r.advance_date:
            e.add(f"/payments/{k}/first_date", "must be after advance_date")
        if group.frequency == "single" and group.count != 1:
            e.add(f"/payments/{k}/count", "must be 1 for a single payment")
        total += group.count
    if total > 1200:
        e.add("/payments", f"at most 1200 payments in all, not {total}")


def _affordability(r: AffordabilityRequest, e: _Errors) -> None:
    income_ok = e.within("/annual_income", r.annual_income, 0, MAX_LOAN, low_open=True)
    debts_ok = e.within("/monthly_debts", r.monthly_debts, 0, MAX_LOAN)
    if income_ok and debts_ok:
        _debts_within_income(r.monthly_debts, r.annual_income, e)
    e.within("/down_payment", r.down_payment, 0, MAX_LOAN)
    e.within("/annual_rate", r.annual_rate, 0, MAX_RATE)
    e.within("/property_tax_rate", r.property_tax_rate, 0, 10)
    e.within("/insurance_annual", r.insurance_annual, 0, 1_000_000)
    e.within("/hoa_monthly", r.hoa_monthly, 0, 100_000)
    front_ok = e.within("/front_dti_limit", r.front_dti_limit, 0, 100, low_open=True)
    back_ok = e.within("/back_dti_limit", r.back_dti_limit, 0, 100, low_open=True)
    if (
        front_ok
        and back_ok
        and r.front_dti_limit is not None
        and r.back_dti_limit is not None
        and r.front_dti_limit > r.back_dti_limit
    ):
        e.add("/front_dti_limit", f"must not exceed back_dti_limit ({r.back_dti_limit})")


def _refinance(r: RefinanceRequest, e: _Errors) -> None:
    e.within("/current_balance", r.current_balance, 0, MAX_LOAN, low_open=True)
    e.within("/current_rate", r.current_rate, 0, MAX_RATE)
    e.within("/new_rate", r.new_rate, 0, MAX_RATE)
    e.within("/closing_costs", r.closing_costs, 0, MAX_LOAN)
    e.within("/points", r.points, -5, 10)


def _calculate(r: CalculateRequest, e: _Errors) -> None:
    price_ok = e.within("/price", r.price, 0, MAX_LOAN, low_open=True)
    down_ok = e.within("/down_payment", r.down_payment, 0, MAX_LOAN)
    if price_ok and down_ok and r.down_payment >= r.price:
        e.add("/down_payment", f"must be less than price ({r.price}); nothing would be borrowed")
    if r.state not in US_STATES:
        e.add("/state", "must be a US state, DC or territory code such as CA")
    income_ok = e.within("/annual_income", r.annual_income, 0, MAX_LOAN, low_open=True)
    debts_ok = e.within("/monthly_debts", r.monthly_debts, 0, MAX_LOAN)
    if r.monthly_debts is not None and r.annual_income is None:
        e.add("/annual_income", "is required when monthly_debts is given")
    elif income_ok and debts_ok and r.annual_income is not None and r.monthly_debts is not None:
        _debts_within_income(r.monthly_debts, r.annual_income, e)
    e.within("/points", r.points, -5, 10)
    e.within("/property_tax_annual", r.property_tax_annual, 0, 10_000_000)
    e.within("/insurance_annual", r.insurance_annual, 0, 1_000_000)
    e.within("/hoa_monthly", r.hoa_monthly, 0, 100_000)


def _debts_within_income(monthly_debts: Decimal, annual_income: Decimal, e: _Errors) -> None:
    if monthly_debts * 12 > annual_income:
        ratio = (monthly_debts * 1200 / annual_income).quantize(Decimal(1))
        e.add(
            "/monthly_debts",
            f"would be {ratio}% of income; debts must be at most 100% of annual_income / 12",
        )
