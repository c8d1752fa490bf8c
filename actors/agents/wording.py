"""How figures are written in advice: dollars with cents and separators,
rates with the engine's three decimals. The figure check reads them back."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from actors.calculation.money import cents, rate_text
from protocols.api.agents import Impact, Recommendation

_TENTH = Decimal("0.1")


def usd(amount: Decimal) -> str:
    """$1,264.14 (the sign is the caller's business: amounts here are sizes)."""
    return f"${abs(cents(amount)):,.2f}"


def rate(value: Decimal) -> str:
    """6.500%"""
    return f"{rate_text(value)}%"


def share(percent: Decimal) -> str:
    """39.4% (debt-to-income, loan-to-value)"""
    return f"{percent.quantize(_TENTH, rounding=ROUND_HALF_UP)}%"


def money(amount: Decimal) -> str:
    """Impact figures travel as plain decimal strings with a sign: "-35.86"."""
    return str(cents(amount))


def points(amount: Decimal) -> str:
    """1 point, 0.750 points"""
    return f"{amount} point" if amount == 1 else f"{amount} points"


def months(count: int) -> str:
    return "1 month" if count == 1 else f"{count} months"


def recommendation(
    kind: str, title: str, detail: str, monthly: Decimal, lifetime: Decimal
) -> Recommendation:
    """One piece of advice with what it is worth a month and over the loan."""
    return Recommendation(
        kind=kind,  # type: ignore[arg-type]
        title=title,
        detail=detail,
        impact=Impact(monthly=money(monthly), lifetime=money(lifetime)),
    )
