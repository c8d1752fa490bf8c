"""Probe actors that record what happens to them, and a harness that runs
supervision trees on the test's loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from actors.runtime import (
    ActorContext,
    ActorSystem,
    ChildSpec,
    RatelineActor,
    SupervisorSpec,
)

Event = tuple[str, str, str]


class Recorder:
    """Lifecycle events from every actor thread, awaitable from the test."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._starts: dict[str, int] = {}

    def add(self, kind: str, name: str, urn: str) -> int:
        with self._cond:
            self.events.append((kind, name, urn))
            if kind == "start":
                self._starts[name] = self._starts.get(name, 0) + 1
            self._cond.notify_all()
            return self._starts.get(name, 0)

    def kinds(self, kind: str) -> list[str]:
        with self._cond:
            return [name for k, name, _ in self.events if k == kind]

    def count(self, kind: str, name: str) -> int:
        return self.kinds(kind).count(name)

    async def until(self, check: Callable[[], bool], within: float = 5.0) -> None:
        def wait() -> bool:
            with self._cond:
                return self._cond.wait_for(check, within)

        if not await asyncio.to_thread(wait):
            raise AssertionError(f"condition not met; events so far: {self.events}")


class Probe(RatelineActor):
    """A worker whose messages make it answer, fail, crash or stop on request."""

    def __init__(self, ctx: ActorContext, fail_starts: int = 0) -> None:
        super().__init__(ctx)
        self.recorder: Recorder = ctx.deps["recorder"]
        self.fail_starts = fail_starts
        self.log: list[Any] = []

    def on_start(self) -> None:
        starts = self.recorder.add("start", self.name, self.actor_urn)
        if starts <= self.fail_starts:
            raise RuntimeError(f"{self.name} cannot start")

    def on_stop(self) -> None:
        self.recorder.add("stop", self.name, self.actor_urn)

    def on_failure(self, *exc_info: Any) -> None:
        self.recorder.add("failure", self.name, self.actor_urn)

    def handle(self, message: Any) -> Any:
        match message:
            case "who":
                return self.actor_urn
            case "crash":
                raise RuntimeError(f"{self.name} was told to crash")
            case "log":
                return list(self.log)
            case ("record", item):
                self.log.append(item)
                return None
            case ("echo", value):
                return value
            case ("fail", text):
                raise ValueError(text)
            case ("gate", gate):
                self.recorder.add("gate", self.name, self.actor_urn)
                gate.wait(10)
                return "through"
            case ("later", delay, item):
                self.tell_later(delay, ("record", item))
                return None
            case ("io", value):
                return self.run_io(_double_later(value), timeout=5)
            case ("relay", name, inner):
                assert self.ctx.system is not None
                return self.ctx.system.ask_blocking(name, inner, timeout=5)
        raise ValueError(f"unknown message {message!r}")


async def _double_later(value: int) -> int:
    await asyncio.sleep(0.01)
    return value * 2


def sup(name: str, *children: ChildSpec | SupervisorSpec, **options: Any) -> SupervisorSpec:
    options.setdefault("backoff_initial", 0.001)
    options.setdefault("backoff_max", 0.01)
    return SupervisorSpec(name, children, **options)


def probe(name: str, restart: Any = "permanent", **kwargs: Any) -> ChildSpec:
    return ChildSpec(name, Probe, restart=restart, kwargs=kwargs)


class Harness:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.recorder = Recorder()
        self.fatal: asyncio.Future[str] = loop.create_future()
        self.systems: list[ActorSystem] = []

    async def start(self, spec: SupervisorSpec) -> ActorSystem:
        system = ActorSystem(
            self.loop,
            on_fatal=self._on_fatal,
            deps={"recorder": self.recorder},
        )
        self.systems.append(system)
        await asyncio.to_thread(system.start, spec)
        return system

    def _on_fatal(self, reason: str) -> None:
        if not self.fatal.done():
            self.fatal.set_result(reason)
