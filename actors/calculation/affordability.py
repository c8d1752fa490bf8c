"""How much house a buyer qualifies for.

The housing payment (PITI plus mortgage insurance) may not exceed the
program's front-end share of gross monthly income, and housing plus other
debts may not exceed the back-end share. Cost rises with price in steps
(mortgage insurance starts above 80% LTV), so the largest whole-dollar
price is found by bisection rather than by inverting a formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Literal

from actors.calculation.amortization import level_payment
from actors.calculation.insurance import fha_first_premium, fha_mip, pmi_monthly, va_funding_fee
from actors.calculation.money import ENGINE_CONTEXT, HUNDRED, NO_CENTS, TWELVE, ZERO, cents
from actors.calculation.piti import DEFAULT_PROPERTY_TAX_RATE, Piti, annual_from_rate, piti
from actors.calculation.products import DTI_LIMITS, FIRST_TIME_BUYER_MIN_DOWN, DtiLimits

AffordProgram = Literal["conventional", "fha", "va"]
LimitedBy = Literal["front_dti", "back_dti", "down_payment"]

_MIN_DOWN: dict[str, Decimal] = {"conventional": Decimal(5), "fha": Decimal("3.5"), "va": ZERO}
_PERCENT_PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Affordability:
    max_price: Decimal
    max_loan: Decimal
    down_payment: Decimal
    housing: Piti
    max_housing_payment: Decimal
    front_dti: Decimal
    back_dti: Decimal
    limits: DtiLimits
    limited_by: LimitedBy


@dataclass(frozen=True, slots=True)
class _Buyer:
    down_payment: Decimal
    annual_rate: Decimal
    term_months: int
    program: str
    credit_score: int
    property_tax_rate: Decimal
    insurance_annual: Decimal | None
    hoa_monthly: Decimal
    va_subsequent_use: bool

    def loan(self, price: Decimal) -> Decimal:
        base = max(price - self.down_payment, ZERO)
        if base == 0:
            return ZERO
        if self.program == "fha":
            return base + fha_mip(base, price, self.term_months).upfront
        if self.program == "va":
            down = self.down_payment * HUNDRED / price
            return base + va_funding_fee(base, down, subsequent_use=self.va_subsequent_use)
        return base

    def housing(self, price: Decimal) -> Piti:
        base = max(price - self.down_payment, ZERO)
        loan = self.loan(price)
        pi = level_payment(loan, self.annual_rate, self.term_months) if loan else ZERO
        insurance = ZERO
        if base and self.program == "conventional":
            insurance = pmi_monthly(base, price, self.credit_score)
        elif base and self.program == "fha":
            mip = fha_mip(base, price, self.term_months)
            insurance = fha_first_premium(loan, self.annual_rate, self.term_months, mip)
        return piti(
            pi,
            price=price,
            property_tax_annual=annual_from_rate(price, self.property_tax_rate),
            insurance_annual=self.insurance_annual,
            hoa_monthly=self.hoa_monthly,
            mortgage_insurance_monthly=insurance,
        )


def affordability(
    annual_income: Decimal,
    monthly_debts: Decimal,
    down_payment: Decimal,
    annual_rate: Decimal,
    *,
    program: AffordProgram = "conventional",
    term_months: int = 360,
    credit_score: int = 740,
    property_tax_rate: Decimal = DEFAULT_PROPERTY_TAX_RATE,
    insurance_annual: Decimal | None = None,
    hoa_monthly: Decimal = ZERO,
    limits: DtiLimits | None = None,
    first_time_buyer: bool = False,
    va_subsequent_use: bool = False,
) -> Affordability:
    """The largest price (whole dollars) and loan the income and cash allow."""
    if annual_income <= 0:
        raise ValueError("annual_income must be positive")
    limits = limits or DTI_LIMITS[program]
    buyer = _Buyer(
        down_payment,
        annual_rate,
        term_months,
        program,
        credit_score,
        property_tax_rate,
        insurance_annual,
        hoa_monthly,
        va_subsequent_use,
    )
    with localcontext(ENGINE_CONTEXT):
        income = annual_income / TWELVE
        back_budget = income * limits.back / HUNDRED - monthly_debts
        front_budget = income * limits.front / HUNDRED if limits.front is not None else back_budget
        budget = min(front_budget, back_budget)
        min_down = _MIN_DOWN[program]
        if program == "conventional" and first_time_buyer:
            min_down = FIRST_TIME_BUYER_MIN_DOWN

        def fits(price: int) -> bool:
            return price == 0 or buyer.housing(Decimal(price)).total <= budget

        low, high = 0, int(down_payment) + int(max(budget, ZERO) * term_months) + 1
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        best = low
        front_binds = limits.front is not None and front_budget <= back_budget
        limited_by: LimitedBy = "front_dti" if front_binds else "back_dti"
        if min_down:
            cap = int((down_payment * HUNDRED / min_down).to_integral_value(ROUND_FLOOR))
            if cap < best:
                best, limited_by = cap, "down_payment"
        price = cents(Decimal(best))
        housing = buyer.housing(price) if best else piti(NO_CENTS, price=ZERO)
        total = housing.total
        return Affordability(
            max_price=price,
            max_loan=buyer.loan(price) if best else NO_CENTS,
            down_payment=down_payment,
            housing=housing,
            max_housing_payment=cents(max(budget, ZERO)),
            front_dti=(total * HUNDRED / income).quantize(_PERCENT_PLACES),
            back_dti=((total + monthly_debts) * HUNDRED / income).quantize(_PERCENT_PLACES),
            limits=limits,
            limited_by=limited_by,
        )
