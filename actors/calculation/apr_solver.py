"""Solving Appendix J's equation for the unit-period rate i:

    Σ A / ((1 + e·i)(1 + i)^q) = Σ P / ((1 + f·i)(1 + i)^t).

Equal payments one unit period apart form a run, whose present value is a
geometric series in closed form, so a 360-payment mortgage costs a handful
of operations per evaluation, not 360. With one advance the rate is found by
Newton's method in floats and finished by a Decimal Newton step, which
leaves it exact far below the disclosed digits; anything else (several
advances, an extreme schedule) takes a bracketing search in Decimal that
cannot miss the root.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from actors.calculation.money import HUNDRED, ONE, ZERO

Run = tuple[Decimal, int, Decimal, int]
"""(amount, first whole period, fraction, count): equal amounts one unit apart."""

_TOLERANCE = Decimal("1E-22")
_MAX_RATE = Decimal(1000)
_MIN_RATE = Decimal("-0.99")


def unit_rate(
    adv_runs: Sequence[Run], pay_runs: Sequence[Run], per_year: Decimal, start: float = 0.0
) -> Decimal:
    """The rate per unit period that balances advances and payments, in the
    caller's (engine) context; `start` is a guess that only saves steps."""
    rate = _fast_root(adv_runs, pay_runs, per_year, start)
    if rate is not None:
        return rate

    def gap(i: Decimal) -> Decimal:
        return present_value(pay_runs, i) - present_value(adv_runs, i)

    return _root(gap)


def present_value(runs: Sequence[Run], i: Decimal) -> Decimal:
    """Σ over runs of amount · v^first · (1 + v + … + v^(count-1)) / (1 + fraction·i),
    v = 1/(1+i): each run's geometric series in closed form. A run that starts
    where the last one ended reuses its powers of v."""
    total = ZERO
    if i == 0:
        for amount, _, _, count in runs:
            total += amount * count
        return total
    growth = ONE + i
    v = ONE / growth
    powers: dict[int, Decimal] = {}
    lead = ONE
    step = ONE
    after = 0
    for amount, first, fraction, count in runs:
        lead = lead * step if first == after else v**first
        step = powers.get(count) or powers.setdefault(count, v**count)
        annuity = (ONE - step) / i * growth if count > 1 else ONE
        value = amount * lead * annuity
        total += value / (ONE + fraction * i) if fraction else value
        after = first + count
    return total


_FloatRun = tuple[float, int, float, int]
_NEAR_ZERO = 1e-4
"""Below this rate the closed forms lose digits in floats; sum the terms instead."""


def _float_terms(runs: Iterable[_FloatRun], i: float) -> tuple[float, float]:
    """Present value and its slope d/di, in floats: the estimate's arithmetic.

    Per run, with y = 1/(1+i): s0 = Σ y^k and s1 = Σ k·y^k over k < count,
    both in closed form (summed when i is near zero)."""
    y = 1.0 / (1.0 + i)
    sums: dict[int, tuple[float, float]] = {}
    value = slope = 0.0
    for amount, first, fraction, count in runs:
        found = sums.get(count)
        if found is not None:
            s0, s1 = found
        elif count == 1:
            s0, s1 = 1.0, 0.0
        elif abs(i) < _NEAR_ZERO:
            s0 = s1 = 0.0
            power = 1.0
            for k in range(count):
                s0 += power
                s1 += k * power
                power *= y
            sums[count] = s0, s1
        else:
            y_count = y**count
            one_less = i * y  # 1 - y
            s0 = (1.0 - y_count) / one_less
            s1 = y * (1.0 - count * y_count / y + (count - 1) * y_count) / (one_less * one_less)
            sums[count] = s0, s1
        lead = y**first
        g = lead * s0
        dg = -y * lead * (first * s0 + s1)
        if fraction:
            den = 1.0 + fraction * i
            value += amount * g / den
            slope += amount * (dg * den - g * fraction) / (den * den)
        else:
            value += amount * g
            slope += amount * dg
    return value, slope


