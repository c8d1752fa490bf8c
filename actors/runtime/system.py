"""ActorSystem: names, the asyncio bridge, and the top of the supervision tree.

The hot path of ask is a dict lookup, a deque append (plus a pykka tell when
the actor was idle), a deadline appended to a FIFO and one
call_soon_threadsafe back: no lock of ours, no thread per call, no timer per
call, no pykka future (whose __await__ would block the loop).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import weakref
from asyncio import get_running_loop
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pykka import ActorRef, ThreadingFuture, Timeout

from actors.runtime.actor import ActorContext, RatelineActor
from actors.runtime.cell import ALIVE, GONE, Ask, Call, Cell, Tell
from actors.runtime.deadlines import Deadlines, Expired
from actors.runtime.errors import ActorTimeout, ActorUnavailable, DeadLetter
from actors.runtime.metrics import DEAD_LETTERS
from actors.runtime.specs import SupervisorSpec
from actors.runtime.supervisor import RestartRecord, Supervisor, describe_exit

logger = logging.getLogger("rateline.actors")


class _Pool:
    __slots__ = ("cells", "turn")

    def __init__(self) -> None:
        self.cells: list[Cell] = []
        self.turn = itertools.count()

    def pick(self) -> Cell:
        cells = self.cells
        size = len(cells)
        first = next(self.turn)
        for step in range(size):
            cell = cells[(first + step) % size]
            if cell.state is ALIVE:
                return cell
        return cells[first % size]


class ActorSystem:
    """Owns the tree of one server.

    ask/ask_any are awaited on an event loop (usually `loop`); every other
    method may be called from any thread, actor threads included.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        on_fatal: Callable[[str], None] | None = None,
        deps: Mapping[str, Any] | None = None,
    ) -> None:
        self.loop = loop
        self.deps: Mapping[str, Any] = MappingProxyType(dict(deps or {}))
        self._on_fatal = on_fatal
        self._cells: dict[str, Cell] = {}
        self._pools: dict[str, _Pool] = {}
        self._root: Cell | None = None
        self._stopping = threading.Event()
        self._deadlines = Deadlines(loop)
        self._other_deadlines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
            weakref.WeakKeyDictionary()
        )
        self.fatal_reason: str | None = None

    # -- lifecycle (blocking; call from a thread, e.g. asyncio.to_thread) ---------

    def start(self, spec: SupervisorSpec) -> None:
        """Start the whole tree; returns once every child's on_start has run."""
        if self._root is not None:
            raise RuntimeError("this actor system was already started")
        self._root = self._build(spec, None)
        ctx = ActorContext(spec.name, self.loop, self, self.deps, cell=self._root)
        Supervisor.start(ctx)
        root = self._root.actor
        assert root is not None
        root._rl_started.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every actor, children before parents, in reverse start order."""
        self._stopping.set()
        root = self._root
        if root is not None and root.actor is not None:
            if not root.actor._rl_retire(timeout):
                logger.error("actor system did not stop within %s s", timeout)
            self._mark_gone(root, "has stopped for good (the server is shutting down)")

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait_stopping(self, seconds: float) -> bool:
        """Sleep that a shutdown interrupts; True when the system is stopping.
        To act later, prefer RatelineActor.tell_later: it keeps the actor responsive."""
        return self._stopping.wait(seconds)

    # -- the bridge (call from the event loop) ----------------------------------

    async def ask(self, name: str, message: Any, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Send message to the named actor and await its reply.

        An exception raised by the handler is raised here; the actor lives on.
        """
        cell = self._cells.get(name)
        if cell is None or cell.state is GONE:
            raise self._dead_letter(name, cell)
        # The body is repeated in ask_any rather than shared: an inner coroutine per
        # ask is a measurable part of the round trip.
        loop = get_running_loop()
        deadlines = self._deadlines if loop is self.loop else self._deadlines_on(loop)
        future = loop.create_future()
        cell.post(Ask(message, future, loop))
        watch = deadlines.watch(future, timeout)
        try:
            return await future
        except Expired:
            raise self._gave_up(cell, timeout) from None
        finally:
            watch[1] = None

    async def ask_any(self, prefix: str, message: Any, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """ask() one worker of the pool prefix.1 … prefix.N, round-robin, skipping any down."""
        pool = self._pools.get(prefix)
        if pool is None:
            raise self._dead_letter(prefix, None)
        cell = pool.pick()
        if cell.state is GONE:
            raise self._dead_letter(cell.name, cell)
        loop = get_running_loop()
        deadlines = self._deadlines if loop is self.loop else self._deadlines_on(loop)
        future = loop.create_future()
        cell.post(Ask(message, future, loop))
        watch = deadlines.watch(future, timeout)
        try:
            return await future
        except Expired:
            raise self._gave_up(cell, timeout) from None
        finally:
            watch[1] = None

    def _deadlines_on(self, loop: asyncio.AbstractEventLoop) -> Deadlines:
        deadlines = self._other_deadlines.get(loop)
        if deadlines is None:
            deadlines = self._other_deadlines[loop] = Deadlines(loop)
        return deadlines

    def tell(self, name: str, message: Any) -> None:
        """Fire and forget; while the actor restarts the message waits for the next one."""
        cell = self._cells.get(name)
        if cell is None or cell.state is GONE:
            raise self._dead_letter(name, cell)
        cell.post(Tell(message))

    def ask_blocking(self, name: str, message: Any, timeout: float = 5.0) -> Any:
        """ask() for actor threads (one actor asking another); never call it on the loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop runs in this thread: blocking is fine
        else:
            raise RuntimeError("ask_blocking would block the event loop; await ask() instead")
        cell = self._cells.get(name)
        if cell is None or cell.state is GONE:
            raise self._dead_letter(name, cell)
        future: ThreadingFuture[Any] = ThreadingFuture()
        cell.post(Call(message, future))
        try:
            return future.get(timeout=timeout)
        except Timeout:
            raise self._gave_up(cell, timeout) from None

    # -- health ---------------------------------------------------------------------

    def is_alive(self, name: str) -> bool:
        cell = self._cells.get(name)
        return cell is not None and cell.state is ALIVE

    def unhealthy_permanent(self) -> list[str]:
        """Names of permanent actors that are not running now (for /readyz)."""
        return [
            cell.name
            for cell in self._cells.values()
            if cell.spec is not None
            and cell.spec.restart == "permanent"
            and cell.state is not ALIVE
        ]

    def ref(self, name: str) -> ActorRef[Any] | None:
        """The pykka ref of the current incarnation (it changes at every restart)."""
        cell = self._cells.get(name)
        actor = cell.actor if cell is not None else None
        return actor.actor_ref if actor is not None else None

    def names(self) -> list[str]:
        return list(self._cells)

    def restarts(self, name: str) -> list[RestartRecord]:
        """Recent restarts of a name, oldest first (at most 100)."""
        cell = self._cells.get(name)
        return list(cell.history) if cell is not None else []

    # -- internals ------------------------------------------------------------------

    def _build(self, spec: Any, parent: Cell | None) -> Cell:
        if spec.name in self._cells:
            raise ValueError(f"actor name {spec.name!r} is used twice")
        cell = Cell(spec.name, spec, parent)
        self._cells[spec.name] = cell
        head, dot, tail = spec.name.rpartition(".")
        if dot and tail.isdigit() and not isinstance(spec, SupervisorSpec):
            self._pools.setdefault(head, _Pool()).cells.append(cell)
        if isinstance(spec, SupervisorSpec):
            cell.children = [self._build(child, cell) for child in spec.children]
        return cell

    def _mark_gone(self, cell: Cell, why: str) -> None:
        for each in cell.descendants():
            each.state = GONE
            each.drain(why)

    def _root_exited(self, actor: RatelineActor, crash: BaseException | None) -> None:
        """The top supervisor ended without being asked to: the server cannot go on."""
        reason = describe_exit(actor.name, crash)
        self.fatal_reason = reason
        logger.critical("actor system failed: %s", reason)
        if self._root is not None:
            self._mark_gone(self._root, f"has stopped for good ({reason})")
        if self._on_fatal is None:
            return
        try:
            self.loop.call_soon_threadsafe(self._on_fatal, reason)
        except RuntimeError:
            self._on_fatal(reason)

    def _dead_letter(self, name: str, cell: Cell | None) -> DeadLetter:
        DEAD_LETTERS.labels(name).inc()
        if cell is None:
            return DeadLetter(f"no actor is registered as {name!r}")
        return DeadLetter(f"{name} has stopped for good")

    def _gave_up(self, cell: Cell, timeout: float) -> ActorUnavailable:
        if cell.state is GONE:
            return DeadLetter(f"{cell.name} stopped for good before replying")
        if cell.state is ALIVE:
            return ActorTimeout(f"{cell.name} did not reply within {float(timeout)} s")
        return ActorUnavailable(f"{cell.name} is restarting; gave up after {float(timeout)} s")
