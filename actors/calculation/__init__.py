"""Mortgage calculation: the pure engine (amortization, ARMs, APR, insurance,
affordability, refinance, pricing, quotes) and the actor pool that runs it.

The engine modules do no I/O and import no actor, so they can be tested in
microseconds and trusted to give the same cents every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.runtime import ChildSpec, SupervisorSpec
    from ops.config import Settings


def child_specs(settings: Settings, *args: Any, **kwargs: Any) -> list[ChildSpec | SupervisorSpec]:
    """The calculation pool for the supervision tree (see specs.child_specs).

    Imported on call so that using the pure engine does not load the actor
    runtime and the agents."""
    from actors.calculation import specs

    return specs.child_specs(settings, *args, **kwargs)
