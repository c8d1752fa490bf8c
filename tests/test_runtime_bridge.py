"""Names, the asyncio bridge, dead letters and metrics of the actor runtime."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import REGISTRY, generate_latest

from actors.runtime import (
    ActorSystem,
    ActorTimeout,
    ActorUnavailable,
    ChildSpec,
    DeadLetter,
    pool,
)
from tests.support.actors import Harness, Probe, probe, sup


def sample(name: str, actor: str) -> float:
    return REGISTRY.get_sample_value(name, {"actor": actor}) or 0.0


async def test_a_name_reaches_the_new_incarnation_after_a_crash(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("rates.fetcher")))
    first = await system.ask("rates.fetcher", "who")

    system.tell("rates.fetcher", "crash")
    second = await system.ask("rates.fetcher", "who")

    assert second != first
    assert await system.ask("rates.fetcher", ("echo", 41)) == 41


async def test_a_message_sent_during_a_restart_waits_for_the_new_incarnation(
    harness: Harness,
) -> None:
    spec = sup("root", probe("w"), backoff_initial=0.2, backoff_max=0.2)
    system = await harness.start(spec)

    system.tell("w", "crash")
    await harness.recorder.until(lambda: harness.recorder.count("failure", "w") == 1)

    assert await system.ask("w", ("echo", "still here"), timeout=5) == "still here"
    assert harness.recorder.count("start", "w") == 2


async def test_a_message_sent_during_a_long_restart_gives_up_with_a_clear_error(
    harness: Harness,
) -> None:
    spec = sup("root", probe("rates.fetcher"), backoff_initial=3.0, backoff_max=3.0)
    system = await harness.start(spec)

    system.tell("rates.fetcher", "crash")
    await harness.recorder.until(lambda: harness.recorder.count("failure", "rates.fetcher") == 1)

    with pytest.raises(ActorUnavailable) as caught:
        await system.ask("rates.fetcher", "who", timeout=0.2)
    assert str(caught.value) == "rates.fetcher is restarting; gave up after 0.2 s"


async def test_a_busy_actor_times_out_with_a_clear_error(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w")))
    gate = threading.Event()
    busy = asyncio.ensure_future(system.ask("w", ("gate", gate)))
    await harness.recorder.until(lambda: harness.recorder.count("gate", "w") == 1)

    with pytest.raises(ActorTimeout, match=r"^w did not reply within 0.1 s$"):
        await system.ask("w", "who", timeout=0.1)

    gate.set()
    assert await busy == "through"


async def test_messages_nobody_can_receive_are_counted_as_dead_letters(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("once", restart="temporary"), probe("w")))
    before_unknown = sample("rateline_actor_dead_letters_total", "nobody")
    before_once = sample("rateline_actor_dead_letters_total", "once")

    with pytest.raises(DeadLetter, match="no actor is registered as 'nobody'"):
        await system.ask("nobody", "who")
    with pytest.raises(DeadLetter):
        system.tell("nobody", "hello")

    gate = threading.Event()
    waiting = asyncio.ensure_future(system.ask("once", ("gate", gate)))
    await asyncio.sleep(0)
    system.tell("once", "crash")
    system.tell("once", ("record", 1))
    lost = asyncio.ensure_future(system.ask("once", "who"))
    gate.set()
    assert await waiting == "through"
    with pytest.raises(DeadLetter, match="once"):
        await lost
    with pytest.raises(DeadLetter, match="once has stopped for good"):
        system.tell("once", ("record", 2))

    assert sample("rateline_actor_dead_letters_total", "nobody") == before_unknown + 2
    assert sample("rateline_actor_dead_letters_total", "once") == before_once + 3
    assert system.is_alive("w")


async def test_an_error_in_an_ask_goes_back_to_the_caller_and_the_actor_lives_on(
    harness: Harness,
) -> None:
    system = await harness.start(sup("root", probe("w")))
    before = await system.ask("w", "who")

    with pytest.raises(ValueError, match="principal must be positive"):
        await system.ask("w", ("fail", "principal must be positive"))

    assert await system.ask("w", "who") == before
    assert system.restarts("w") == []


async def test_ten_thousand_concurrent_asks_are_answered_without_blocking_the_loop(
    harness: Harness,
) -> None:
    system = await harness.start(sup("root", probe("w")))
    gate = threading.Event()
    threads_before = threading.active_count()
    ticks = 0
    most_threads = 0

    async def ticker() -> None:
        nonlocal ticks, most_threads
        while ticks < 5:
            await asyncio.sleep(0.001)
            ticks += 1
            most_threads = max(most_threads, threading.active_count())
        gate.set()  # the actor is held until the loop has shown it is free

    held = system.ask("w", ("gate", gate), timeout=30)
    asks = [system.ask("w", ("echo", i), timeout=30) for i in range(10_000)]
    results = await asyncio.gather(held, ticker(), *asks)

    assert results[0] == "through"
    assert results[2:] == list(range(10_000))
    assert ticks == 5
    assert most_threads <= threads_before + 1


async def test_tells_arrive_in_order(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w")))

    for i in range(100):
        system.tell("w", ("record", i))

    assert await system.ask("w", "log") == list(range(100))


async def test_an_actor_runs_io_on_the_loop_and_waits_in_its_own_thread(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w")))

    answers = await asyncio.gather(*(system.ask("w", ("io", i)) for i in range(5)))

    assert answers == [0, 2, 4, 6, 8]


async def test_an_actor_can_ask_another_from_its_thread(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("a"), probe("b")))

    assert await system.ask("a", ("relay", "b", ("echo", "via a"))) == "via a"
    with pytest.raises(RuntimeError, match="block the event loop"):
        system.ask_blocking("b", "who")


async def test_ask_any_spreads_work_over_the_pool_and_skips_a_down_worker(
    harness: Harness,
) -> None:
    spec = sup("root", *pool("calc", 3, Probe), backoff_initial=3.0, backoff_max=3.0)
    system = await harness.start(spec)

    served = [await system.ask_any("calc", "who") for _ in range(30)]
    assert sorted(served.count(urn) for urn in set(served)) == [10, 10, 10]

    system.tell("calc.2", "crash")
    await harness.recorder.until(lambda: harness.recorder.count("failure", "calc.2") == 1)
    for _ in range(200):
        if not system.is_alive("calc.2"):
            break
        await asyncio.sleep(0.005)
    alive = {await system.ask("calc.1", "who"), await system.ask("calc.3", "who")}
    assert {await system.ask_any("calc", "who") for _ in range(6)} == alive

    with pytest.raises(DeadLetter, match="no actor is registered as 'nopool'"):
        await system.ask_any("nopool", "who")


async def test_metrics_show_handled_messages_mailbox_and_restarts(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("metered")))
    handled_before = sample("rateline_actor_messages_total", "metered")
    restarts_before = sample("rateline_actor_restarts_total", "metered")

    for i in range(10):
        await system.ask("metered", ("echo", i))
    system.tell("metered", "crash")
    await system.ask("metered", "who")

    assert sample("rateline_actor_messages_total", "metered") == handled_before + 12
    assert sample("rateline_actor_message_seconds_count", "metered") == handled_before + 12
    assert sample("rateline_actor_restarts_total", "metered") == restarts_before + 1
    assert sample("rateline_actor_mailbox_depth", "metered") == 0
    exposition = generate_latest().decode()
    assert 'rateline_actor_message_seconds_bucket{actor="metered",le="+Inf"}' in exposition


async def test_mailbox_depth_counts_waiting_messages(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("deep")))
    gate = threading.Event()
    held = asyncio.ensure_future(system.ask("deep", ("gate", gate)))
    await harness.recorder.until(lambda: harness.recorder.count("gate", "deep") == 1)

    for i in range(7):
        system.tell("deep", ("record", i))

    assert sample("rateline_actor_mailbox_depth", "deep") == 7
    gate.set()
    await held
    assert await system.ask("deep", "log") == list(range(7))


async def test_after_stop_every_name_is_a_dead_letter(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w")))
    gate = threading.Event()
    held = asyncio.ensure_future(system.ask("w", ("gate", gate)))
    await harness.recorder.until(lambda: harness.recorder.count("gate", "w") == 1)
    queued = asyncio.ensure_future(system.ask("w", "who"))

    stopping = asyncio.ensure_future(asyncio.to_thread(system.stop, 5.0))
    for _ in range(400):  # the stop request has reached w, ahead of the queued ask
        if sample("rateline_actor_mailbox_depth", "w") == 2:
            break
        await asyncio.sleep(0.005)
    gate.set()
    await stopping

    assert await held == "through"
    with pytest.raises(DeadLetter, match="w"):
        await queued
    with pytest.raises(DeadLetter, match="w has stopped for good"):
        await system.ask("w", "who")
    assert system.unhealthy_permanent() == ["root", "w"]


async def test_a_factory_function_can_pass_its_own_arguments(harness: Harness) -> None:
    spec = sup("root", ChildSpec("w", lambda ctx: Probe.start(ctx, fail_starts=1)))
    system = await harness.start(spec)

    assert await system.ask("w", ("echo", "ok")) == "ok"
    assert harness.recorder.count("start", "w") == 2


def test_a_system_is_started_once() -> None:
    loop = asyncio.new_event_loop()
    try:
        system = ActorSystem(loop)
        system.start(sup("root"))
        with pytest.raises(RuntimeError, match="already started"):
            system.start(sup("root"))
        system.stop()
    finally:
        loop.close()


async def test_a_timer_tells_its_incarnation_and_dies_with_it(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w")))

    await system.ask("w", ("later", 0.01, "on time"))
    for _ in range(200):
        if await system.ask("w", "log") == ["on time"]:
            break
        await asyncio.sleep(0.005)
    assert await system.ask("w", "log") == ["on time"]

    await system.ask("w", ("later", 0.3, "stale"))
    system.tell("w", "crash")
    await system.ask("w", "who")
    await asyncio.sleep(0.4)
    assert await system.ask("w", "log") == []


async def test_pykka_refs_and_proxies_reach_the_incarnation(harness: Harness) -> None:
    system = await harness.start(sup("root", probe("w")))
    ref = system.ref("w")
    assert ref is not None

    assert await asyncio.to_thread(lambda: ref.ask(("echo", 7), timeout=5)) == 7
    proxy = ref.proxy()
    assert await asyncio.to_thread(lambda: proxy.name.get(timeout=5)) == "w"


def test_an_actor_implements_handle_not_on_receive() -> None:
    with pytest.raises(TypeError, match="implement handle"):

        class Wrong(Probe):
            def on_receive(self, message: object) -> object:
                return message
