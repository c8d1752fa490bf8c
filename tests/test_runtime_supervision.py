"""Supervision: start and stop order, strategies, restart types, intensity, backoff."""

from __future__ import annotations

import asyncio

import pytest

from actors.runtime import (
    ActorSystem,
    ChildSpec,
    DeadLetter,
    SupervisorSpec,
)
from tests.support.actors import Harness, Probe, probe, sup


async def crash_and_wait(system: ActorSystem, name: str) -> tuple[str, str]:
    """Crash the named actor; return its identity before and after the restart."""
    before = await system.ask(name, "who")
    system.tell(name, "crash")
    after = await system.ask(name, "who")
    return before, after


# -- order ------------------------------------------------------------------------


async def test_children_start_in_order_and_stop_in_reverse(harness: Harness) -> None:
    spec = sup("root", probe("a"), probe("b"), sup("inner", probe("c"), probe("d")))
    system = await harness.start(spec)

    assert harness.recorder.kinds("start") == ["a", "b", "c", "d"]
    assert all(system.is_alive(name) for name in "abcd")
    assert system.unhealthy_permanent() == []

    await asyncio.to_thread(system.stop)

    assert harness.recorder.kinds("stop") == ["d", "c", "b", "a"]
    assert not any(system.is_alive(name) for name in "abcd")


# -- strategies ---------------------------------------------------------------------


async def identities(system: ActorSystem, names: str) -> dict[str, str]:
    return {name: await system.ask(name, "who") for name in names}


async def test_one_for_one_restarts_only_the_crashed_child(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("a"), probe("b"), probe("c")))
    before = await identities(system, "abc")

    system.tell("b", "crash")
    after = await identities(system, "abc")

    assert after["b"] != before["b"]
    assert after["a"] == before["a"]
    assert after["c"] == before["c"]
    assert [r.reason for r in system.restarts("b")] == [
        "b crashed: RuntimeError('b was told to crash')"
    ]


async def test_one_for_all_restarts_every_child(harness: Harness) -> None:
    spec = sup("root", probe("a"), probe("b"), probe("c"), strategy="one_for_all")
    system = await harness.start(spec)
    before = await identities(system, "abc")

    system.tell("b", "crash")
    await harness.recorder.until(lambda: harness.recorder.kinds("start").count("c") == 2)
    after = await identities(system, "abc")

    assert all(after[name] != before[name] for name in "abc")
    assert harness.recorder.kinds("stop") == ["c", "a"]
    assert harness.recorder.kinds("start")[3:] == ["a", "b", "c"]


async def test_rest_for_one_restarts_the_crashed_child_and_those_after_it(
    harness: Harness,
) -> None:
    spec = sup("root", probe("a"), probe("b"), probe("c"), strategy="rest_for_one")
    system = await harness.start(spec)
    before = await identities(system, "abc")

    system.tell("b", "crash")
    await harness.recorder.until(lambda: harness.recorder.kinds("start").count("c") == 2)
    after = await identities(system, "abc")

    assert after["a"] == before["a"]
    assert after["b"] != before["b"]
    assert after["c"] != before["c"]
    assert harness.recorder.kinds("start")[3:] == ["b", "c"]


# -- restart types --------------------------------------------------------------------


async def stop_from_outside(system: ActorSystem, name: str) -> None:
    ref = system.ref(name)
    assert ref is not None
    assert await asyncio.to_thread(ref.stop)


async def test_permanent_child_is_restarted_after_a_crash_and_after_an_outside_stop(
    harness: Harness,
) -> None:
    system = await harness.start(sup("root", probe("w")))

    first, second = await crash_and_wait(system, "w")
    await stop_from_outside(system, "w")
    third = await system.ask("w", "who")

    assert len({first, second, third}) == 3
    assert [r.reason for r in system.restarts("w")][-1] == "w stopped"


async def test_transient_child_is_restarted_after_a_crash_but_not_after_a_normal_stop(
    harness: Harness,
) -> None:
    system = await harness.start(sup("root", probe("w", restart="transient"), probe("other")))

    first, second = await crash_and_wait(system, "w")
    assert first != second

    await stop_from_outside(system, "w")
    with pytest.raises(DeadLetter, match="w"):
        await system.ask("w", "who")
    assert not system.is_alive("w")
    assert harness.recorder.count("start", "w") == 2
    assert system.is_alive("other")


