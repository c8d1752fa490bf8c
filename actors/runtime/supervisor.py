"""The supervisor: an actor whose mailbox receives its children's exits.

It follows OTP: children start in order (each one's on_start finishes before
the next starts) and stop in reverse; a crash is answered per strategy and
restart type; more than max_restarts restarts within period seconds and the
supervisor stops its children and crashes itself, so its own parent decides.
Restarts wait an exponential backoff with jitter so a crash loop against a
failing dependency does not spin; the wait is a timer the supervisor tells
itself, so it goes on hearing its other children meanwhile.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic
from typing import TYPE_CHECKING, Any, cast

from actors.runtime.actor import ActorContext, Escalation, RatelineActor
from actors.runtime.cell import ALIVE, DOWN, Cell, Exited, Tell
from actors.runtime.metrics import RESTARTS
from actors.runtime.specs import ChildSpec, SupervisorSpec
from protocols.backoff import backoff_delay

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors.runtime.system import ActorSystem

logger = logging.getLogger("rateline.actors")

RESTART_JITTER = 0.25
"""Restarts of many children after one outage spread over a quarter of the wait."""


@dataclass(frozen=True)
class RestartRecord:
    """One restart of a name, for logs, health pages and tests."""

    at: datetime
    reason: str
    delay: float


@dataclass(frozen=True)
class _Restart:
    """Told to the supervisor by its own timer once a restart's backoff has passed."""

    crashed: Cell
    cells: tuple[Cell, ...]
    why: str
    delay: float


def describe_exit(name: str, crash: BaseException | None) -> str:
    """One phrase naming who ended and how; an escalation already names its supervisor."""
    if crash is None:
        return f"{name} stopped"
    if isinstance(crash, Escalation):
        return str(crash)
    return f"{name} crashed: {crash!r}"


class Supervisor(RatelineActor):
    def __init__(self, ctx: ActorContext) -> None:
        super().__init__(ctx)
        spec = self._rl_cell.spec
        assert isinstance(spec, SupervisorSpec)
        assert ctx.system is not None
        self.spec = spec
        self.system: ActorSystem = ctx.system
        self.children: list[Cell] = list(self._rl_cell.children)
        self.restarts: deque[float] = deque()

    def on_start(self) -> None:
        for cell in self.children:
            if self.system.stopping:
                return
            self._start(cell)

    def handle(self, message: Any) -> Any:
        if isinstance(message, Exited):
            self._child_exited(message)
        elif isinstance(message, _Restart):
            self._restart(message)
        else:
            logger.warning("supervisor %s ignored %r", self.name, message)

    def on_stop(self) -> None:
        self._stop_children()

    def on_failure(self, *exc_info: Any) -> None:
        self._stop_children()

    # -- decisions -------------------------------------------------------------

    def _child_exited(self, event: Exited) -> None:
        cell = event.cell
        if cell.actor is not event.actor or cell not in self.children or self.system.stopping:
            return
        why = describe_exit(cell.name, event.crash)
        restart = _restart_type(cell)
        if restart == "temporary" or (restart == "transient" and event.crash is None):
            logger.info("%s; not restarted (%s)", why, restart)
            self._remove(cell, f"stopped for good ({why})")
            return

        now = monotonic()
        self.restarts.append(now)
        while self.restarts and self.restarts[0] < now - self.spec.period:
            self.restarts.popleft()
        if len(self.restarts) > self.spec.max_restarts:
            self._stop_children()
            raise Escalation(
                f"supervisor {self.name} gave up after more than {self.spec.max_restarts} "
                f"restarts within {self.spec.period} s; last: {why}"
            )

        index = self.children.index(cell)
        if self.spec.strategy == "one_for_one":
            affected = [cell]
        elif self.spec.strategy == "one_for_all":
            affected = list(self.children)
        else:
            affected = self.children[index:]
        for sibling in reversed(affected):
            if sibling is not cell:
                self._retire(sibling)
        for sibling in list(affected):
            if sibling is not cell and _restart_type(sibling) == "temporary":
                affected.remove(sibling)
                self._remove(sibling, f"stopped for good (a sibling restarted: {why})")

        delay = backoff_delay(
            self._attempt(cell, now),
            initial=self.spec.backoff_initial,
            cap=self.spec.backoff_max,
            jitter=RESTART_JITTER,
        )
        logger.warning("%s; restarting in %.3f s", why, delay)
        self.tell_later(delay, _Restart(cell, tuple(affected), why, delay))

    def _restart(self, due: _Restart) -> None:
        if self.system.stopping:
            return
        for target in due.cells:
            if target not in self.children or target.state is ALIVE:
                continue  # stopped for good, or already back (restarted by a later decision)
            reason = due.why
            if target is not due.crashed:
                reason = f"restarted along with {due.crashed.name}: {due.why}"
            target.history.append(RestartRecord(datetime.now(UTC), reason, due.delay))
            RESTARTS.labels(target.name).inc()
            self._start(target)

    def _attempt(self, cell: Cell, now: float) -> int:
        """How many times this child was restarted within the period (for backoff)."""
        recent = cell.recent
        while recent and recent[0] < now - self.spec.period:
            recent.popleft()
        attempt = len(recent)
        recent.append(now)
        return attempt

    # -- mechanics -------------------------------------------------------------

    def _start(self, cell: Cell) -> None:
        spec = cell.spec
        ctx = ActorContext(
            name=cell.name,
            loop=self.ctx.loop,
            system=self.system,
            deps=self.ctx.deps,
            cell=cell,
        )
        cell.actor = None
        cell.ref = None
        cell.state = DOWN
        try:
            if isinstance(spec, SupervisorSpec):
                Supervisor.start(ctx)
            elif isinstance(spec, ChildSpec):
                factory = spec.factory
                if isinstance(factory, type) and issubclass(factory, RatelineActor):
                    factory.start(ctx, *spec.args, **spec.kwargs)
                else:
                    cast("Callable[[ActorContext], object]", factory)(ctx)
            if cell.actor is None:
                raise TypeError(f"{cell.name}: factory did not start a RatelineActor with its ctx")
        except Exception as exc:
            logger.error("%s could not be started: %r", cell.name, exc, exc_info=exc)
            cell.actor = None
            cell.ref = None
            self._rl_cell.post(Tell(Exited(cell, None, exc)))
            return
        timeout = spec.start_timeout if isinstance(spec, ChildSpec) else None
        if not cell.actor._rl_started.wait(timeout):
            logger.warning("%s is still in on_start after %s s", cell.name, timeout)

    def _retire(self, cell: Cell) -> None:
        actor = cell.actor
        if actor is None:
            return
        timeout = cell.spec.shutdown_timeout if isinstance(cell.spec, ChildSpec) else None
        actor._rl_retire(timeout)

    def _stop_children(self) -> None:
        for cell in reversed(self.children):
            self._retire(cell)

    def _remove(self, cell: Cell, why: str) -> None:
        self.children.remove(cell)
        self.system._mark_gone(cell, why)


def _restart_type(cell: Cell) -> str:
    return cell.spec.restart if cell.spec is not None else "temporary"
