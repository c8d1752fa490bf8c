"""RatelineActor: a pykka ThreadingActor that a supervisor can watch and restart.

pykka has no links or monitors, so the base class reports every way an
incarnation can end (an exception in on_start, in a told message, in on_stop,
or a stop from outside) to its supervisor from the last thing its thread
does. The receive loop is our own so that the mailbox can outlive the actor
(a restarted actor picks up what was queued) and so that replies to the
event loop go straight through call_soon_threadsafe without a pykka future.

That means overriding three pykka 4 internals (_actor_loop,
_actor_loop_running, _handle_failure); everything else (start, refs, the
registry, on_start/on_stop/on_failure, proxies, ref.ask/tell/stop) is pykka's.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from bisect import bisect_left
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

import pykka
from pykka import ActorRef, ActorRegistry
from pykka._envelope import Envelope

from actors.runtime.cell import ALIVE, DOWN, GONE, Ask, Cell, Exited, Retire, Tell, reply
from actors.runtime.cell import settle as _settle
from actors.runtime.cell import settle_error as _settle_error
from actors.runtime.metrics import BOUNDS

if TYPE_CHECKING:
    from actors.runtime.system import ActorSystem

logger = logging.getLogger("rateline.actors")


class Escalation(Exception):
    """A supervisor gave up; the message says why, all the way down."""


@dataclass(frozen=True)
class ActorContext:
    """What an actor gets from the system: its name, the loop, and the server's deps."""

    name: str
    loop: asyncio.AbstractEventLoop
    system: ActorSystem | None = None
    deps: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    cell: Cell | None = field(default=None, repr=False, compare=False)  # set by the system


class RatelineActor(pykka.ThreadingActor):
    """Base for every actor. Subclasses implement handle(message) -> reply."""

    use_daemon_thread = True

    def __init__(self, ctx: ActorContext, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        cell = ctx.cell if ctx.cell is not None else Cell(ctx.name, None, None)
        self.ctx = ctx
        self.name = ctx.name
        self.actor_inbox = cell.mailbox
        self._actor_ref = ActorRef(self)
        self._rl_cell = cell
        self._rl_crash: BaseException | None = None
        self._rl_retired = False
        self._rl_started = threading.Event()
        self._rl_exited = threading.Event()
        cell.actor = self

    def handle(self, message: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not handle {message!r}")

    def on_receive(self, message: Any) -> Any:
        return self.handle(message)

    def run_io(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run a coroutine on the server's loop and wait for it in this actor's thread."""
        loop = self.ctx.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError("run_io called on the event loop thread; it would deadlock")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(f"{self.name}: I/O did not finish within {timeout} s") from None

    # -- the incarnation's life, in its own thread --------------------------------

    def _actor_loop(self) -> None:
        cell = self._rl_cell
        try:
            self._actor_loop_setup()
            if not self.actor_stopped.is_set() and cell.actor is self and cell.state is not GONE:
                cell.state = ALIVE
            self._rl_started.set()
            self._actor_loop_running()
        except BaseException as exc:
            if self._rl_crash is None:
                self._rl_crash = exc
            logger.error("%s died", self.name, exc_info=exc)
        finally:
            self._rl_started.set()
            if not self.actor_stopped.is_set():
                ActorRegistry.unregister(self.actor_ref)
                self.actor_stopped.set()
            try:
                self._rl_cleanup()
            finally:
                if cell.actor is self and cell.state is ALIVE:
                    cell.state = DOWN
                self._rl_exited.set()
                if not self._rl_retired:
                    self._rl_report(cell)

    def _rl_report(self, cell: Cell) -> None:
        if cell.parent is not None:
            cell.parent.mailbox.put(Tell(Exited(cell, self, self._rl_crash)))
        elif self.ctx.system is not None:
            self.ctx.system._root_exited(self, self._rl_crash)

    def _rl_cleanup(self) -> None:
        """Runs after the loop ends and before the supervisor hears of it."""

    def _actor_loop_running(self) -> None:
        get = self.actor_inbox.get
        stopped = self.actor_stopped
        handle = self.handle
        stats = self._rl_cell.stats
        buckets = stats.buckets
        clock = perf_counter
        while not stopped.is_set():
            envelope: Any = get()
            kind = envelope.__class__
            if kind is Ask:
                future = envelope.future
                if future.done():
                    continue  # the caller gave up waiting; don't do the work
                start = clock()
                try:
                    result = handle(envelope.message)
                    how: Callable[[Any, Any], None] = _settle
                except Exception as exc:
                    result = exc
                    how = _settle_error
                elapsed = clock() - start
                # Counted before replying, so a caller never sees a reply the metrics lack.
                stats.seconds += elapsed
                buckets[bisect_left(BOUNDS, elapsed)] += 1
                reply(envelope.loop, how, future, result)
            elif kind is Tell:
                start = clock()
                try:
                    handle(envelope.message)
                except Exception:
                    self._rl_crashed()
                elapsed = clock() - start
                stats.seconds += elapsed
                buckets[bisect_left(BOUNDS, elapsed)] += 1
            elif kind is Retire:
                if envelope.actor is self:
                    self._stop()
            else:
                start = clock()
                self._rl_pykka_envelope(envelope)
                elapsed = clock() - start
                stats.seconds += elapsed
                buckets[bisect_left(BOUNDS, elapsed)] += 1

    def _rl_pykka_envelope(self, envelope: Envelope[Any]) -> None:
        """Tells, pykka asks, stops and proxy calls, with pykka's own semantics."""
        try:
            response = self._handle_receive(envelope.message)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:
                self._rl_crashed()
        else:
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)

    def _rl_crashed(self) -> None:
        """A told message raised: stop as pykka does, with on_failure for cleanup."""
        exc_info = sys.exc_info()
        self._handle_failure(*exc_info)
        try:
            self.on_failure(*exc_info)
        except Exception:
            self._handle_failure(*sys.exc_info())

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._rl_crash is None:
            self._rl_crash = exception_value
        if isinstance(exception_value, Escalation):
            logger.error("%s", exception_value)
        else:
            logger.error(
                "%s crashed: %r",
                self.name,
                exception_value,
                exc_info=(exception_type, exception_value, traceback),  # type: ignore[arg-type]
            )
        ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()

    def _rl_retire(self, timeout: float | None) -> bool:
        """Ask this incarnation to stop after its current message; wait for it."""
        if self._rl_exited.is_set():
            return True
        self._rl_retired = True
        self._rl_cell.mailbox.put_front(Retire(self))
        if self._rl_exited.wait(timeout):
            return True
        logger.warning("%s did not stop within %s s; abandoning its thread", self.name, timeout)
        ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()
        cell = self._rl_cell
        if cell.actor is self and cell.state is ALIVE:
            cell.state = DOWN
        return False
