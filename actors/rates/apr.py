"""Annual percentage rate of a quoted fixed-rate loan (Regulation Z, simplified).

The simulated market quotes an APR the way a lender's rate sheet does: the
note rate plus the cost of points and lender fees spread over the term, for
a reference loan. Solved by bisection in Decimal so the quoted figure is
reproducible to the last digit.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

REFERENCE_LOAN = Decimal(400_000)
LENDER_FEES = Decimal(1_500)
_PLACES = Decimal("0.001")


def monthly_payment(principal: Decimal, annual_rate_percent: Decimal, months: int) -> Decimal:
    r = annual_rate_percent / Decimal(1200)
    if r == 0:
        return principal / months
    return principal * r / (1 - (1 + r) ** -months)


def present_value(payment: Decimal, annual_rate_percent: Decimal, months: int) -> Decimal:
    r = annual_rate_percent / Decimal(1200)
    if r == 0:
        return payment * months
    return payment * (1 - (1 + r) ** -months) / r


def apr(
    rate_percent: Decimal,
    points_percent: Decimal,
    months: int,
    *,
    loan: Decimal = REFERENCE_LOAN,
    fees: Decimal = LENDER_FEES,
) -> Decimal:
    """APR in percent, three places, for a fixed-rate loan of `months`."""
    with localcontext() as ctx:
        ctx.prec = 30
        payment = monthly_payment(loan, rate_percent, months)
        amount_financed = loan - loan * points_percent / 100 - fees
        low, high = rate_percent, rate_percent + Decimal(5)
        for _ in range(60):
            mid = (low + high) / 2
            if present_value(payment, mid, months) > amount_financed:
                low = mid
            else:
                high = mid
            if high - low < Decimal("0.00001"):
                break
        return ((low + high) / 2).quantize(_PLACES)
