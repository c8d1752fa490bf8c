"""The mortgage request/response types: strings and numbers both decode to
Decimal, money leaves as decimal strings, and every rule names its field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from actors.calculation import service
from protocols.api.mortgage import (
    AffordabilityRequest,
    AmortizationRequest,
    AprRequest,
    CalculateRequest,
    RefinanceRequest,
    decode,
    validate,
)
from protocols.problems import Problem

D = Decimal


def problem_pointers(request: Any) -> dict[str, str]:
    with pytest.raises(Problem) as caught:
        validate(request)
    assert caught.value.status == 422
    return {e.pointer: e.detail for e in caught.value.errors}


def amortization(**fields: Any) -> AmortizationRequest:
    body = {"principal": "200000", "annual_rate": "6.5", "term_months": 360, **fields}
    result: AmortizationRequest = decode(msgspec.json.encode(body), AmortizationRequest)
    return result


@pytest.mark.parametrize(
    "body",
    [
        b'{"principal": "200000", "annual_rate": "6.5", "term_months": 360}',
        b'{"principal": 200000, "annual_rate": 6.5, "term_months": 360}',
        b'{"principal": 200000.00, "annual_rate": "6.500", "term_months": 360}',
    ],
)
def test_strings_and_numbers_decode_to_the_same_decimals(body: bytes) -> None:
    request = decode(body, AmortizationRequest)
    assert request.principal == D("200000")
    assert request.annual_rate == D("6.5")
    assert isinstance(request.annual_rate, Decimal)
    strict = msgspec.json.decode(body, type=AmortizationRequest)
    assert strict.annual_rate == D("6.5")


def test_json_numbers_keep_every_digit() -> None:
    request = decode(
        b'{"principal": 0.1, "annual_rate": 6.125, "term_months": 12}', AmortizationRequest
    )
    assert request.principal == D("0.1")
    assert request.annual_rate == D("6.125")


def test_money_and_rates_encode_as_decimal_strings() -> None:
    response = service.amortization(amortization(), today=dt.date(2026, 1, 15))
    wire = msgspec.json.decode(msgspec.json.encode(response))
    assert wire["payment"] == "1264.14"
    assert wire["schedule"][0] == {
        "n": 1,
        "date": "2026-02-01",
        "rate": "6.500",
        "payment": "1264.14",
        "principal": "180.81",
        "interest": "1083.33",
        "balance": "199819.19",
    }
    assert wire["schedule"][-1]["balance"] == "0.00"
    assert "months_saved" not in wire


def test_savings_appear_when_extras_are_given() -> None:
    request = amortization(extra_monthly="100", lump_sums=[{"payment_number": 12, "amount": 5000}])
    response = service.amortization(request, today=dt.date(2026, 1, 15))
    assert (response.months_saved, response.interest_saved) == (83, D("72797.38"))


def test_start_date_sets_the_first_due_date_and_months_follow_it() -> None:
    response = service.amortization(amortization(start_date="2027-01-31"))
    assert [r.date for r in response.schedule[:3]] == [
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
    ]


@pytest.mark.parametrize(
    ("fields", "pointer", "fragment"),
    [
        ({"principal": "0"}, "/principal", "greater than 0"),
        ({"principal": "-5"}, "/principal", "at most 100000000"),
        ({"principal": "NaN"}, "/principal", "finite"),
        ({"annual_rate": "30.01"}, "/annual_rate", "at least 0 and at most 30"),
        ({"annual_rate": "-1"}, "/annual_rate", "at least 0"),
        ({"extra_monthly": "-1"}, "/extra_monthly", "at least 0"),
        ({"interest_only_months": 360}, "/interest_only_months", "less than term_months"),
        ({"balloon_months": 400}, "/balloon_months", "less than term_months (360)"),
        (
            {"lump_sums": [{"payment_number": 361, "amount": 5}]},
            "/lump_sums/0/payment_number",
            "360",
        ),
        (
            {"lump_sums": [{"payment_number": 3, "amount": 0}]},
            "/lump_sums/0/amount",
            "greater than 0",
        ),
        ({"biweekly": True, "interest_only_months": 12}, "/biweekly", "fixed-rate"),
    ],
)
def test_each_amortization_rule_names_its_field(
    fields: dict[str, Any], pointer: str, fragment: str
) -> None:
    errors = problem_pointers(amortization(**fields))
    assert pointer in errors
    assert fragment in errors[pointer]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"principal": "1", "annual_rate": "1", "term_months": 0}, "$.term_months"),
        ({"principal": "1", "annual_rate": "1", "term_months": 481}, "$.term_months"),
        ({"principal": "abc", "annual_rate": "1", "term_months": 12}, "$.principal"),
        ({"principal": "1", "annual_rate": "1", "term_months": 12, "rate": 1}, "rate"),
    ],
)
def test_type_level_errors_name_the_field(body: dict[str, Any], path: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=path.replace("$", r"\$")):
        decode(msgspec.json.encode(body), AmortizationRequest)


def arm(**fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "fixed_months": 60,
        "adjust_every_months": 6,
        "margin": "2.75",
        "index_path": ["4.5"],
        "caps": {"initial": 2, "periodic": 1, "lifetime": 5},
    }
    spec.update(fields)
    return spec


def test_arm_rules_name_their_fields() -> None:
    spec = arm()
    del spec["caps"]
    assert "/arm/caps" in problem_pointers(amortization(arm=spec))
    assert "/arm/index_path" in problem_pointers(amortization(arm=arm(index_path=[])))
    assert "/arm/fixed_months" in problem_pointers(amortization(arm=arm(fixed_months=360)))
    errors = problem_pointers(
        amortization(arm=arm(caps={"initial": 2, "periodic": -1, "lifetime": 5}))
    )
    assert errors["/arm/caps/periodic"] == "must be at least 0 and at most 30"
    errors = problem_pointers(amortization(arm=arm(floor="12")))
    assert errors["/arm/floor"] == "must be at least 0 and at most 11.5"
    assert "/arm/index_path/1" in problem_pointers(amortization(arm=arm(index_path=[4, 99])))
    validate(amortization(arm=arm(index_path=[], current_index="4.3")))


def test_arm_request_runs_with_initial_rate_defaulting_to_annual_rate() -> None:
    response = service.amortization(
        amortization(annual_rate="5.5", arm=arm(index_path=[5, 6, 7])), today=dt.date(2026, 1, 1)
    )
    assert response.schedule[59].rate == D("5.500")
    assert response.schedule[60].rate == D("7.500")
    assert response.schedule[66].rate == D("8.500")


def test_all_errors_come_back_together() -> None:
    errors = problem_pointers(amortization(principal="0", annual_rate="31", extra_monthly="-2"))
    assert {"/principal", "/annual_rate"} <= set(errors)


def test_apr_request_decodes_and_dates_must_follow_the_advance() -> None:
    request = decode(
        b'{"amount_financed": 5000, "advance_date": "1978-01-10", "payments": '
        b'[{"amount": "230.00", "first_date": "1978-02-10", "count": 24, "frequency": "monthly"}]}',
        AprRequest,
    )
    response = service.apr(request)
    assert (response.apr, response.unit_period, response.unit_periods_per_year) == (
        D("9.69"),
        "month",
        12,
    )
    late = decode(
        b'{"amount_financed": 5000, "advance_date": "1978-03-10", "payments": '
        b'[{"amount": 230, "first_date": "1978-02-10", "count": 24},'
        b' {"amount": 230, "first_date": "1980-02-10", "count": 2, "frequency": "single"}]}',
        AprRequest,
    )
    errors = problem_pointers(late)
    assert errors["/payments/0/first_date"] == "must be after advance_date"
    assert errors["/payments/1/count"] == "must be 1 for a single payment"


def test_apr_request_with_an_odd_final_payment_group() -> None:
    request = decode(
        b'{"amount_financed": "5000.00", "advance_date": "1978-01-10", "payments": ['
        b'{"amount": "230.00", "first_date": "1978-02-10", "count": 23, "frequency": "monthly"},'
        b'{"amount": "280.00", "first_date": "1980-01-10", "frequency": "single"}]}',
        AprRequest,
    )
    assert service.apr(request).apr == D("10.50")


def test_payments_that_never_repay_are_a_client_error() -> None:
    request = decode(
        b'{"amount_financed": 5000, "advance_date": "2024-01-01", "payments": '
        b'[{"amount": "0.01", "first_date": "2024-02-01", "count": 2}]}',
        AprRequest,
    )
    with pytest.raises(Problem) as caught:
        service.apr(request)
    assert caught.value.status == 422
    assert caught.value.errors[0].pointer == "/payments"


def test_debts_of_300_percent_of_income_are_refused() -> None:
    request = decode(
        b'{"annual_income": 40000, "monthly_debts": 10000, "down_payment": 1, "annual_rate": 6}',
        AffordabilityRequest,
    )
    errors = problem_pointers(request)
    assert errors["/monthly_debts"].startswith("would be 300% of income")


def test_affordability_limits_must_be_consistent() -> None:
    request = decode(
        b'{"annual_income": 90000, "down_payment": 1, "annual_rate": 6,'
        b' "front_dti_limit": 40, "back_dti_limit": 36}',
        AffordabilityRequest,
    )
    assert "/front_dti_limit" in problem_pointers(request)


def test_refinance_bounds() -> None:
    request = decode(
        b'{"current_balance": -1, "current_rate": 7, "remaining_months": 300, "new_rate": 45}',
        RefinanceRequest,
    )
    errors = problem_pointers(request)
    assert set(errors) == {"/current_balance", "/new_rate"}


def test_calculate_request_rules() -> None:
    body = {"price": "450000", "down_payment": "45000", "credit_score": 700, "state": "CA"}
    request = decode(msgspec.json.encode(body), CalculateRequest)
    validate(request)
    assert request.products is None
    bad = decode(
        msgspec.json.encode({**body, "down_payment": 450000, "monthly_debts": 10}),
        CalculateRequest,
    )
    errors = problem_pointers(bad)
    assert set(errors) == {"/down_payment", "/annual_income"}
    with pytest.raises(msgspec.ValidationError, match=r"\$.state"):
        decode(msgspec.json.encode({**body, "state": "ZZ"}), CalculateRequest)
    with pytest.raises(msgspec.ValidationError, match=r"\$.credit_score"):
        decode(msgspec.json.encode({**body, "credit_score": 900}), CalculateRequest)
    with pytest.raises(msgspec.ValidationError, match=r"\$.products\[0\]"):
        decode(msgspec.json.encode({**body, "products": ["40y_fixed"]}), CalculateRequest)


def test_calculate_options_shape_matches_the_contract() -> None:
    body = {"price": "450000", "down_payment": "45000", "credit_score": 700, "state": "CA"}
    request = decode(msgspec.json.encode(body), CalculateRequest)
    options = [
        service.quote_option(q) for q in service.calculate_quotes(request, {"30y_fixed": D("6.25")})
    ]
    wire = msgspec.to_builtins(options[0])
    assert set(wire) == {
        "product",
        "rate",
        "apr",
        "points",
        "payment",
        "piti",
        "pmi_monthly",
        "cash_to_close",
        "total_interest",
        "eligible",
        "reason",
    }
    assert wire["rate"] == "6.563"
