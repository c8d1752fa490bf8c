"""The monthly housing payment a lender qualifies a borrower on: principal
and interest, property tax, homeowner's insurance, HOA dues and mortgage
insurance (PITI). Each part is rounded to the cent before adding, the way
an escrow statement lists them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import lru_cache

from actors.calculation.money import ENGINE_CONTEXT, HUNDRED, NO_CENTS, TWELVE, ZERO, cents

DEFAULT_PROPERTY_TAX_RATE = Decimal("1.10")
"""% of the price a year, near the US average effective rate; used only when
the caller knows nothing better."""
DEFAULT_INSURANCE_RATE = Decimal("0.35")
"""% of the price a year for homeowner's insurance, same caveat."""


@dataclass(frozen=True, slots=True)
class Piti:
    principal_interest: Decimal
    property_tax: Decimal
    insurance: Decimal
    hoa: Decimal
    mortgage_insurance: Decimal

    @property
    def total(self) -> Decimal:
        return (
            self.principal_interest
            + self.property_tax
            + self.insurance
            + self.hoa
            + self.mortgage_insurance
        )


def monthly(annual: Decimal) -> Decimal:
    with localcontext(ENGINE_CONTEXT):
        return cents(annual / TWELVE)


def annual_from_rate(price: Decimal, percent: Decimal) -> Decimal:
    with localcontext(ENGINE_CONTEXT):
        return cents(price * percent / HUNDRED)


def piti(
    principal_interest: Decimal,
    *,
    price: Decimal,
    property_tax_annual: Decimal | None = None,
    insurance_annual: Decimal | None = None,
    hoa_monthly: Decimal = ZERO,
    mortgage_insurance_monthly: Decimal = NO_CENTS,
) -> Piti:
    """Missing tax or insurance figures are estimated from the price."""
    tax, insurance, hoa = _escrow(price, property_tax_annual, insurance_annual, hoa_monthly)
    return Piti(
        principal_interest=principal_interest,
        property_tax=tax,
        insurance=insurance,
        hoa=hoa,
        mortgage_insurance=mortgage_insurance_monthly,
    )


@lru_cache(maxsize=1024)
def _escrow(
    price: Decimal,
    property_tax_annual: Decimal | None,
    insurance_annual: Decimal | None,
    hoa_monthly: Decimal,
) -> tuple[Decimal, Decimal, Decimal]:
    """Monthly tax, insurance and dues: the same for every product of one
    calculation (each a whole number of cents, whatever the inputs' form)."""
    tax = (
        property_tax_annual
        if property_tax_annual is not None
        else annual_from_rate(price, DEFAULT_PROPERTY_TAX_RATE)
    )
    insurance = (
        insurance_annual
        if insurance_annual is not None
        else annual_from_rate(price, DEFAULT_INSURANCE_RATE)
    )
    return monthly(tax), monthly(insurance), cents(hoa_monthly)