async def test_temporary_child_is_never_restarted(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w", restart="temporary")))

    system.tell("w", "crash")
    with pytest.raises(DeadLetter, match="w"):
        await system.ask("w", "who")

    assert harness.recorder.count("start", "w") == 1
    assert system.restarts("w") == []
    assert system.unhealthy_permanent() == []


async def test_crash_in_on_start_is_detected_and_restarted(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w", fail_starts=2)))

    assert await system.ask("w", ("echo", "hello")) == "hello"
    assert harness.recorder.count("start", "w") == 3
    assert [r.reason for r in system.restarts("w")] == [
        "w crashed: RuntimeError('w cannot start')"
    ] * 2


async def test_down_permanent_child_is_reported_unhealthy_until_it_is_back(
    harness: Harness,
) -> None:
    spec = sup(
        "root", probe("w"), probe("t", restart="transient"), backoff_initial=0.4, backoff_max=0.4
    )
    system = await harness.start(spec)

    system.tell("w", "crash")
    system.tell("t", "crash")
    await harness.recorder.until(lambda: harness.recorder.count("failure", "t") == 1)
    for _ in range(200):
        if system.unhealthy_permanent():
            break
        await asyncio.sleep(0.005)
    assert system.unhealthy_permanent() == ["w"]

    await system.ask("w", "who")
    await system.ask("t", "who")
    assert system.unhealthy_permanent() == []


# -- intensity and escalation ---------------------------------------------------------


async def test_too_many_restarts_stop_the_children_and_escalate_to_the_parent(
    harness: Harness,
) -> None:
    inner = sup("inner", probe("steady"), probe("crasher"), max_restarts=2, period=30)
    system = await harness.start(sup("root", inner, probe("bystander"), max_restarts=5))
    steady_before = await system.ask("steady", "who")

    for _ in range(3):
        system.tell("crasher", "crash")
    await harness.recorder.until(lambda: harness.recorder.count("start", "steady") == 2)
    steady_after = await system.ask("steady", "who")

    assert steady_after != steady_before
    assert harness.recorder.count("stop", "steady") == 1
    [escalation] = system.restarts("inner")
    assert "supervisor inner gave up after more than 2 restarts within 30 s" in escalation.reason
    assert "crasher crashed: RuntimeError('crasher was told to crash')" in escalation.reason
    assert harness.recorder.count("start", "bystander") == 1
    assert not harness.fatal.done()


async def test_escalation_at_the_top_calls_on_fatal_with_the_reason(harness: Harness) -> None:
    inner = sup("inner", probe("steady"), probe("crasher"), max_restarts=1, period=30)
    system = await harness.start(sup("root", inner, max_restarts=0))

    system.tell("crasher", "crash")
    system.tell("crasher", "crash")
    reason = await asyncio.wait_for(harness.fatal, 5)

    assert reason.startswith("supervisor root gave up after more than 0 restarts")
    assert "supervisor inner gave up after more than 1 restarts" in reason
    assert "crasher crashed: RuntimeError('crasher was told to crash')" in reason
    assert harness.recorder.kinds("stop") == ["steady"]
    assert sorted(system.unhealthy_permanent()) == ["crasher", "inner", "root", "steady"]
    with pytest.raises(DeadLetter, match="steady has stopped for good"):
        await system.ask("steady", "who")


async def test_restart_delays_grow_with_each_crash(harness: Harness) -> None:
    spec = sup(
        "root", probe("w"), max_restarts=10, period=60, backoff_initial=0.004, backoff_max=1.0
    )
    system = await harness.start(spec)

    for _ in range(5):
        await crash_and_wait(system, "w")

    delays = [record.delay for record in system.restarts("w")]
    assert len(delays) == 5
    assert delays == sorted(delays)
    assert len(set(delays)) == 5
    assert all(delay <= 1.0 for delay in delays)


async def test_a_child_that_cannot_be_constructed_counts_as_a_crash(harness: Harness) -> None:
    bad = ChildSpec("bad", Probe, kwargs={"no_such_argument": 1})
    await harness.start(sup("root", probe("ok"), bad, max_restarts=2))

    reason = await asyncio.wait_for(harness.fatal, 5)

    assert "bad crashed: TypeError(" in reason
    assert "no_such_argument" in reason


def test_specs_refuse_duplicate_names_and_unknown_strategies() -> None:
    with pytest.raises(ValueError, match="'a' is used twice"):
        sup("root", probe("a"), sup("inner", probe("a")))
    with pytest.raises(ValueError, match="strategy"):
        SupervisorSpec("root", [], strategy="one_for_some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="restart"):
        probe("a", restart="sometimes")
