"""From request types to engine calls and back: the pure endpoints' logic.

Each function takes a request its caller has validated once (the route's
`check`, protocols.api.mortgage.validate), runs the engine and shapes the
response. Nothing here touches the network,
the database or an actor, so the HTTP layer can call it directly (in a
worker thread for long schedules) and the calculation actor can reuse it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from decimal import Decimal

from actors.calculation import affordability as afford
from actors.calculation import apr as apr_engine
from actors.calculation import refinance as refi
from actors.calculation.amortization import Schedule, amortize, amortize_biweekly, savings
from actors.calculation.arm import ArmTerms, amortize_arm
from actors.calculation.money import ZERO, add_days, add_months, first_payment_date, rate_text
from actors.calculation.piti import DEFAULT_PROPERTY_TAX_RATE
from actors.calculation.pricing import LlpaGrid
from actors.calculation.products import DTI_LIMITS, DtiLimits
from actors.calculation.quote import ProductQuote, quote_options
from protocols.api.mortgage import (
    AffordabilityRequest,
    AffordabilityResponse,
    AmortizationRequest,
    AmortizationResponse,
    AprRequest,
    AprResponse,
    CalculateRequest,
    MonthlyHousing,
    QuoteOption,
    RefinanceRequest,
    RefinanceResponse,
    ScheduleRow,
)
from protocols.problems import FieldError, Problem

CSV_COLUMNS = ("n", "date", "rate", "payment", "principal", "interest", "balance")


def build_schedule(request: AmortizationRequest, *, with_extras: bool = True) -> Schedule:
    r = request
    extra = (r.extra_monthly or ZERO) if with_extras else ZERO
    lumps: dict[int, Decimal] = {}
    if with_extras:
        for lump in r.lump_sums:
            lumps[lump.payment_number] = lumps.get(lump.payment_number, ZERO) + lump.amount
    if r.biweekly and with_extras:
        return amortize_biweekly(
            r.principal, r.annual_rate, r.term_months, extra_monthly=extra, lump_sums=lumps
        )
    if r.arm is not None:
        assert r.arm.caps is not None
        terms = ArmTerms(
            initial_rate=r.arm.initial_rate if r.arm.initial_rate is not None else r.annual_rate,
            fixed_months=r.arm.fixed_months,
            adjust_every_months=r.arm.adjust_every_months,
            margin=r.arm.margin,
            initial_cap=r.arm.caps.initial,
            periodic_cap=r.arm.caps.periodic,
            lifetime_cap=r.arm.caps.lifetime,
            floor=r.arm.floor,
            rate_rounding=r.arm.rate_rounding,
        )
        return amortize_arm(
            r.principal,
            r.term_months,
            terms,
            r.arm.index_path,
            r.arm.current_index,
            extra_monthly=extra,
            lump_sums=lumps,
            interest_only_months=r.interest_only_months,
            balloon_months=r.balloon_months,
        )
    return amortize(
        r.principal,
        r.annual_rate,
        r.term_months,
        extra_monthly=extra,
        lump_sums=lumps,
        interest_only_months=r.interest_only_months,
        balloon_months=r.balloon_months,
    )


def amortization(
    request: AmortizationRequest, *, today: dt.date | None = None
) -> AmortizationResponse:
    schedule = build_schedule(request)
    start = request.start_date or first_payment_date(today or dt.datetime.now(dt.UTC).date())
    if schedule.periods_per_year == 12:
        day = start.day
        dates = [add_months(start, k, day) for k in range(len(schedule.rows))]
    else:
        dates = [add_days(start, 14 * k) for k in range(len(schedule.rows))]
    rows = [
        ScheduleRow(
            n=n,
            date=when,
            rate=rate_text(rate),
            payment=payment,
            principal=principal,
            interest=interest,
            balance=balance,
        )
        for (n, rate, payment, principal, interest, balance), when in zip(
            schedule.rows, dates, strict=True
        )
    ]
    response = AmortizationResponse(
        payment=schedule.payment,
        total_interest=schedule.total_interest,
        total_paid=schedule.total_paid,
        payoff_months=schedule.payoff_months,
        schedule=rows,
        payments_per_year=schedule.periods_per_year,
        amortizing_payment=schedule.amortizing_payment,
        balloon_payment=schedule.balloon_payment,
    )
    if request.extra_monthly or request.lump_sums or request.biweekly:
        saved = savings(build_schedule(request, with_extras=False), schedule)
        response.months_saved = saved.months_saved
        response.interest_saved = saved.interest_saved
    return response


def schedule_csv(response: AmortizationResponse) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in response.schedule:
        writer.writerow(
            (
                row.n,
                row.date.isoformat(),
                row.rate,
                row.payment,
                row.principal,
                row.interest,
                row.balance,
            )
        )
    return out.getvalue()


def apr(request: AprRequest) -> AprResponse:
    payments: list[tuple[Decimal, dt.date]] = []
    for group in request.payments:
        for when in apr_engine.payment_dates(group.first_date, group.count, group.frequency):
            payments.append((group.amount, when))
    groups = [(g.frequency, g.count) for g in request.payments]
    single = len(payments) == 1
    unit = None if single else apr_engine.unit_period_for(groups, [d for _, d in payments])
    try:
        result = apr_engine.apr_from_dates(
            [(request.amount_financed, request.advance_date)], payments, unit
        )
    except ValueError as exc:
        raise Problem(
            422,
            "No annual percentage rate",
            f"the payments cannot repay the amount financed at any rate: {exc}",
            errors=[FieldError(pointer="/payments", detail=str(exc))],
        ) from None
    exact = result.unit_periods_per_year
    per_year: int | Decimal
    if exact == exact.to_integral_value():
        per_year = int(exact)
    else:
        per_year = exact.quantize(Decimal("0.000001"))
    return AprResponse(
        apr=result.apr,
        apr_exact=result.apr_exact,
        unit_period=result.unit_period,
        unit_periods_per_year=per_year,
    )


def affordability(request: AffordabilityRequest) -> AffordabilityResponse:
    r = request
    default = DTI_LIMITS[r.program]
    limits = DtiLimits(
        front=r.front_dti_limit if r.front_dti_limit is not None else default.front,
        back=r.back_dti_limit if r.back_dti_limit is not None else default.back,
    )
    result = afford.affordability(
        r.annual_income,
        r.monthly_debts,
        r.down_payment,
        r.annual_rate,
        program=r.program,
        term_months=r.term_months,
        credit_score=r.credit_score,
        property_tax_rate=(
            r.property_tax_rate if r.property_tax_rate is not None else DEFAULT_PROPERTY_TAX_RATE
        ),
        insurance_annual=r.insurance_annual,
        hoa_monthly=r.hoa_monthly,
        limits=limits,
        first_time_buyer=r.first_time_buyer,
        va_subsequent_use=r.va_subsequent_use,
    )
    h = result.housing
    return AffordabilityResponse(
        max_price=result.max_price,
        max_loan=result.max_loan,
        down_payment=result.down_payment,
        monthly=MonthlyHousing(
            principal_interest=h.principal_interest,
            property_tax=h.property_tax,
            insurance=h.insurance,
            hoa=h.hoa,
            mortgage_insurance=h.mortgage_insurance,
            total=h.total,
        ),
        max_housing_payment=result.max_housing_payment,
        front_dti=result.front_dti,
        back_dti=result.back_dti,
        front_dti_limit=result.limits.front,
        back_dti_limit=result.limits.back,
        limited_by=result.limited_by,
    )


def refinance(request: RefinanceRequest) -> RefinanceResponse:
    r = request
    result = refi.refinance(
        r.current_balance,
        r.current_rate,
        r.remaining_months,
        r.new_rate,
        r.new_term_months,
        closing_costs=r.closing_costs,
        points=r.points,
        finance_costs=r.finance_closing_costs,
    )
    return RefinanceResponse(
        current_payment=result.current_payment,
        new_loan_amount=result.new_loan_amount,
        new_payment=result.new_payment,
        monthly_savings=result.monthly_savings,
        points_cost=result.points_cost,
        upfront_costs=result.upfront_costs,
        cash_at_closing=result.cash_at_closing,
        break_even_month=result.break_even_month,
        current_remaining_interest=result.current_remaining_interest,
        new_total_interest=result.new_total_interest,
        lifetime_interest_difference=result.lifetime_interest_difference,
        lifetime_cost_difference=result.lifetime_cost_difference,
    )


def quote_option(quote: ProductQuote) -> QuoteOption:
    return QuoteOption(
        product=quote.product,  # type: ignore[arg-type]
        rate=None if quote.rate is None else rate_text(quote.rate),
        apr=quote.apr,
        points=quote.points,
        payment=quote.payment,
        piti=quote.piti,
        pmi_monthly=quote.pmi_monthly,
        cash_to_close=quote.cash_to_close,
        total_interest=quote.total_interest,
        eligible=quote.eligible,
        reason=quote.reason,
    )


def calculate_quotes(
    request: CalculateRequest,
    market_rates: Mapping[str, Decimal],
    *,
    llpa_grid: LlpaGrid | None = None,
) -> list[ProductQuote]:
    """The engine's quote of every requested product at live rates (priced
    with the shipped LLPA grid unless another is given)."""
    r = request
    return quote_options(
        r.price,
        r.down_payment,
        r.credit_score,
        r.state,
        market_rates,
        annual_income=r.annual_income,
        monthly_debts=r.monthly_debts or ZERO,
        products=r.products,
        points=r.points,
        property_tax_annual=r.property_tax_annual,
        insurance_annual=r.insurance_annual,
        hoa_monthly=r.hoa_monthly,
        va_eligible=r.va_eligible,
        first_time_buyer=r.first_time_buyer,
        llpa_grid=llpa_grid,
    )
