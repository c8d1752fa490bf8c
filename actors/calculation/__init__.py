"""Mortgage calculation: the pure engine (amortization, ARMs, APR, insurance,
affordability, refinance, pricing, quotes) and, later, the actor that runs it.

The engine modules do no I/O and import no actor, so they can be tested in
microseconds and trusted to give the same cents every time.
"""
