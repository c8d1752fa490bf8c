"""A bounded decimal's pattern (what the document says) admits exactly the
strings its Bounds accept (what the server does)."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.api import agents, mortgage
from protocols.api.decimals import Bounds, decode_json, range_pattern

ALL_BOUNDS = sorted(
    {
        value
        for module in (mortgage, agents)
        for value in vars(module).values()
        if isinstance(value, Bounds)
    },
    key=repr,
)

numbers = st.builds(
    lambda sign, zeros, whole, fraction: f"{sign}{zeros}{whole}{fraction}",
    st.sampled_from(["", "-"]),
    st.sampled_from(["", "0", "00"]),
    st.one_of(st.integers(0, 20), st.integers(0, 2_000), st.integers(0, 10**9)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,6}", fullmatch=True)),
)


@settings(max_examples=300, deadline=None)
@given(text=numbers, bounds=st.sampled_from(ALL_BOUNDS))
def test_the_pattern_and_the_check_agree(text: str, bounds: Bounds) -> None:
    pattern = re.compile(
        range_pattern(bounds.low, bounds.high, bounds.places, low_open=bounds.low_open)
    )
    assert bool(pattern.fullmatch(text)) == (bounds.problem(text) is None), text


def test_numbers_are_judged_by_value_and_decimals() -> None:
    cents = Bounds(0, 100, 2, low_open=True)
    assert cents.problem(Decimal("99.5")) is None
    assert cents.problem(Decimal("1.500")) is None, "1.500 is 1.5"
    assert cents.problem(Decimal("5E-324")) == "must have at most 2 decimals"
    assert cents.problem(Decimal("1E+40")) == "must be greater than 0 and at most 100"
    assert cents.problem("1e2") is not None, "no exponent in a decimal string"
    assert cents.problem(True) is None, "a wrong type is left to msgspec"


def test_whole_json_numbers_decode_as_integers() -> None:
    assert decode_json(b"[18.0, 1e2, 6.125, 1e30]") == [18, 100, Decimal("6.125"), Decimal("1e30")]
