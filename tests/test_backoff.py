"""The one backoff rule every retry in the server follows."""

from __future__ import annotations

from protocols.backoff import backoff_delay


def test_the_wait_doubles_from_initial_up_to_the_cap() -> None:
    delays = [backoff_delay(n, initial=30.0, cap=3600.0) for n in range(10)]

    assert delays[:4] == [30.0, 60.0, 120.0, 240.0]
    assert delays[-1] == 3600.0
    assert backoff_delay(10_000, initial=30.0, cap=3600.0) == 3600.0


def test_jitter_only_shortens_a_wait_by_at_most_its_share() -> None:
    longest = backoff_delay(3, initial=1.0, cap=5.0, jitter=0.25, draw=lambda: 0.0)
    shortest = backoff_delay(3, initial=1.0, cap=5.0, jitter=0.25, draw=lambda: 1.0)
    at_cap = backoff_delay(9, initial=1.0, cap=5.0, jitter=0.25, draw=lambda: 0.0)

    assert (longest, shortest, at_cap) == (5.0, 3.75, 5.0)
    assert backoff_delay(1, initial=1.0, cap=5.0, jitter=0.25, draw=lambda: 1.0) == 1.5
