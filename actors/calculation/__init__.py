"""Mortgage calculation: the pure engine (amortization, ARMs, APR, insurance,
affordability, refinance, pricing, quotes) and the actor pool that runs it.

The engine modules do no I/O and import no actor, so they can be tested in
microseconds and trusted to give the same cents every time. The agents use
the engine; the calculation reaches them only by name (flow.Advise), so
nothing here imports them.
"""

from actors.calculation.specs import child_specs

__all__ = ["child_specs"]
