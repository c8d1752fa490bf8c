"""The rules of the mortgage requests that span fields.

Each field's own range is declared on its type (protocols/api/mortgage.py)
and checked first (again here, for callers that did not come through the
HTTP decoder); what is left here compares fields (an
extra payment above the principal, payments before the advance, debts above
income, a floor above the lifetime cap), which no schema can state. Every
broken rule becomes one FieldError with a JSON pointer, all reported
together in one 422 of type BROKEN_RULE.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from protocols.api.decimals import Bounds, bounds_errors
from protocols.api.mortgage import (
    AMOUNT,
    HOME,
    LOAN,
    RATE,
    AffordabilityRequest,
    AmortizationRequest,
    AprRequest,
    ArmSpec,
    CalculateRequest,
    RefinanceRequest,
)
from protocols.problems import BROKEN_RULE, FieldError, Problem


def fits(value: Decimal | None, bounds: Bounds) -> bool:
    """True when a value is present and in its own range (else its own error
    is reported already, and comparing it would only add noise)."""
    return value is not None and bounds.problem(value) is None


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []
        self.type = BROKEN_RULE

    def add(self, pointer: str, detail: str) -> None:
        self.items.append(FieldError(pointer=pointer, detail=detail))

    def raise_if_any(self) -> None:
        if self.items:
            raise Problem(
                422,
                "Invalid input",
                "; ".join(f"{e.pointer}: {e.detail}" for e in self.items),
                errors=self.items,
                type=self.type,
            )


def check(request: Any) -> None:
    rules: dict[type[Any], Callable[[Any, _Errors], None]] = {
        AmortizationRequest: _amortization,
        AprRequest: _apr,
        AffordabilityRequest: _affordability,
        RefinanceRequest: lambda r, e: None,
        CalculateRequest: _calculate,
    }
    errors = _Errors()
    out_of_range = bounds_errors(request, type(request))
    rules[type(request)](request, errors)
    if out_of_range:
        errors.items[:0] = out_of_range
        errors.type = "about:blank"
    errors.raise_if_any()


def _amortization(r: AmortizationRequest, e: _Errors) -> None:
    if fits(r.principal, LOAN) and fits(r.extra_monthly, AMOUNT):
        assert r.extra_monthly is not None
        if r.extra_monthly > r.principal:
            e.add("/extra_monthly", f"must be at least 0 and at most {r.principal}")
    last_payment = r.term_months * 26 // 12 if r.biweekly else r.term_months
    for k, lump in enumerate(r.lump_sums):
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
    if not arm.index_path and arm.current_index is None:
        e.add(
            "/arm/index_path",
            "give the index values (one per adjustment) or current_index to hold flat",
        )
    if arm.caps is None:
        e.add("/arm/caps", "an ARM needs caps: initial, periodic and lifetime (e.g. 2/1/5)")
        return
    initial = arm.initial_rate if arm.initial_rate is not None else r.annual_rate
    if arm.floor is not None and fits(initial, RATE) and fits(arm.caps.lifetime, RATE):
        ceiling = initial + arm.caps.lifetime
        if arm.floor > ceiling:
            e.add("/arm/floor", f"must be at least 0 and at most {ceiling}")


def _apr(r: AprRequest, e: _Errors) -> None:
    total = 0
    for k, group in enumerate(r.payments):
        if group.first_date <= r.advance_date:
            e.add(f"/payments/{k}/first_date", "must be after advance_date")
        if group.frequency == "single" and group.count != 1:
            e.add(f"/payments/{k}/count", "must be 1 for a single payment")
        total += group.count
    if total > 1200:
        e.add("/payments", f"at most 1200 payments in all, not {total}")


def _affordability(r: AffordabilityRequest, e: _Errors) -> None:
    if fits(r.annual_income, LOAN) and fits(r.monthly_debts, AMOUNT):
        _debts_within_income(r.monthly_debts, r.annual_income, e)
    front, back = r.front_dti_limit, r.back_dti_limit
    if front is not None and back is not None and front > back:
        e.add("/front_dti_limit", f"must not exceed back_dti_limit ({back})")


def _calculate(r: CalculateRequest, e: _Errors) -> None:
    if fits(r.price, HOME) and fits(r.down_payment, AMOUNT) and r.down_payment >= r.price:
        e.add("/down_payment", f"must be less than price ({r.price}); nothing would be borrowed")
    if r.monthly_debts is not None and r.annual_income is None:
        e.add("/annual_income", "is required when monthly_debts is given")
    elif fits(r.annual_income, LOAN) and fits(r.monthly_debts, AMOUNT):
        assert r.annual_income is not None and r.monthly_debts is not None
        _debts_within_income(r.monthly_debts, r.annual_income, e)


def _debts_within_income(monthly_debts: Decimal, annual_income: Decimal, e: _Errors) -> None:
    if monthly_debts * 12 > annual_income:
        ratio = (monthly_debts * 1200 / annual_income).quantize(Decimal(1))
        e.add(
            "/monthly_debts",
            f"would be {ratio}% of income; debts must be at most 100% of annual_income / 12",
        )
