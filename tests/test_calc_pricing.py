"""Pricing: the LLPA grid and its exemptions, the points ladder, and the
per-product quotes of the main calculation flow."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from actors.calculation.pricing import (
    DEFAULT_GRID_PATH,
    ladder,
    llpa_points,
    load_grid,
    quote_rate,
)
from actors.calculation.products import CONFORMING_LIMIT
from actors.calculation.quote import ProductQuote, quote_options

D = Decimal

RATES = {
    "30y_fixed": D("6.25"),
    "15y_fixed": D("5.5"),
    "5_6_arm": D("5.875"),
    "fha_30": D("6.0"),
    "va_30": D("5.75"),
    "jumbo_30": D("6.5"),
}


def by_product(quotes: list[ProductQuote]) -> dict[str, ProductQuote]:
    return {q.product: q for q in quotes}


@pytest.mark.parametrize(
    ("score", "ltv", "points"),
    [
        (800, D("25"), D("0.000")),
        (780, D("80"), D("0.375")),
        (779, D("80"), D("0.625")),
        (700, D("80.01"), D("1.500")),
        (700, D("90"), D("1.250")),
        (639, D("60"), D("0.125")),
        (620, D("97"), D("1.750")),
        (745, D("75"), D("0.375")),
    ],
)
def test_purchase_llpa_by_score_band_and_ltv_band(
    score: int, ltv: Decimal, points: Decimal
) -> None:
    assert llpa_points("conventional", 360, score, ltv) == points


def test_limited_cash_out_refinance_grid() -> None:
    assert llpa_points(
        "conventional", 360, 660, D("85"), purpose="limited_cash_out_refinance"
    ) == D("3.000")


def test_fha_va_and_short_terms_are_exempt() -> None:
    assert llpa_points("fha", 360, 620, D("96.5")) == 0
    assert llpa_points("va", 360, 620, D("100")) == 0
    assert llpa_points("conventional", 180, 620, D("95")) == 0
    assert llpa_points("conventional", 181, 620, D("95")) == D("2.250")


def test_grid_can_be_replaced_by_a_file_of_the_same_shape(tmp_path: Path) -> None:
    data = json.loads(DEFAULT_GRID_PATH.read_text())
    data["purchase"][0][0] = "0.500"
    path = tmp_path / "llpa.json"
    path.write_text(json.dumps(data))
    grid = load_grid(path)
    assert llpa_points("conventional", 360, 800, D("20"), grid=grid) == D("0.500")
    assert llpa_points("conventional", 360, 800, D("20")) == 0


def test_incomplete_grid_is_refused(tmp_path: Path) -> None:
    data = json.loads(DEFAULT_GRID_PATH.read_text())
    data["purchase"].pop()
    path = tmp_path / "llpa.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="purchase"):
        load_grid(path)


def test_rate_folds_in_the_llpa_and_points_buy_it_down() -> None:
    assert quote_rate(D("6.25"), D("1.375")) == D("6.594")
    assert quote_rate(D("6.25"), D("1.375"), D("1")) == D("6.344")
    steps = ladder(D("6.5"))
    assert [(s.points, s.rate) for s in steps][2:5] == [
        (D(0), D("6.500")),
        (D("0.5"), D("6.375")),
        (D(1), D("6.250")),
    ]


def test_quote_for_every_product_with_eligibility_reasons() -> None:
    quotes = by_product(quote_options(D("450000"), D("45000"), 700, "CA", RATES))
    assert list(quotes) == list(RATES)
    fixed = quotes["30y_fixed"]
    assert fixed.eligible and fixed.reason is None
    assert fixed.llpa_points == D("1.250")  # 700–719, LTV 90
    assert fixed.rate == D("6.563")
    assert fixed.pmi_monthly == D("263.25")  # 0.78% of 405,000 / 12
    assert fixed.piti == fixed.payment + D("412.50") + D("131.25") + D("263.25")
    assert fixed.cash_to_close == D("45000.00")
    assert fixed.apr is not None and fixed.apr > fixed.rate
    assert quotes["15y_fixed"].llpa_points == 0
    assert quotes["15y_fixed"].rate == D("5.500")
    assert not quotes["va_30"].eligible
    assert "VA eligibility" in (quotes["va_30"].reason or "")
    assert not quotes["jumbo_30"].eligible
    assert "conforming limit" in (quotes["jumbo_30"].reason or "")
    fha = quotes["fha_30"]
    assert fha.loan_amount == D("405000") + D("7087.50")  # upfront MIP financed
    assert fha.pmi_monthly is not None and fha.pmi_monthly > 0


def test_jumbo_only_above_the_conforming_limit_and_conventional_only_at_or_below() -> None:
    price = CONFORMING_LIMIT + D("200000")
    quotes = by_product(quote_options(price, D("200000"), 760, "TX", RATES))
    assert quotes["30y_fixed"].eligible and not quotes["jumbo_30"].eligible
    quotes = by_product(quote_options(price, D("199999"), 760, "TX", RATES))
    assert not quotes["30y_fixed"].eligible and quotes["jumbo_30"].eligible
    hawaii = by_product(quote_options(price, D("199999"), 760, "HI", RATES))
    assert hawaii["30y_fixed"].eligible


def test_va_with_nothing_down_and_fha_needs_three_and_a_half_percent() -> None:
    quotes = by_product(quote_options(D("400000"), D("0"), 700, "VA", RATES, va_eligible=True))
    va = quotes["va_30"]
    assert va.eligible
    assert va.loan_amount == D("408600.00")  # 2.15% funding fee financed
    assert va.pmi_monthly == 0
    assert not quotes["fha_30"].eligible
    assert "3.5% down" in (quotes["fha_30"].reason or "")
    assert not quotes["30y_fixed"].eligible


def test_first_time_buyers_may_put_three_percent_down_on_fixed_conventional() -> None:
    plain = by_product(quote_options(D("300000"), D("9000"), 740, "OH", RATES))
    first = by_product(
        quote_options(D("300000"), D("9000"), 740, "OH", RATES, first_time_buyer=True)
    )
    assert not plain["30y_fixed"].eligible
    assert first["30y_fixed"].eligible
    assert not first["5_6_arm"].eligible  # ARMs stop at 95% LTV


def test_dti_over_the_program_limit_makes_a_product_ineligible() -> None:
    quotes = by_product(
        quote_options(
            D("450000"),
            D("45000"),
            700,
            "CA",
            RATES,
            annual_income=D("100000"),
            monthly_debts=D("900"),
        )
    )
    fixed = quotes["30y_fixed"]
    assert not fixed.eligible
    assert "% of income" in (fixed.reason or "")
    assert "conventional allows 28%" in (fixed.reason or "")
    assert fixed.payment is not None  # the numbers are still shown


def test_points_cost_cash_and_lower_the_rate() -> None:
    none = by_product(
        quote_options(D("500000"), D("100000"), 760, "CO", RATES, products=["30y_fixed"])
    )
    two = by_product(
        quote_options(
            D("500000"), D("100000"), 760, "CO", RATES, products=["30y_fixed"], points=D(2)
        )
    )
    assert list(two) == ["30y_fixed"]
    assert two["30y_fixed"].rate == (none["30y_fixed"].rate or 0) - D("0.5")
    assert two["30y_fixed"].cash_to_close == D("100000") + D("8000.00")


def test_fees_raise_the_apr_and_the_cash_to_close() -> None:
    bare = quote_options(D("500000"), D("100000"), 760, "CO", RATES, products=["30y_fixed"])[0]
    fees = quote_options(
        D("500000"),
        D("100000"),
        760,
        "CO",
        RATES,
        products=["30y_fixed"],
        lender_fees=D("1500"),
        other_closing_costs=D("2500"),
    )[0]
    assert bare.rate == D("6.406")  # 6.25 + 0.625 points of LLPA × 0.25
    assert bare.apr == D("6.41")  # no fees, no mortgage insurance: the note rate
    assert fees.apr is not None and bare.apr is not None and fees.apr > bare.apr
    assert fees.cash_to_close == D("104000.00")


def test_a_product_without_a_market_rate_is_listed_as_unavailable() -> None:
    quotes = by_product(quote_options(D("400000"), D("80000"), 760, "NY", {"30y_fixed": D("6.25")}))
    assert quotes["15y_fixed"].rate is None
    assert not quotes["15y_fixed"].eligible
    assert "no market rate" in (quotes["15y_fixed"].reason or "")
