"""RatelineActor: a pykka ThreadingActor that a supervisor can watch and restart.

pykka has no links or monitors, so the base class watches the lifecycle hooks
pykka calls (on_start, on_stop, on_failure; subclasses' overrides are wrapped
as they are defined) and reports how each incarnation ended to its
supervisor: an exception in on_start or in a told message, a stop asked for
from outside (ref.stop()), or an exception in a hook itself. Everything is
pykka's public API: start, refs, the registry, proxies and futures.

Messages to a name wait in its Cell's mailbox, which outlives incarnations;
on_receive(WAKE) handles what is queued there. A message told straight to
an incarnation's pykka ref (a timer, a pykka ask) goes to `handle` too.
Subclasses implement `handle(message) -> reply`, not on_receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from bisect import bisect_left
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pykka
from pykka import ActorDeadError

from actors.runtime.cell import (
    ALIVE,
    DOWN,
    GONE,
    WAKE,
    Ask,
    Call,
    Cell,
    Exited,
    Retire,
    Tell,
    reply,
    settle,
    settle_error,
)
from actors.runtime.metrics import BOUNDS

if TYPE_CHECKING:
    from actors.runtime.system import ActorSystem

logger = logging.getLogger("rateline.actors")

BATCH = 64
"""Queued messages handled per WAKE before the incarnation lets pykka's own
inbox (a stop, a proxy call, a timer) have a turn."""


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


class Timer:
    """A scheduled tell; cancel() from any thread."""

    __slots__ = ("cancelled", "handle", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.handle: asyncio.TimerHandle | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        handle = self.handle
        if handle is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to cancel
                self.loop.call_soon_threadsafe(handle.cancel)


def _watch_start(hook: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(hook)
    def on_start(self: RatelineActor) -> None:
        if self._rl_in_hook:  # an override calling super().on_start()
            return hook(self)
        self._rl_in_hook = True
        try:
            hook(self)
        except BaseException as exc:
            self._rl_end(exc)
            raise  # pykka logs it and stops this incarnation
        finally:
            self._rl_in_hook = False
        self._rl_begin()
        return None

    on_start._rl_watched = True  # type: ignore[attr-defined]
    return on_start


def _watch_end(hook: Callable[..., None]) -> Callable[..., None]:
    """on_stop (a stop from outside or ours) and on_failure (a told message raised)."""

    @functools.wraps(hook)
    def on_end(self: RatelineActor, *exc_info: Any) -> None:
        if self._rl_in_hook:
            return hook(self, *exc_info)
        self._rl_in_hook = True
        crash: BaseException | None = exc_info[1] if exc_info else None
        try:
            hook(self, *exc_info)
        except BaseException as exc:
            crash = exc
            raise
        finally:
            self._rl_in_hook = False
            self._rl_end(crash)
        return None

    on_end._rl_watched = True  # type: ignore[attr-defined]
    return on_end


_WATCHES = {"on_start": _watch_start, "on_stop": _watch_end, "on_failure": _watch_end}


class RatelineActor(pykka.ThreadingActor):
    """Base for every actor. Subclasses implement handle(message) -> reply."""

    use_daemon_thread = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "on_receive" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: implement handle(message), not on_receive")
        for name, watch in _WATCHES.items():
            hook = cls.__dict__.get(name)
            if hook is not None and not getattr(hook, "_rl_watched", False):
                setattr(cls, name, watch(hook))

    def __init__(self, ctx: ActorContext, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        cell = ctx.cell if ctx.cell is not None else Cell(ctx.name, None, None)
        self.ctx = ctx
        self.name = ctx.name
        self._rl_cell = cell
        self._rl_in_hook = False
        self._rl_ended = False
        self._rl_retired = False
        self._rl_stopping = False
        self._rl_timers: set[Timer] = set()
        self._rl_started = threading.Event()
        self._rl_exited = threading.Event()
        cell.actor = self
        cell.ref = self.actor_ref

    def __str__(self) -> str:
        return f"{self.name} ({type(self).__name__})"

    def handle(self, message: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not handle {message!r}")

    @_watch_start
    def on_start(self) -> None:
        """Runs in the actor's thread before any message; an exception is a crash."""

    @_watch_end
    def on_stop(self) -> None:
        """Runs when the incarnation is stopped (by its supervisor or from outside)."""

    @_watch_end
    def on_failure(self, *exc_info: Any) -> None:
        """Runs after a told message raised, before the supervisor hears of it."""

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

    def tell_later(self, delay: float, message: Any) -> Timer:
        """Tell this incarnation `message` in `delay` seconds: the runtime's one timer.

        The timer belongs to the incarnation: it is cancelled when the
        incarnation ends, so a successor arms its own (in on_start) and never
        sees a stale tick. Call from any thread.
        """
        ref, loop = self.actor_ref, self.ctx.loop
        timer = Timer(loop)
        timers = self._rl_timers

        def fire() -> None:
            timers.discard(timer)
            with contextlib.suppress(ActorDeadError):
                ref.tell(message)

        def arm() -> None:
            if not timer.cancelled:
                timer.handle = loop.call_later(delay, fire)

        timers.add(timer)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing will fire
            loop.call_soon_threadsafe(arm)
        return timer

    # -- messages, in the incarnation's thread -----------------------------------------

    def on_receive(self, message: Any) -> Any:
        if message is WAKE:
            self._rl_read_mailbox()
            return None
        start = perf_counter()
        try:
            return self.handle(message)
        finally:
            self._rl_count(perf_counter() - start)

    def _rl_count(self, elapsed: float) -> None:
        stats = self._rl_cell.stats
        stats.seconds += elapsed
        stats.buckets[bisect_left(BOUNDS, elapsed)] += 1

    def _rl_read_mailbox(self) -> None:
        cell = self._rl_cell
        mailbox = cell.mailbox
        handle = self.handle
        stats = cell.stats
        buckets = stats.buckets
        clock = perf_counter
        budget = BATCH
        while not self._rl_stopping:
            try:
                item = mailbox.popleft()
            except IndexError:
                cell.scheduled = False
                if not mailbox:  # checked again: a poster may have seen scheduled still set
                    return
                cell.scheduled = True
                continue
            kind = item.__class__
            start = clock()
            if kind is Ask:
                future = item.future
                if future.done():
                    continue  # the caller gave up waiting; don't do the work
                try:
                    result = handle(item.message)
                    how: Callable[[Any, Any], None] = settle
                except Exception as exc:
                    result = exc
                    how = settle_error
                elapsed = clock() - start
                # Counted before replying, so a caller never sees a reply the metrics lack.
                stats.seconds += elapsed
                buckets[bisect_left(BOUNDS, elapsed)] += 1
                reply(item.loop, how, future, result)
            elif kind is Tell:
                try:
                    handle(item.message)  # an exception ends the incarnation (on_failure)
                finally:
                    elapsed = clock() - start
                    stats.seconds += elapsed
                    buckets[bisect_left(BOUNDS, elapsed)] += 1
            elif kind is Call:
                try:
                    item.future.set(handle(item.message))
                except Exception:
                    item.future.set_exception()
                self._rl_count(clock() - start)
            elif kind is Retire:
                if item.actor is self:
                    self._rl_stopping = True
                    self.stop()
                continue
            budget -= 1
            if not budget:
                self.actor_ref.tell(WAKE)  # the rest after pykka's inbox has had a turn
                return

    # -- the incarnation's life ------------------------------------------------------

    def _rl_begin(self) -> None:
        cell = self._rl_cell
        if not self.actor_stopped.is_set() and cell.actor is self and cell.state is not GONE:
            cell.state = ALIVE
        self._rl_started.set()
        cell.scheduled = True
        self.actor_ref.tell(WAKE)  # whatever was queued while no one was reading

    def _rl_end(self, crash: BaseException | None) -> None:
        if self._rl_ended:
            return
        self._rl_ended = True
        self._rl_stopping = True
        for timer in list(self._rl_timers):
            timer.cancel()
        cell = self._rl_cell
        if cell.actor is self and cell.state is ALIVE:
            cell.state = DOWN
        self._rl_started.set()
        self._rl_exited.set()
        if self._rl_retired:
            return
        if cell.parent is not None:
            cell.parent.post(Tell(Exited(cell, self, crash)))
        elif self.ctx.system is not None:
            self.ctx.system._root_exited(self, crash)

    def _rl_retire(self, timeout: float | None) -> bool:
        """Ask this incarnation to stop before its next message; wait for it."""
        if self._rl_exited.is_set():
            return True
        self._rl_retired = True
        self._rl_cell.post_front(Retire(self))
        if self._rl_exited.wait(timeout):
            return True
        logger.warning("%s did not stop within %s s; abandoning its thread", self.name, timeout)
        self._rl_stopping = True
        cell = self._rl_cell
        if cell.actor is self:
            if cell.state is ALIVE:
                cell.state = DOWN
            cell.ref = None
        return False
