"""ARMs: the index path, caps in the note's order, the floor, 1/8 rounding and
recasting at every change date."""

from __future__ import annotations

from decimal import Decimal

from actors.calculation.amortization import BALANCE, PAYMENT, RATE, amortize, level_payment
from actors.calculation.arm import ArmTerms, amortize_arm, change_dates, rate_path, round_rate

D = Decimal


def terms(**overrides: object) -> ArmTerms:
    values: dict[str, object] = {
        "initial_rate": D("5.5"),
        "fixed_months": 60,
        "adjust_every_months": 6,
        "margin": D("2.75"),
        "initial_cap": D(2),
        "periodic_cap": D(1),
        "lifetime_cap": D(5),
    }
    values.update(overrides)
    return ArmTerms(**values)  # type: ignore[arg-type]


def test_change_dates_follow_the_fixed_period_then_every_adjustment() -> None:
    assert change_dates(terms(), 360)[:3] == [61, 67, 73]
    assert len(change_dates(terms(), 360)) == 50


def test_initial_then_periodic_then_lifetime_caps_bind_in_order() -> None:
    path = rate_path(terms(), 360, [D(5), D(6), D(7), D(9)])
    rates = [path[m] for m in (61, 67, 73, 79, 85)]
    # 5 + 2.75 = 7.75 → initial cap 5.5 + 2 = 7.5
    # 6 + 2.75 = 8.75 → periodic cap 7.5 + 1 = 8.5
    # 7 + 2.75 = 9.75 → periodic cap 9.5
    # 9 + 2.75 = 11.75 → periodic 10.5, lifetime ceiling 5.5 + 5 = 10.5
    # held at 9 → stays at the ceiling
    assert rates == [D("7.5"), D("8.5"), D("9.5"), D("10.5"), D("10.5")]


def test_lifetime_cap_binds_before_the_periodic_cap_would() -> None:
    path = rate_path(terms(initial_cap=D(5), periodic_cap=D(2), lifetime_cap=D(3)), 360, [D(10)])
    assert path[61] == D("8.5")
    assert path[67] == D("8.5")


def test_falling_index_is_limited_by_caps_and_then_the_floor() -> None:
    path = rate_path(terms(initial_rate=D("7")), 360, [D("1"), D("0.5"), D("-1")])
    # targets 3.75, 3.25, 1.75: the initial cap stops the fall at 5, the
    # periodic cap at 4 and 3, and then the floor (the margin) at 2.75
    assert [path[61], path[67], path[73], path[79]] == [D(5), D(4), D(3), D("2.75")]
    assert min(path.values()) >= D("2.75")
    floored = rate_path(terms(initial_rate=D("7"), floor=D("4.5")), 360, [D(0)])
    assert [floored[61], floored[67], floored[73]] == [D(5), D("4.5"), D("4.5")]


def test_default_floor_is_the_margin() -> None:
    path = rate_path(terms(initial_rate=D("3"), initial_cap=D(5)), 360, [D("-1")])
    assert path[61] == D("2.75")


def test_nearest_eighth_rounding_applies_before_the_caps() -> None:
    assert round_rate(D("7.0625"), "nearest_eighth") == D("7.125")
    assert round_rate(D("7.06"), "nearest_eighth") == D("7.0")
    path = rate_path(terms(rate_rounding="nearest_eighth"), 360, [D("3.33")])
    assert path[61] == D("6.125")  # 3.33 + 2.75 = 6.08 → 6.125
    unrounded = rate_path(terms(), 360, [D("3.33")])
    assert unrounded[61] == D("6.08")


def test_short_index_path_holds_its_last_value_and_current_index_holds_flat() -> None:
    short = rate_path(terms(), 360, [D("3.5")])
    assert set(short.values()) == {D("6.25")}
    flat = rate_path(terms(), 360, (), current_index=D("3.5"))
    assert flat == short


def test_recast_at_every_change_date_even_when_the_rate_is_unchanged() -> None:
    unchanged = terms(margin=D("2.75"))
    schedule = amortize_arm(
        D("300000"), 360, unchanged, current_index=D("2.75"), extra_monthly=D("500")
    )
    assert all(row[RATE] == D("5.5") for row in schedule.rows)
    before = schedule.rows[59]
    after = schedule.rows[60]
    # extra principal paid down the balance, so the recast payment is lower
    assert after[PAYMENT] - D("500") == level_payment(before[BALANCE], D("5.5"), 300)
    assert after[PAYMENT] < before[PAYMENT]


def test_arm_schedule_recasts_to_the_new_rate_and_still_ends_at_zero() -> None:
    schedule = amortize_arm(D("300000"), 360, terms(), [D(5), D(6), D(7)])
    assert schedule.rows[59][PAYMENT] == D("1703.37")
    assert schedule.rows[60][RATE] == D("7.5")
    assert schedule.rows[60][PAYMENT] == level_payment(schedule.rows[59][BALANCE], D("7.5"), 300)
    assert str(schedule.rows[-1][BALANCE]) == "0.00"
    assert len(schedule.rows) == 360


def test_arm_held_at_the_initial_rate_tracks_the_fixed_schedule_within_a_cent() -> None:
    fixed = amortize(D("300000"), D("5.5"), 360)
    arm = amortize_arm(D("300000"), 360, terms(), current_index=D("2.75"))
    assert [r[PAYMENT] for r in arm.rows[:60]] == [r[PAYMENT] for r in fixed.rows[:60]]
    # a recast re-rounds the payment on the rounded balance: a cent at most
    assert all(
        abs(a[PAYMENT] - f[PAYMENT]) <= D("0.01")
        for a, f in zip(arm.rows[:-1], fixed.rows[:-1], strict=True)
    )
    assert str(arm.rows[-1][BALANCE]) == "0.00"
