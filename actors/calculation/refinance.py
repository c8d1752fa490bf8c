"""Whether a new loan pays for itself: refinancing, and buying the rate down
with points.

Break-even is the first month whose cumulative payment savings cover the
up-front cost; when the new payment is not lower there is none. Lifetime
interest compares what is still to be paid on the current loan with the
whole interest of the new one, so a longer new term shows its true price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from actors.calculation.amortization import amortize, level_payment
from actors.calculation.money import ENGINE_CONTEXT, ZERO, ceil_int, cents, percent_of
from actors.calculation.totals import loan_totals


@dataclass(frozen=True, slots=True)
class Refinance:
    current_payment: Decimal
    new_loan_amount: Decimal
    new_payment: Decimal
    monthly_savings: Decimal
    points_cost: Decimal
    upfront_costs: Decimal
    """Closing costs plus points, paid in cash or financed."""
    cash_at_closing: Decimal
    break_even_month: int | None
    current_remaining_interest: Decimal
    new_total_interest: Decimal
    lifetime_interest_difference: Decimal
    """Interest the current loan would still cost minus the new loan's; positive saves."""
    lifetime_cost_difference: Decimal
    """All remaining payments on the current loan minus all payments on the new
    one and the cash paid at closing; positive saves."""


@dataclass(frozen=True, slots=True)
class PointsBreakEven:
    cost: Decimal
    payment_without_points: Decimal
    payment_with_points: Decimal
    monthly_savings: Decimal
    break_even_month: int | None
    interest_saved: Decimal


def break_even_month(cost: Decimal, monthly_savings: Decimal) -> int | None:
    if monthly_savings <= 0:
        return None
    if cost <= 0:
        return 0
    with localcontext(ENGINE_CONTEXT):
        return ceil_int(cost / monthly_savings)


def refinance(
    current_balance: Decimal,
    current_rate: Decimal,
    remaining_months: int,
    new_rate: Decimal,
    new_term_months: int,
    *,
    closing_costs: Decimal = ZERO,
    points: Decimal = ZERO,
    finance_costs: bool = False,
) -> Refinance:
    """`points` are percent of the new loan's base (the current balance)."""
    current = amortize(current_balance, current_rate, remaining_months)
    points_cost = percent_of(current_balance, points)
    upfront = cents(closing_costs) + points_cost
    new_amount = cents(current_balance + upfront) if finance_costs else cents(current_balance)
    new = amortize(new_amount, new_rate, new_term_months)
    savings = current.payment - new.payment
    cash = ZERO if finance_costs else upfront
    return Refinance(
        current_payment=current.payment,
        new_loan_amount=new_amount,
        new_payment=new.payment,
        monthly_savings=savings,
        points_cost=points_cost,
        upfront_costs=upfront,
        cash_at_closing=cash,
        break_even_month=break_even_month(upfront, savings),
        current_remaining_interest=current.total_interest,
        new_total_interest=new.total_interest,
        lifetime_interest_difference=current.total_interest - new.total_interest,
        lifetime_cost_difference=current.total_paid - new.total_paid - cash,
    )


def points_break_even(
    loan_amount: Decimal,
    term_months: int,
    rate_without_points: Decimal,
    rate_with_points: Decimal,
    points: Decimal,
) -> PointsBreakEven:
    """When buying the rate down with `points` (percent of the loan) pays off."""
    cost = percent_of(loan_amount, points)
    without = level_payment(loan_amount, rate_without_points, term_months)
    with_points = level_payment(loan_amount, rate_with_points, term_months)
    saved = (
        loan_totals(loan_amount, rate_without_points, term_months).total_interest
        - loan_totals(loan_amount, rate_with_points, term_months).total_interest
    )
    return PointsBreakEven(
        cost=cost,
        payment_without_points=without,
        payment_with_points=with_points,
        monthly_savings=without - with_points,
        break_even_month=break_even_month(cost, without - with_points),
        interest_saved=saved,
    )
