"""A name's slot: the mailbox that outlives incarnations, and the envelopes in it.

The mailbox belongs to the name, not to the actor object, so a message sent
while the actor is restarting simply waits in the queue for the next
incarnation, and a restart loses nothing that was queued. Only one
incarnation reads the mailbox at a time: the supervisor starts a new one only
after the previous one has left its loop.
"""

from __future__ import annotations

import asyncio
import queue
from collections import deque
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from actors.runtime.errors import DeadLetter
from actors.runtime.metrics import DEAD_LETTERS, ActorStats, stats_for

if TYPE_CHECKING:
    from actors.runtime.actor import RatelineActor
    from actors.runtime.specs import ChildSpec, SupervisorSpec

ALIVE = "alive"
DOWN = "down"
GONE = "gone"


class Mailbox(queue.Queue[Any]):
    """pykka's inbox type plus a way for a stop request to jump the queue."""

    def put_front(self, item: Any) -> None:
        with self.not_empty:
            self.queue.appendleft(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class Ask:
    """A request from the event loop; the reply goes back with call_soon_threadsafe."""

    __slots__ = ("future", "loop", "message")

    def __init__(
        self, message: Any, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.message = message
        self.future = future
        self.loop = loop


class Tell:
    """A fire-and-forget message; an exception while handling it crashes the actor."""

    __slots__ = ("message",)

    def __init__(self, message: Any) -> None:
        self.message = message


class Retire:
    """Stop request aimed at one incarnation; any other incarnation ignores it."""

    __slots__ = ("actor",)

    def __init__(self, actor: RatelineActor) -> None:
        self.actor = actor


class Exited:
    """Sent to the parent supervisor when an incarnation leaves its loop."""

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
        self.mailbox = Mailbox()
        self.actor: RatelineActor | None = None
        self.state = DOWN
        self.stats: ActorStats = stats_for(name)
        self.stats.mailbox = self.mailbox
        self.recent: deque[float] = deque()
        self.history: deque[Any] = deque(maxlen=100)

    def descendants(self) -> list[Cell]:
        found = [self]
        for child in self.children:
            found.extend(child.descendants())
        return found

    def drain(self, why: str) -> None:
        """Answer everything still queued with DeadLetter; count what was lost."""
        while True:
            try:
                item = self.mailbox.get_nowait()
            except queue.Empty:
                return
            cls = item.__class__
            if cls is Ask:
                DEAD_LETTERS.labels(self.name).inc()
                reply(item.loop, settle_error, item.future, DeadLetter(f"{self.name} {why}"))
            elif cls is Tell:
                DEAD_LETTERS.labels(self.name).inc()
            elif cls is Envelope:
                if isinstance(item.message, _ActorStop):
                    if item.reply_to is not None:
                        item.reply_to.set(None)
                    continue
                DEAD_LETTERS.labels(self.name).inc()
                if item.reply_to is not None:
                    error = ActorDeadError(f"{self.name} {why}")
                    item.reply_to.set_exception((ActorDeadError, error, None))


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
