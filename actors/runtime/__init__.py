"""Supervised pykka actors with names, an asyncio bridge and mailbox metrics."""

from actors.runtime.actor import ActorContext, RatelineActor
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
    "pool",
]
