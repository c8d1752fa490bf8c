"""Errors a caller of the actor system can meet.

All of them derive from ActorUnavailable so the HTTP layer can answer every
"the worker could not answer" case with one except clause (a 503), while
tests and logs still see which case it was.
"""

from __future__ import annotations


class ActorUnavailable(RuntimeError):
    """The named actor could not answer: it is restarting, busy or gone."""


class ActorTimeout(ActorUnavailable, TimeoutError):
    """The actor is up but did not reply within the caller's timeout."""


class DeadLetter(ActorUnavailable):
    """The message went to a name that was never registered or stopped for good."""
