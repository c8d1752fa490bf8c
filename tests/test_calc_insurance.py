"""Mortgage insurance and escrow: PMI and its automatic end, FHA MIP, the VA
funding fee, and the PITI payment."""

from __future__ import annotations

from decimal import Decimal

from actors.calculation.amortization import BALANCE, amortize
from actors.calculation.insurance import (
    fha_first_premium,
    fha_mip,
    pmi_annual_rate,
    pmi_monthly,
    va_funding_fee,
    va_funding_fee_rate,
)
from actors.calculation.piti import piti
from tests.schedule_oracles import fha_monthly_premiums, pmi_months

D = Decimal


def test_pmi_only_above_80_percent_ltv_and_priced_by_credit_score() -> None:
    assert pmi_monthly(D("320000"), D("400000"), 700) == 0
    assert pmi_monthly(D("360000"), D("400000"), 700) == D("234.00")  # 0.78% / 12
    assert pmi_monthly(D("360000"), D("400000"), 780) == D("138.00")  # 0.46%
    assert pmi_monthly(D("360000"), D("400000"), 600) == D("450.00")  # 1.50%
    assert pmi_annual_rate(760) < pmi_annual_rate(720) < pmi_annual_rate(639)


def test_pmi_ends_when_the_original_schedule_reaches_78_percent() -> None:
    value = D("400000")
    schedule = amortize(D("360000"), D("6.5"), 360)
    months = pmi_months(schedule, value)
    limit = value * D("0.78")
    assert schedule.rows[months - 1][BALANCE] <= limit < schedule.rows[months - 2][BALANCE]
    assert months == 109


def test_pmi_ends_at_the_midpoint_at_the_latest() -> None:
    # 97% LTV at 10% amortizes so slowly that 78% comes after year 15
    schedule = amortize(D("388000"), D("10"), 360)
    assert pmi_months(schedule, D("400000")) == 180


def test_no_pmi_at_80_percent_or_below() -> None:
    assert pmi_months(amortize(D("320000"), D("6.5"), 360), D("400000")) == 0


def test_fha_upfront_and_annual_mip() -> None:
    mip = fha_mip(D("386000"), D("400000"), 360)  # 3.5% down
    assert mip.upfront == D("6755.00")
    assert mip.annual_rate == D("0.55")
    assert mip.months == 360
    ten_down = fha_mip(D("360000"), D("400000"), 360)
    assert ten_down.annual_rate == D("0.50")
    assert ten_down.months == 132
    assert fha_mip(D("800000"), D("820000"), 360).annual_rate == D("0.75")
    assert fha_mip(D("386000"), D("400000"), 180).annual_rate == D("0.40")


def test_fha_monthly_premium_follows_the_average_balance_each_year() -> None:
    loan = D("392755.00")  # base loan plus financed upfront MIP
    schedule = amortize(loan, D("6"), 360)
    mip = fha_mip(D("386000"), D("400000"), 360)
    premiums = fha_monthly_premiums(schedule, mip)
    assert len(premiums) == 360
    first_year = premiums[:12]
    assert len(set(first_year)) == 1
    assert first_year[0] == fha_first_premium(loan, D("6"), 360, mip)
    assert D("175") < first_year[0] < loan * D("0.0055") / 12
    assert premiums[12] < premiums[0]


def test_va_funding_fee_by_down_payment_and_use() -> None:
    assert va_funding_fee_rate(D(0)) == D("2.15")
    assert va_funding_fee_rate(D(0), subsequent_use=True) == D("3.3")
    assert va_funding_fee_rate(D(5)) == D("1.5")
    assert va_funding_fee_rate(D(5), subsequent_use=True) == D("1.5")
    assert va_funding_fee_rate(D(10)) == D("1.25")
    assert va_funding_fee_rate(D(0), purpose="cash_out_refinance", subsequent_use=True) == D("3.3")
    assert va_funding_fee_rate(D(0), purpose="rate_reduction_refinance") == D("0.5")
    assert va_funding_fee_rate(D(0), exempt=True) == 0
    assert va_funding_fee(D("400000"), D(0)) == D("8600.00")


def test_piti_adds_tax_insurance_hoa_and_mortgage_insurance() -> None:
    housing = piti(
        D("1264.14"),
        price=D("250000"),
        property_tax_annual=D("3000"),
        insurance_annual=D("1200"),
        hoa_monthly=D("50"),
        mortgage_insurance_monthly=D("80.00"),
    )
    assert (housing.property_tax, housing.insurance) == (D("250.00"), D("100.00"))
    assert housing.total == D("1744.14")


def test_piti_estimates_tax_and_insurance_from_the_price_when_unknown() -> None:
    housing = piti(D("1000.00"), price=D("300000"))
    assert housing.property_tax == D("275.00")  # 1.10% a year
    assert housing.insurance == D("87.50")  # 0.35% a year