def _fast_root(
    adv_runs: Sequence[Run], pay_runs: Sequence[Run], per_year: Decimal, start: float = 0.0
) -> Decimal | None:
    """The rate by Newton's method: to float precision in floats, then finished
    in Decimal, where one step squares the float estimate's error (a second
    confirms it when the estimate was poor).

    Only for one advance (at time 0, since time counts from the first
    advance) repaid by positive payments, where the gap falls strictly as the
    rate rises and the root is unique; None (use the bracketing solver) for
    anything else or when floats overflow on an extreme schedule.
    """
    if len(adv_runs) != 1:
        return None
    advance, periods, fraction, count = adv_runs[0]
    if count != 1 or periods != 0 or fraction != 0 or advance <= 0:
        return None
    if not all(run[0] > 0 for run in pay_runs):
        return None
    try:
        pay_f = [(float(a), t, float(f), n) for a, t, f, n in pay_runs]
        log_advance = math.log(float(advance))
        # Newton on log(payments' value) - log(advance): nearly straight in
        # the rate, so a handful of steps from zero reach float precision.
        estimate = start if _MIN_RATE_F < start < _MAX_RATE_F else 0.0
        last = math.inf
        for _ in range(_FLOAT_STEPS):
            value, slope = _float_terms(pay_f, estimate)
            if not (value > 0 and slope < 0):
                return None
            step = (math.log(value) - log_advance) * value / slope
            estimate -= step
            if not _MIN_RATE_F < estimate < _MAX_RATE_F:
                return None
            # Close enough that the Decimal step lands far below what is shown,
            # or where rounding noise stops the steps shrinking.
            if abs(step) <= _FLOAT_CLOSE * abs(estimate) or abs(step) >= last:
                break
            last = abs(step)
        else:
            return None
        tolerance = _NEEDED / (per_year * HUNDRED)
        rate = Decimal(estimate)
        for again in range(_DECIMAL_STEPS):
            exact_gap = present_value(pay_runs, rate) - advance
            if again:
                slope = _float_terms(pay_f, float(rate))[1]
            # (The first step reuses the last float slope, taken a hair away:
            # a slope that close only adds a negligible factor to the error.)
            correction = exact_gap / Decimal(slope)
            rate -= correction
            if abs(correction) < tolerance:
                return rate
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return None


_FLOAT_STEPS = 100
_FLOAT_CLOSE = 1e-10
_DECIMAL_STEPS = 6
_NEEDED = Decimal("1E-12")
"""How close, in percent a year, the last Newton step must come: a millionth of
the last disclosed digit of apr_exact; the error after that step is smaller
still, since each step squares it."""
_MIN_RATE_F = float(_MIN_RATE)
_MAX_RATE_F = float(_MAX_RATE)


def _root(gap: Callable[[Decimal], Decimal]) -> Decimal:
    """The Illinois variant of regula falsi inside a bracket that always
    holds the root: it cannot diverge and converges superlinearly.

    The gap (payments' present value minus advances') falls as the rate
    rises, so a positive gap means the rate is too low.
    """
    g_zero = gap(ZERO)
    if g_zero == 0:
        return ZERO
    if g_zero > 0:
        low, g_low = ZERO, g_zero
        high = Decimal("0.01")
        g_high = gap(high)
        while g_high > 0:
            low, g_low = high, g_high
            high *= 4
            if high > _MAX_RATE:
                raise ValueError("the payments imply no finite rate")
            g_high = gap(high)
    else:
        high, g_high = ZERO, g_zero
        low = Decimal("-0.01")
        g_low = gap(low)
        while g_low < 0:
            high, g_high = low, g_low
            low = max(low * 4, _MIN_RATE)
            g_low = gap(low)
            if g_low < 0 and low == _MIN_RATE:
                raise ValueError("the payments imply no rate above -99% per period")
    previous = low
    side = 0
    for _ in range(400):
        guess = (low * g_high - high * g_low) / (g_high - g_low)
        g_guess = gap(guess)
        if g_guess == 0 or abs(guess - previous) < _TOLERANCE:
            return guess
        previous = guess
        if g_guess < 0:
            high, g_high = guess, g_guess
            if side == -1:
                g_low /= 2
            side = -1
        else:
            low, g_low = guess, g_guess
            if side == 1:
                g_high /= 2
            side = 1
    return previous
