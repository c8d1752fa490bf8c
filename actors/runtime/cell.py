"""A name's slot: the mailbox that outlives incarnations, and what goes in it.

The mailbox belongs to the name, not to the actor object, so a message sent
while the actor is restarting simply waits for the next incarnation, and a
restart loses nothing that was queued. The incarnation that owns the name
reads it: whenever the mailbox turns from empty to busy, the poster tells the
incarnation `WAKE` through its pykka ref, and the incarnation handles what is
queued until the mailbox is empty again (RatelineActor.on_receive). A new
incarnation wakes itself once it has started, for whatever waited meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError, ActorRef, ThreadingFuture

from actors.runtime.errors import DeadLetter
from actors.runtime.metrics import DEAD_LETTERS, ActorStats, stats_for

if TYPE_CHECKING:
    from actors.runtime.actor import RatelineActor
    from actors.runtime.specs import ChildSpec, SupervisorSpec

ALIVE = "alive"
DOWN = "down"
GONE = "gone"

WAKE = "rateline.wake"
"""Told to an incarnation's pykka ref: its name's mailbox has work."""


class Ask:
    """A request from an event loop; the reply goes back with call_soon_threadsafe."""

    __slots__ = ("future", "loop", "message")

    def __init__(
        self, message: Any, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.message = message
        self.future = future
        self.loop = loop


class Call:
    """A request from another thread, answered through a pykka future."""

    __slots__ = ("future", "message")

    def __init__(self, message: Any, future: ThreadingFuture[Any]) -> None:
        self.message = message
        self.future = future


class Tell:
    """A fire-and-forget message; an exception while handling it crashes the actor."""

    __slots__ = ("message",)

    def __init__(self, message: Any) -> None:
        self.message = message


class Retire:
    """Stop request aimed at one incarnation; it jumps the queue, others ignore it."""

    __slots__ = ("actor",)

    def __init__(self, actor: RatelineActor) -> None:
        self.actor = actor


class Exited:
    """Told to the parent supervisor when an incarnation ends."""

    __slots__ = ("actor", "cell", "crash")

    def __init__(self, cell: Cell, actor: RatelineActor | None, crash: BaseException | None):
        self.cell = cell
        self.actor = actor
        self.crash = crash


class Cell:
    """Everything the system knows about one name."""

    __slots__ = (
        "actor",
        "children",
        "history",
        "mailbox",
        "name",
        "parent",
        "recent",
        "ref",
        "scheduled",
        "spec",
        "state",
        "stats",
    )

    def __init__(
        self, name: str, spec: ChildSpec | SupervisorSpec | None, parent: Cell | None
    ) -> None:
        self.name = name
        self.spec = spec
        self.parent = parent
        self.children: list[Cell] = []
        self.mailbox: deque[Any] = deque()
        self.scheduled = False  # a WAKE is on its way, or the incarnation is reading
        self.actor: RatelineActor | None = None
        self.ref: ActorRef[Any] | None = None
        self.state = DOWN
        self.stats: ActorStats = stats_for(name)
        self.stats.mailbox = self.mailbox
        self.recent: deque[float] = deque()
        self.history: deque[Any] = deque(maxlen=100)

    def post(self, item: Any) -> None:
        self.mailbox.append(item)
        if not self.scheduled:
            self.scheduled = True
            self.wake()

    def post_front(self, item: Any) -> None:
        self.mailbox.appendleft(item)
        self.scheduled = True
        self.wake()

    def wake(self) -> None:
        ref = self.ref
        if ref is not None:
            try:  # noqa: SIM105 - a with-block costs more than the rest of this hot call
                ref.tell(WAKE)
            except ActorDeadError:
                pass  # between incarnations: the next one wakes itself

    def descendants(self) -> list[Cell]:
        found = [self]
        for child in self.children:
            found.extend(child.descendants())
        return found

    def drain(self, why: str) -> None:
        """Answer everything still queued with DeadLetter; count what was lost."""
        while True:
            try:
                item = self.mailbox.popleft()
            except IndexError:
                return
            cls = item.__class__
            if cls is Retire:
                continue
            DEAD_LETTERS.labels(self.name).inc()
            if cls is Ask:
                reply(item.loop, settle_error, item.future, DeadLetter(f"{self.name} {why}"))
            elif cls is Call:
                error = DeadLetter(f"{self.name} {why}")
                item.future.set_exception((DeadLetter, error, None))


def settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def settle_error(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def reply(loop: asyncio.AbstractEventLoop, how: Any, future: Any, value: Any) -> None:
    try:  # noqa: SIM105 - a with-block costs more than the rest of this hot call
        loop.call_soon_threadsafe(how, future, value)
    except RuntimeError:
        pass  # the loop is closed: nobody is left to read the answer
