"""Supervised pykka actors with names, an asyncio bridge and mailbox metrics.

Built on pykka's public API only. An actor subclasses RatelineActor and
implements handle(message); the server reaches it by name with
`await system.ask(name, message)` or `system.tell(name, message)`, another
actor with `system.ask_blocking`. Timers are one idiom: `self.tell_later(delay,
message)`, a tell to this incarnation that dies with it.
"""

from actors.runtime.actor import ActorContext, RatelineActor, Timer
from actors.runtime.errors import ActorTimeout, ActorUnavailable, DeadLetter
from actors.runtime.specs import ChildSpec, SupervisorSpec, pool
from actors.runtime.supervisor import RestartRecord
from actors.runtime.system import ActorSystem

__all__ = [
    "ActorContext",
    "ActorSystem",
    "ActorTimeout",
    "ActorUnavailable",
    "ChildSpec",
    "DeadLetter",
    "RatelineActor",
    "RestartRecord",
    "SupervisorSpec",
    "Timer",
    "pool",
]
